-- fct_qa_checks: one row per case drawn for the head's monthly check, with its current verdict.
-- Grain: (sample_month, case_id). raw.qa_samples and raw.qa_verdicts are typed and validated when
-- drawn and imported (warehouse/qa.py), so there is no staging step. A failed check sends the case
-- back to work: is_rework_open until the CRM records a close after the verdict (core.fct_case_controls
-- marks such a case is_under_additional_control). clarity_score is the head's grade of the closing
-- comment, 1 (unclear) to 5 (clear), null when not graded (or not checked).

with

samples as (
    select * from raw.qa_samples
),

verdicts as (
    select * from raw.qa_verdicts
    where superseded_at is null
),

case_events as (
    select * from staging.stg_crm__case_events
),

closes_after_check as (
    select
        verdicts.sample_month,
        verdicts.case_id,
        min(case_events.event_at) as reclosed_at
    from verdicts
    inner join case_events
        on
            verdicts.case_id = case_events.case_id
            and case_events.event_type = 'closed'
            and verdicts.checked_at < case_events.event_at
    where verdicts.verdict = 'fail'
    group by all
),

final as (
    select
        -- ids
        samples.sample_month,
        samples.case_id,
        samples.directorate_id,
        samples.department_id,
        samples.manager_id,

        -- the draw
        samples.sample_reason,

        -- the check
        verdicts.verdict,
        verdicts.clarity_score,
        verdicts.reviewer,
        verdicts.checked_at,
        verdicts.verdict is not null as is_checked,
        coalesce(verdicts.verdict = 'pass', false) as is_passed,
        coalesce(verdicts.verdict = 'fail', false) as is_failed,

        -- the loop a failed check reopens
        closes_after_check.reclosed_at,
        coalesce(verdicts.verdict = 'fail' and closes_after_check.reclosed_at is null, false) as is_rework_open,

        -- months (reporting timezone): the month the sample was drawn from
        samples.sample_month as report_month

    from samples
    left join verdicts
        on
            samples.sample_month = verdicts.sample_month
            and samples.case_id = verdicts.case_id
    left join closes_after_check
        on
            samples.sample_month = closes_after_check.sample_month
            and samples.case_id = closes_after_check.case_id
)

select * from final
