-- fct_close_the_loop_monthly: the close-the-loop funnel of the customers' "contact me" requests, per
-- month of the request and owner; additive counts only.
-- Grain: (report_month, directorate_id, manager_id). report_month is the month of the request
-- (reporting timezone): each stage counts the month's requests that reached it, so a cohort's later
-- stages still grow after the month ends. tNPS and CES are not here: they count every final-survey
-- answer in the month it was given (core.fct_feedback_monthly).

with

requests as (
    select * from core.fct_contact_requests
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        manager_id,

        -- the funnel: requested → contacted within 1 hour → under review → resolved → final survey
        -- answered (under review: the case was escalated for a check, which not every case needs)
        count(*) as contact_requested_count,
        count(*) filter (where is_contacted) as contacted_count,
        count(*) filter (where is_contacted_within_1h) as contacted_within_1h_count,
        count(*) filter (where is_under_review) as under_review_count,
        count(*) filter (where is_resolved) as resolved_count,
        count(*) filter (where is_final_survey_answered) as final_survey_answered_count

    from requests
    group by all
)

select * from final
