-- fct_case_controls: the cases under additional control, and why: reopened at least once, or the
-- head's sample check failed the close (the current verdict; core.fct_qa_checks). Kept apart from
-- core.fct_cases so that importing verdicts rebuilds only this, the QA facts and their mart, not every
-- case, clock and feedback fact (warehouse/build_run.py's partial build follows the models' inputs).
-- Grain: case_id (every case of core.fct_cases).

with

cases as (
    select * from core.fct_cases
),

failed_checks as (
    select distinct case_id
    from raw.qa_verdicts
    where verdict = 'fail' and superseded_at is null
),

final as (
    select
        cases.case_id,
        cases.reopened_count > 0 as is_reopened,
        failed_checks.case_id is not null as is_check_failed,
        cases.reopened_count > 0 or failed_checks.case_id is not null as is_under_additional_control
    from cases
    left join failed_checks
        on cases.case_id = failed_checks.case_id
)

select * from final
