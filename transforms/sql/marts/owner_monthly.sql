-- owner_monthly: feedback and cases per owner of the business process, for the working meetings
-- where complaint counts are shown per department and per manager.
-- Grain: (report_month, directorate_id, department_id, manager_id), only combinations with a customer
-- item or a case in the month. The owner is the one recorded on the fact ('unassigned' when missing
-- or not in org.yaml, so nothing falls out). A thin mart over core.fct_feedback_monthly and
-- core.fct_cases_monthly. Columns: transforms/sql/marts/owner_monthly.yml.

with

feedback as (
    select * from core.fct_feedback_monthly
    where audience = 'customer'
),

cases as (
    select * from core.fct_cases_monthly
),

-- the hours from opening to the first contact and to the first close, as differences of the instants
-- taken as UTC timestamps: the interval a timestamptz subtraction gives in the build's UTC session
-- (warehouse/connection.py), without the calendar arithmetic it does for every row (~1 s over 500k cases)
case_times as (
    select
        *,
        epoch(make_timestamp(epoch_us(first_contact_at)) - make_timestamp(epoch_us(opened_at))) / 3600
            as first_contact_hours,
        epoch(make_timestamp(epoch_us(closed_at)) - make_timestamp(epoch_us(opened_at))) / 3600 as close_hours
    from core.fct_cases
    where opened_month is not null
),

directorates as (
    select * from core.dim_directorates
),

departments as (
    select * from core.dim_departments
),

managers as (
    select * from core.dim_managers
),

feedback_figures as (
    select
        report_month,
        directorate_id,
        department_id,
        manager_id,
        sum(items_count)::bigint as items_count,
        sum(items_count) filter (where kind = 'complaint')::bigint as complaints_count,
        sum(items_count) filter (where kind = 'wish')::bigint as wishes_count,
        sum(items_count) filter (where kind = 'thanks')::bigint as thanks_count,
        sum(items_count) filter (where kind = 'question')::bigint as questions_count,
        sum(items_count) filter (where kind = 'other')::bigint as other_count,
        sum(items_count) filter (where kind = 'unclassified')::bigint as unclassified_count,
        sum(conversation_repeats_count)::bigint as conversation_repeats_count,
        sum(columns('^(nps_.*|csi_.*|csat_.*)_count$'))::bigint
    from feedback
    group by all
    having sum(items_count) + sum(conversation_repeats_count) > 0
),

case_figures as (
    select
        report_month,
        directorate_id,
        department_id,
        manager_id,
        sum(columns('^cases_.*count$'))::bigint
    from cases
    group by all
),

-- wall-clock hours from opening to the first contact and to the first close (p90 interpolates)
time_figures as (
    select
        opened_month as report_month,
        directorate_id,
        department_id,
        manager_id,
        median(first_contact_hours) filter (
            where first_contact_at >= opened_at
        ) as first_contact_hours_median,
        quantile_cont(first_contact_hours, 0.9) filter (
            where first_contact_at >= opened_at
        ) as first_contact_hours_p90,
        median(close_hours) as close_hours_median,
        quantile_cont(close_hours, 0.9) as close_hours_p90
    from case_times
    group by all
),

owners as (
    select
        report_month,
        directorate_id,
        department_id,
        manager_id
    from feedback_figures
    union
    select
        report_month,
        directorate_id,
        department_id,
        manager_id
    from case_figures
),

counted as (
    select
        owners.*,
        coalesce(columns(feedback_figures.* exclude (report_month, directorate_id, department_id, manager_id)), 0),
        coalesce(columns(case_figures.* exclude (report_month, directorate_id, department_id, manager_id)), 0),
        time_figures.first_contact_hours_median,
        time_figures.first_contact_hours_p90,
        time_figures.close_hours_median,
        time_figures.close_hours_p90
    from owners
    left join feedback_figures
        on
            owners.report_month = feedback_figures.report_month
            and owners.directorate_id = feedback_figures.directorate_id
            and owners.department_id = feedback_figures.department_id
            and owners.manager_id = feedback_figures.manager_id
    left join case_figures
        on
            owners.report_month = case_figures.report_month
            and owners.directorate_id = case_figures.directorate_id
            and owners.department_id = case_figures.department_id
            and owners.manager_id = case_figures.manager_id
    left join time_figures
        on
            owners.report_month = time_figures.report_month
            and owners.directorate_id = time_figures.directorate_id
            and owners.department_id = time_figures.department_id
            and owners.manager_id = time_figures.manager_id
),

final as (
    select
        -- grain
        counted.report_month,
        counted.directorate_id,
        directorates.directorate_name,
        counted.department_id,
        departments.department_name,
        counted.manager_id,
        managers.manager_name,

        -- volume
        counted.items_count,
        counted.complaints_count,
        counted.wishes_count,
        counted.thanks_count,
        counted.questions_count,
        counted.other_count,
        counted.unclassified_count,
        share(counted.complaints_count, counted.items_count) as complaint_share,
        is_small_sample(counted.items_count) as is_complaint_share_small_sample,
        counted.conversation_repeats_count,

        -- nps
        counted.nps_answers_count,
        counted.nps_promoters_count as promoters_count,
        counted.nps_passives_count as passives_count,
        counted.nps_detractors_count as detractors_count,
        nps(counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count) as nps,
        nps_ci_low(counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count) as nps_ci_low,
        nps_ci_high(
            counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count
        ) as nps_ci_high,
        is_small_sample(counted.nps_answers_count) as is_nps_small_sample,

        -- csi (over the same answers as nps)
        counted.nps_answers_count as csi_answers_count,
        counted.csi_high_count,
        counted.csi_low_count,
        csi(counted.csi_high_count, counted.csi_low_count) as csi,
        is_small_sample(counted.nps_answers_count) as is_csi_small_sample,

        -- csat
        counted.csat_answers_count,
        counted.csat_satisfied_count,
        share(counted.csat_satisfied_count, counted.csat_answers_count) as csat,
        is_small_sample(counted.csat_answers_count) as is_csat_small_sample,

        -- cases opened in the month
        counted.cases_count,
        counted.cases_closed_count,
        counted.cases_reopened_count,
        share(counted.cases_reopened_count, counted.cases_closed_count) as reopen_rate,
        is_small_sample(counted.cases_closed_count) as is_reopen_rate_small_sample,
        counted.cases_breached_count,
        counted.cases_contacted_count,
        counted.first_contact_hours_median,
        counted.first_contact_hours_p90,
        counted.close_hours_median,
        counted.close_hours_p90

    from counted
    inner join directorates
        on counted.directorate_id = directorates.directorate_id
    inner join departments
        on counted.department_id = departments.department_id
    inner join managers
        on counted.manager_id = managers.manager_id
)

select * from final
