-- owner_monthly: feedback and cases per owner of the business process, for the working meetings
-- where complaint counts are shown per department and per manager.
-- Grain: (report_month, directorate_id, department_id, manager_id), only combinations with an item
-- or a case in the month. The owner is the one recorded on the fact (core.fct_feedback routing,
-- core.fct_cases' latest owner); an owner missing or not in org.yaml is 'unassigned', so no item
-- or case falls out. Feedback counts leave conversation repeats out (see management_monthly);
-- case figures belong to the month the case opened (cases without an 'opened' event have no month).
--
-- Columns:
--   report_month, directorate_id, directorate_name, department_id, department_name, manager_id, manager_name
--   items_count, complaints_count, wishes_count, thanks_count, questions_count, unclassified_count,
--   complaint_share (complaints ÷ items), conversation_repeats_count
--   nps_answers_count, promoters_count, passives_count, detractors_count, nps, nps_ci_low, nps_ci_high
--       (95% interval), is_nps_small_sample (< 30 answers)
--   csi_answers_count, csi_high_count (8–10), csi_low_count (0–3), csi (null without low scores),
--       is_csi_small_sample (< 30 answers)
--   csat_answers_count, csat_satisfied_count, csat (share of 4–5 on 1–5 answers)
--   cases_count, cases_closed_count, cases_reopened_count, reopen_rate (reopened ÷ closed),
--   cases_breached_count (cases with at least one SLA clock breached, open or closed)
--   first_contact_hours_median, first_contact_hours_p90, close_hours_median, close_hours_p90
--       (wall-clock hours from opening; p90 interpolates linearly)

with

feedback as (
    select * from core.fct_feedback
),

cases as (
    select * from core.fct_cases
),

case_sla as (
    select * from core.fct_case_sla
),

directorates as (
    select * from core.dim_directorates
),

-- marts read the org's config tables directly: core has no department or manager dimension yet
departments as (
    select * from staging.stg_config__departments
),

managers as (
    select * from staging.stg_config__managers
),

owned_feedback as (
    select
        feedback.*,
        coalesce(departments.department_id, 'unassigned') as owner_department_id,
        coalesce(managers.manager_id, 'unassigned') as owner_manager_id
    from feedback
    left join departments
        on departments.department_id = feedback.department_id
    left join managers
        on managers.manager_id = feedback.manager_id
),

feedback_figures as (
    select
        received_month as report_month,
        directorate_id,
        owner_department_id as department_id,
        owner_manager_id as manager_id,
        count(*) filter (where not is_conversation_repeat) as items_count,
        count(*) filter (where not is_conversation_repeat and kind = 'complaint') as complaints_count,
        count(*) filter (where not is_conversation_repeat and kind = 'wish') as wishes_count,
        count(*) filter (where not is_conversation_repeat and kind = 'thanks') as thanks_count,
        count(*) filter (where not is_conversation_repeat and kind = 'question') as questions_count,
        count(*) filter (where not is_conversation_repeat and kind = 'unclassified') as unclassified_count,
        count(*) filter (where is_conversation_repeat) as conversation_repeats_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null
        ) as nps_answers_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'promoter'
        ) as promoters_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'passive'
        ) as passives_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'detractor'
        ) as detractors_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null and score_raw >= 8
        ) as csi_high_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null and score_raw <= 3
        ) as csi_low_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'csat' and score_scale = '1-5'
            and score_raw between 1 and 5
        ) as csat_answers_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'csat' and score_scale = '1-5'
            and score_raw between 4 and 5
        ) as csat_satisfied_count
    from owned_feedback
    group by all
),

case_breaches as (
    select case_id, bool_or(is_breached) as is_breached from case_sla group by all
),

case_figures as (
    select
        cases.opened_month as report_month,
        cases.directorate_id,
        coalesce(departments.department_id, 'unassigned') as department_id,
        coalesce(managers.manager_id, 'unassigned') as manager_id,
        count(*) as cases_count,
        count(*) filter (where cases.closed_at is not null) as cases_closed_count,
        count(*) filter (where cases.closed_at is not null and cases.reopened_count > 0) as cases_reopened_count,
        count(*) filter (where case_breaches.is_breached) as cases_breached_count,
        median(epoch(cases.first_contact_at - cases.opened_at) / 3600) filter (
            where cases.first_contact_at >= cases.opened_at
        ) as first_contact_hours_median,
        quantile_cont(epoch(cases.first_contact_at - cases.opened_at) / 3600, 0.9) filter (
            where cases.first_contact_at >= cases.opened_at
        ) as first_contact_hours_p90,
        median(epoch(cases.closed_at - cases.opened_at) / 3600) as close_hours_median,
        quantile_cont(epoch(cases.closed_at - cases.opened_at) / 3600, 0.9) as close_hours_p90
    from cases
    left join departments
        on departments.department_id = cases.department_id
    left join managers
        on managers.manager_id = cases.manager_id
    left join case_breaches
        on case_breaches.case_id = cases.case_id
    where cases.opened_month is not null
    group by all
),

