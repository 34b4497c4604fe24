-- fct_contact_requests: one row per "contact me" request (the close-the-loop practice), with the
-- milestones of its loop: the case it opened, the first contact, the close and the final survey.
-- Grain: feedback_id (an item with has_contact_request, once per cross-channel conversation).
-- "Within 1 hour" runs from the customer's request (received_at), not from the case's opening: the
-- promise is made to the customer. A final-survey answer joins its case through case_ref; when a
-- case has several answers to one question, the latest counts.

with

feedback as (
    select * from core.fct_feedback
),

classified as (
    select * from core.int_feedback_classified
),

cases as (
    select * from core.fct_cases
),

requests as (
    select * from feedback
    where has_contact_request and not is_conversation_repeat
),

case_of_request as (
    select *
    from cases
    where feedback_id is not null
    qualify row_number() over (partition by feedback_id order by opened_at, case_id) = 1
),

final_answers as (
    select
        case_ref as case_id,
        arg_max(score_raw, received_at) filter (where question_type = 'tnps' and score_scale = '0-10') as tnps_score,
        arg_max(score_raw, received_at) filter (where question_type = 'ces_solved') as solved_score,
        min(received_at) as first_answered_at
    from classified
    where case_ref is not null
        and question_type in ('tnps', 'ces_solved')
        and score_raw is not null
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
        coalesce(case_of_request.closed_at is not null and not case_of_request.is_open, false) as is_resolved,
        final_answers.case_id is not null as is_final_survey_answered,

        -- the final survey (docs/metrics.md: tNPS over the final survey, CES = share of "solved = yes")
        final_answers.tnps_score,
        case
            when final_answers.tnps_score >= 9 then 'promoter'
            when final_answers.tnps_score >= 7 then 'passive'
            when final_answers.tnps_score >= 0 then 'detractor'
        end as tnps_group,
        final_answers.solved_score = 1 as is_solved,

        -- months (reporting timezone): the month of the request
        requests.received_month as report_month

    from requests
    left join case_of_request
        on case_of_request.feedback_id = requests.feedback_id
    left join final_answers
        on final_answers.case_id = case_of_request.case_id
)

select * from final
