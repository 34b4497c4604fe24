-- close_the_loop_monthly: the close-the-loop funnel per month and owner, from core.fct_contact_requests.
-- Grain: (report_month, directorate_id, manager_id), plus roll-ups: manager_id 'all' for a
-- directorate and directorate_id = manager_id = 'all' for the company. report_month is the month of
-- the customer's request (reporting timezone); each stage counts requests that reached it:
-- requested → contacted within 1 hour → resolved → final survey answered.
-- tNPS = 100 × (promoters − detractors) / tnps_answers_count and ces_rate = solved "yes" /
-- ces_answers_count (docs/metrics.md), over the final answers of these requests' cases; null without
-- answers. A late answer lands in its request's month, so a month's last figures still move.

with

requests as (
    select * from core.fct_contact_requests
),

counted as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        case when grouping(manager_id) = 1 then 'all' else manager_id end as manager_id,

        -- the funnel
        count(*) as contact_requested_count,
        count(*) filter (where is_contacted) as contacted_count,
        count(*) filter (where is_contacted_within_1h) as contacted_within_1h_count,
        count(*) filter (where is_resolved) as resolved_count,
        count(*) filter (where is_final_survey_answered) as final_survey_answered_count,

        -- tNPS
        count(tnps_group) as tnps_answers_count,
        count(*) filter (where tnps_group = 'promoter') as tnps_promoters_count,
        count(*) filter (where tnps_group = 'detractor') as tnps_detractors_count,

        -- CES (close-the-loop definition)
        count(is_solved) as ces_answers_count,
        count(*) filter (where is_solved) as ces_solved_count

    from requests
    group by grouping sets (
        (report_month, directorate_id, manager_id),
        (report_month, directorate_id),
        (report_month)
    )
),

final as (
    select
        *,
        contacted_within_1h_count / nullif(contact_requested_count, 0) as contacted_within_1h_rate,
        resolved_count / nullif(contact_requested_count, 0) as resolved_rate,
        final_survey_answered_count / nullif(contact_requested_count, 0) as final_survey_answered_rate,
        100 * (tnps_promoters_count - tnps_detractors_count) / nullif(tnps_answers_count, 0) as tnps,
        ces_solved_count / nullif(ces_answers_count, 0) as ces_rate
    from counted
)

select * from final
order by report_month, directorate_id, manager_id
