-- weekly_reopened_cases: cases of the directorate reopened during the week (the loop repeated: the
-- head's check found them not really closed), with the item that opened them. Grain: case_id.
-- Reopen times come from the case events: core.fct_cases keeps only the count.

with

reopens as (
    select
        case_id,
        count(*) as reopened_in_week_count
    from staging.stg_crm__case_events
    where event_type = 'reopened'
        and timezone(getvariable('review_timezone'), event_at) >= getvariable('review_start')
        and timezone(getvariable('review_timezone'), event_at) < getvariable('review_end')
    group by all
),

cases as (
    select * from core.fct_cases
    where getvariable('review_directorate_id') in ('all', directorate_id)
),

feedback as (
    select * from core.fct_feedback
),

final as (
    select
        getvariable('review_directorate_id') as directorate_id,
        cases.case_id,
        cases.manager_id,
        strftime(timezone(getvariable('review_timezone'), cases.opened_at), '%Y-%m-%d %H:%M') as opened_local,
        reopens.reopened_in_week_count,
        cases.reopened_count,
        cases.is_open,
        feedback.body_text
    from reopens
    join cases
        on cases.case_id = reopens.case_id
    left join feedback
        on feedback.feedback_id = cases.feedback_id
    order by cases.opened_at, cases.case_id
)

select * from final
