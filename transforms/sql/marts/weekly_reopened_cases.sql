-- weekly_reopened_cases: cases reopened during the week (the loop repeated: the head's check found them
-- not really closed), with the item that opened them. Grain: (week_start, case_id). Weeks are ISO
-- weeks of the reporting timezone; the owner is the case's latest. Columns:
-- transforms/sql/marts/weekly_reopened_cases.yml.

with

reopens as (
    select
        case_id,
        date_trunc('week', timezone(getvariable('reporting_timezone'), reopened_at))::date as week_start,
        count(*) as reopened_in_week_count
    from core.fct_case_reopens
    group by all
),

cases as (
    select * from core.fct_cases
),

feedback as (
    select * from core.fct_feedback
),

final as (
    select
        reopens.week_start,
        reopens.case_id,
        cases.directorate_id,
        cases.manager_id,
        cases.opened_at,
        strftime(timezone(getvariable('reporting_timezone'), cases.opened_at), '%Y-%m-%d %H:%M') as opened_local,
        reopens.reopened_in_week_count,
        cases.reopened_count,
        cases.is_open,
        feedback.body_text
    from reopens
    inner join cases
        on reopens.case_id = cases.case_id
    left join feedback
        on cases.feedback_id = feedback.feedback_id
)

select * from final
