-- fct_contact_requests: one row per "contact me" request (the close-the-loop practice), with the
-- milestones of its loop: the case it opened, the first contact, the close and the final survey.
-- Grain: feedback_id (an item with has_contact_request, once per cross-channel conversation).
-- "Within 1 hour" runs from the customer's request (received_at), not from the case's opening: the
-- promise is made to the customer. A final-survey answer joins its case (core.fct_feedback.case_id);
-- when a case has several answers, the latest tells the request's outcome. The month's tNPS and CES
-- count every final-survey answer, not only those about requests (core.fct_feedback_monthly).

with

feedback as (
    select * from core.fct_feedback
),

cases as (
    select * from core.fct_cases
),

requests as (
    select * from feedback
    where has_contact_request and not is_conversation_repeat
),

-- the first case opened from each request; only the requests' cases are ranked (a window over every
-- case of the history costs more than the rest of the model)
case_of_request as (
    select *
    from cases
    where feedback_id in (select feedback_id from requests)
    qualify row_number() over (partition by feedback_id order by opened_at, case_id) = 1
),

final_answers as (
    select
        case_id,
        arg_max(score_raw, received_at) filter (where is_tnps_answer) as tnps_score,
        -- the group as core.fct_feedback's flags say (the one place of the thresholds)
        arg_max(
            case
                when is_tnps_promoter then 'promoter'
                when is_tnps_passive then 'passive'
                when is_tnps_detractor then 'detractor'
            end,
            received_at
        ) filter (where is_tnps_answer) as tnps_group,
        arg_max(is_ces_solved, received_at) filter (where is_ces_answer) as is_solved,
        min(received_at) as first_answered_at
    from feedback
    where
        case_id is not null
        and (is_tnps_answer or is_ces_answer)
    group by all
),

final as (
    select
        -- ids
        requests.feedback_id,
        requests.channel_id,
        case_of_request.case_id,
        coalesce(case_of_request.directorate_id, requests.directorate_id) as directorate_id,
        coalesce(case_of_request.manager_id, requests.manager_id, 'unassigned') as manager_id,

        -- timestamps (UTC)
        requests.received_at as requested_at,
        case_of_request.first_contact_at,
        case_of_request.closed_at,
        final_answers.first_answered_at,

        -- the loop
        case_of_request.first_contact_at is not null as is_contacted,
        coalesce(
            case_of_request.first_contact_at <= requests.received_at + interval 60 minutes, false
        ) as is_contacted_within_1h,
        case_of_request.under_review_at is not null as is_under_review,
        coalesce(case_of_request.closed_at is not null and not case_of_request.is_open, false) as is_resolved,
        final_answers.case_id is not null as is_final_survey_answered,

        -- the final survey (docs/metrics.md: tNPS over the final survey, CES = share of "solved = yes")
        final_answers.tnps_score,
        final_answers.tnps_group,
        final_answers.is_solved,

        -- months (reporting timezone): the month of the request
        requests.received_month as report_month

    from requests
    left join case_of_request
        on requests.feedback_id = case_of_request.feedback_id
    left join final_answers
        on case_of_request.case_id = final_answers.case_id
)

select * from final