owners as (
    select report_month, directorate_id, department_id, manager_id from feedback_figures
    union
    select report_month, directorate_id, department_id, manager_id from case_figures
),

final as (
    select
        -- grain
        owners.report_month,
        owners.directorate_id,
        coalesce(directorates.directorate_name, 'Не распределено') as directorate_name,
        owners.department_id,
        coalesce(departments.department_name, 'Не распределено') as department_name,
        owners.manager_id,
        coalesce(managers.manager_name, 'Не распределено') as manager_name,

        -- volume
        coalesce(feedback_figures.items_count, 0) as items_count,
        coalesce(feedback_figures.complaints_count, 0) as complaints_count,
        coalesce(feedback_figures.wishes_count, 0) as wishes_count,
        coalesce(feedback_figures.thanks_count, 0) as thanks_count,
        coalesce(feedback_figures.questions_count, 0) as questions_count,
        coalesce(feedback_figures.unclassified_count, 0) as unclassified_count,
        share(feedback_figures.complaints_count, feedback_figures.items_count) as complaint_share,
        coalesce(feedback_figures.conversation_repeats_count, 0) as conversation_repeats_count,

        -- nps
        coalesce(feedback_figures.nps_answers_count, 0) as nps_answers_count,
        coalesce(feedback_figures.promoters_count, 0) as promoters_count,
        coalesce(feedback_figures.passives_count, 0) as passives_count,
        coalesce(feedback_figures.detractors_count, 0) as detractors_count,
        nps(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps,
        nps_ci_low(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps_ci_low,
        nps_ci_high(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps_ci_high,
        coalesce(feedback_figures.nps_answers_count, 0) < 30 as is_nps_small_sample,

        -- csi (same answers as nps)
        coalesce(feedback_figures.nps_answers_count, 0) as csi_answers_count,
        coalesce(feedback_figures.csi_high_count, 0) as csi_high_count,
        coalesce(feedback_figures.csi_low_count, 0) as csi_low_count,
        csi(feedback_figures.csi_high_count, feedback_figures.csi_low_count) as csi,
        coalesce(feedback_figures.nps_answers_count, 0) < 30 as is_csi_small_sample,

        -- csat
        coalesce(feedback_figures.csat_answers_count, 0) as csat_answers_count,
        coalesce(feedback_figures.csat_satisfied_count, 0) as csat_satisfied_count,
        share(feedback_figures.csat_satisfied_count, feedback_figures.csat_answers_count) as csat,

        -- cases
        coalesce(case_figures.cases_count, 0) as cases_count,
        coalesce(case_figures.cases_closed_count, 0) as cases_closed_count,
        coalesce(case_figures.cases_reopened_count, 0) as cases_reopened_count,
        share(case_figures.cases_reopened_count, case_figures.cases_closed_count) as reopen_rate,
        coalesce(case_figures.cases_breached_count, 0) as cases_breached_count,
        case_figures.first_contact_hours_median,
        case_figures.first_contact_hours_p90,
        case_figures.close_hours_median,
        case_figures.close_hours_p90

    from owners
    left join directorates
        on directorates.directorate_id = owners.directorate_id
    left join departments
        on departments.department_id = owners.department_id
    left join managers
        on managers.manager_id = owners.manager_id
    left join feedback_figures
        on feedback_figures.report_month = owners.report_month
        and feedback_figures.directorate_id = owners.directorate_id
        and feedback_figures.department_id = owners.department_id
        and feedback_figures.manager_id = owners.manager_id
    left join case_figures
        on case_figures.report_month = owners.report_month
        and case_figures.directorate_id = owners.directorate_id
        and case_figures.department_id = owners.department_id
        and case_figures.manager_id = owners.manager_id
)

select * from final
