-- close_the_loop_monthly: the close-the-loop practice per month and owner: the funnel of the customers'
-- "contact me" requests, and tNPS and CES over every final-survey answer.
-- Grain: (report_month, directorate_id, manager_id), combinations with a request or a final-survey
-- answer in the month, plus roll-ups: manager_id 'all' for a directorate, and directorate_id =
-- manager_id = 'all' for the company.
-- Two cohorts, each counted where it belongs: the funnel counts the requests made in the month
-- (requested → contacted within 1 hour → resolved → final survey answered; a cohort's later stages
-- still grow after the month ends); tNPS and CES count the final-survey answers given in the month,
-- attributed to the owner of the case each answer judges. A thin mart over
-- core.fct_close_the_loop_monthly and core.fct_feedback_monthly.
-- Columns: transforms/sql/marts/close_the_loop_monthly.yml.

with

requests as (
    select * from core.fct_close_the_loop_monthly
),

answers as (
    select * from core.fct_feedback_monthly
    where tnps_answers_count > 0 or ces_answers_count > 0
),

request_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        case when grouping(manager_id) = 1 then 'all' else manager_id end as manager_id,
        sum(columns('_count$'))::bigint
    from requests
    group by grouping sets ((report_month, directorate_id, manager_id), (report_month, directorate_id), (report_month))
),

answer_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        case when grouping(manager_id) = 1 then 'all' else manager_id end as manager_id,
        sum(columns('^(tnps_.*|ces_.*)_count$'))::bigint
    from answers
    group by grouping sets ((report_month, directorate_id, manager_id), (report_month, directorate_id), (report_month))
),

owners as (
    select
        report_month,
        directorate_id,
        manager_id
    from request_figures
    union
    select
        report_month,
        directorate_id,
        manager_id
    from answer_figures
),

counted as (
    select
        owners.*,
        coalesce(columns(request_figures.* exclude (report_month, directorate_id, manager_id)), 0),
        coalesce(columns(answer_figures.* exclude (report_month, directorate_id, manager_id)), 0)
    from owners
    left join request_figures
        on
            owners.report_month = request_figures.report_month
            and owners.directorate_id = request_figures.directorate_id
            and owners.manager_id = request_figures.manager_id
    left join answer_figures
        on
            owners.report_month = answer_figures.report_month
            and owners.directorate_id = answer_figures.directorate_id
            and owners.manager_id = answer_figures.manager_id
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        manager_id,

        -- the funnel of the month's requests
        contact_requested_count,
        contacted_count,
        contacted_within_1h_count,
        under_review_count,
        resolved_count,
        final_survey_answered_count,
        share(contacted_within_1h_count, contact_requested_count) as contacted_within_1h_rate,
        share(resolved_count, contact_requested_count) as resolved_rate,
        share(final_survey_answered_count, contact_requested_count) as final_survey_answered_rate,
        is_small_sample(contact_requested_count) as is_funnel_small_sample,

        -- tNPS over the month's final-survey answers
        tnps_answers_count,
        tnps_promoters_count,
        tnps_passives_count,
        tnps_detractors_count,
        nps(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps,
        nps_ci_low(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps_ci_low,
        nps_ci_high(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps_ci_high,
        is_small_sample(tnps_answers_count) as is_tnps_small_sample,

        -- CES (close-the-loop definition): the share of "issue solved = yes"
        ces_answers_count,
        ces_solved_count,
        share(ces_solved_count, ces_answers_count) as ces_rate,
        is_small_sample(ces_answers_count) as is_ces_small_sample

    from counted
)

select * from final
order by report_month, directorate_id, manager_id
