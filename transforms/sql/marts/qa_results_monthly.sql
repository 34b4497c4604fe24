-- qa_results_monthly: the head's sample checks per month and owner, from core.fct_qa_checks.
-- Grain: (report_month, directorate_id, manager_id), plus roll-ups: manager_id 'all' for a
-- directorate and directorate_id = manager_id = 'all' for the company. report_month is the month the
-- sampled cases closed in; the owner is the one when the sample was drawn.
-- pass_rate = passed / checked (docs/metrics.md, "QA pass rate"): cases not checked yet are left out of
-- it, not counted as failures; null while nothing is checked. clarity_score_avg is the mean of the
-- head's 1-5 grades of the closing comments over the graded cases only (null while none is graded),
-- and clarity_low_count the cases graded 1-2, the comments to rewrite. Columns:
-- transforms/sql/marts/qa_results_monthly.yml.

with

checks as (
    select * from core.fct_qa_checks
),

counted as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        case when grouping(manager_id) = 1 then 'all' else manager_id end as manager_id,
        count(*) as sampled_count,
        count(*) filter (where sample_reason <> 'rate') as sampled_in_full_count,
        count(*) filter (where is_checked) as checked_count,
        count(*) filter (where is_passed) as passed_count,
        count(*) filter (where is_failed) as failed_count,
        count(*) filter (where is_rework_open) as rework_open_count,
        count(clarity_score) as clarity_scored_count,
        count(*) filter (where clarity_score <= 2) as clarity_low_count,
        avg(clarity_score) as clarity_score_avg
    from checks
    group by grouping sets (
        (report_month, directorate_id, manager_id),
        (report_month, directorate_id),
        (report_month)
    )
),

final as (
    select
        * exclude (clarity_scored_count, clarity_low_count, clarity_score_avg),
        share(passed_count, checked_count) as pass_rate,
        is_small_sample(checked_count) as is_pass_rate_small_sample,
        clarity_scored_count,
        clarity_low_count,
        clarity_score_avg
    from counted
)

select * from final
order by report_month, directorate_id, manager_id
