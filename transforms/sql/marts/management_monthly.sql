-- management_monthly: the figures of the monthly management review, by directorate and for the company.
-- Grain: (report_month, directorate_id): every directorate of core.dim_directorates (incl. 'unassigned')
-- for every month with any feedback, case or orders, plus one company row per month (directorate_id
-- 'all', is_company_total). SLA "measured" counts decided clocks only (achieved, breached,
-- open_breached): an open clock still within target has not passed or failed yet.
-- Feedback figures count each cross-channel conversation once, under its first item's month and
-- directorate: repeats (core.fct_feedback.is_conversation_repeat) are left out of every feedback
-- count and shown as conversation_repeats_count.

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

orders as (
    select * from core.fct_orders_monthly
),

directorates as (
    select * from core.dim_directorates
),

months as (
    select received_month as report_month from feedback
    union
    select opened_month from cases where opened_month is not null
    union
    select report_month from case_sla
    union
    select report_month from orders
),

feedback_counts as (
    select
        received_month as report_month,
        directorate_id,
        count(*) as items_count,
        count(*) filter (where kind = 'complaint') as complaints_count,
        count(*) filter (where kind = 'wish') as wishes_count,
        count(*) filter (where kind = 'thanks') as thanks_count,
        count(*) filter (where kind = 'question') as questions_count,
        count(*) filter (where kind = 'unclassified') as unclassified_count,
        count(*) filter (where question_type = 'nps' and nps_group is not null) as nps_answers_count,
        count(*) filter (where question_type = 'nps' and nps_group = 'promoter') as promoters_count,
        count(*) filter (where question_type = 'nps' and nps_group = 'passive') as passives_count,
        count(*) filter (where question_type = 'nps' and nps_group = 'detractor') as detractors_count,
        count(*) filter (
            where question_type = 'csat' and score_scale = '1-5' and score_raw between 1 and 5
        ) as csat_answers_count,
        count(*) filter (
            where question_type = 'csat' and score_scale = '1-5' and score_raw between 4 and 5
        ) as csat_satisfied_count
    from feedback
    where not is_conversation_repeat
    group by all
),

repeat_counts as (
    select
        received_month as report_month,
        directorate_id,
        count(*) as conversation_repeats_count
    from feedback
    where is_conversation_repeat
    group by all
),

-- One column group per policy of transforms/sla/policies.yaml shown in the review; the names
-- say the current targets, so a new target under the same policy id needs a rename here.
sla_counts as (
    select
        report_month,
        directorate_id,
        count(*) filter (
            where sla_policy_id = 'close_within_24h' and sla_state in ('achieved', 'breached', 'open_breached')
        ) as sla_close_24h_measured_count,
        count(*) filter (
            where sla_policy_id = 'close_within_24h' and sla_state = 'achieved'
        ) as sla_close_24h_achieved_count,
        count(*) filter (where sla_policy_id = 'close_within_24h' and is_breached) as sla_close_24h_breached_count,
        count(*) filter (
            where sla_policy_id = 'first_contact_within_1h'
            and sla_state in ('achieved', 'breached', 'open_breached')
        ) as sla_first_contact_1h_measured_count,
        count(*) filter (
            where sla_policy_id = 'first_contact_within_1h' and sla_state = 'achieved'
        ) as sla_first_contact_1h_achieved_count,
        count(*) filter (
            where sla_policy_id = 'first_contact_within_1h' and is_breached
        ) as sla_first_contact_1h_breached_count
    from case_sla
    group by all
),

by_directorate as (
    select
        months.report_month,
        directorates.directorate_id,
        directorates.directorate_name,
        false as is_company_total,
        coalesce(columns(feedback_counts.* exclude (report_month, directorate_id)), 0),
        coalesce(repeat_counts.conversation_repeats_count, 0) as conversation_repeats_count,
        coalesce(columns(sla_counts.* exclude (report_month, directorate_id)), 0),
        -- null, not 0, where the ERP attributes no orders: a rate over unknown orders is unknown
        orders.orders_count
    from months
    cross join directorates
    left join feedback_counts
        on feedback_counts.report_month = months.report_month
        and feedback_counts.directorate_id = directorates.directorate_id
    left join repeat_counts
        on repeat_counts.report_month = months.report_month
        and repeat_counts.directorate_id = directorates.directorate_id
    left join sla_counts
        on sla_counts.report_month = months.report_month
        and sla_counts.directorate_id = directorates.directorate_id
    left join orders
        on orders.report_month = months.report_month
        and orders.directorate_id = directorates.directorate_id
),

company as (
    select
        report_month,
        'all' as directorate_id,
        'Вся компания' as directorate_name,
        true as is_company_total,
        sum(columns(* exclude (report_month, directorate_id, directorate_name, is_company_total)))::bigint
    from by_directorate
    group by report_month
),

counts as (
    select * from by_directorate
    union all by name
    select * from company
),

nps_shares as (
    select
        *,
        promoters_count / nullif(nps_answers_count, 0) as promoter_share,
        detractors_count / nullif(nps_answers_count, 0) as detractor_share
    from counts
),

-- Each answer scores +1 / 0 / −1 and NPS is 100 × their mean; the standard error follows from
-- that score's variance, p_P + p_D − (p_P − p_D)², floored at 0 against rounding.
nps_scores as (
    select
        *,
        100 * (promoters_count - detractors_count) / nullif(nps_answers_count, 0) as nps,
        case when nps_answers_count > 0 then 100 * sqrt(
            greatest(0, promoter_share + detractor_share - (promoter_share - detractor_share) ** 2)
            / nps_answers_count
        ) end as nps_standard_error
    from nps_shares
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        directorate_name,
        is_company_total,

        -- volume
        items_count,
        complaints_count,
        wishes_count,
        thanks_count,
        questions_count,
        unclassified_count,
        complaints_count / nullif(items_count, 0) as complaint_share,
        conversation_repeats_count,

        -- nps: 100 × (P − D) / N and its 95% normal interval (z = 1.96), clipped to −100…100
        nps_answers_count,
        promoters_count,
        passives_count,
        detractors_count,
        nps,
        -- greatest/least skip nulls, so the interval is null only through the case
        case when nps_answers_count > 0 then greatest(-100, nps - 1.96 * nps_standard_error) end as nps_ci_low,
        case when nps_answers_count > 0 then least(100, nps + 1.96 * nps_standard_error) end as nps_ci_high,
        -- below 30 answers the normal interval is unreliable and the review flags the figure
        nps_answers_count < 30 as is_nps_small_sample,

        -- csat: share of 4–5 on 1–5 answers
        csat_answers_count,
        csat_satisfied_count,
        csat_satisfied_count / nullif(csat_answers_count, 0) as csat,

        -- sla
        sla_close_24h_measured_count,
        sla_close_24h_achieved_count,
        sla_close_24h_breached_count,
        sla_close_24h_achieved_count / nullif(sla_close_24h_measured_count, 0) as sla_close_24h_compliance_rate,
        sla_first_contact_1h_measured_count,
        sla_first_contact_1h_achieved_count,
        sla_first_contact_1h_breached_count,
        sla_first_contact_1h_achieved_count
        / nullif(sla_first_contact_1h_measured_count, 0) as sla_first_contact_1h_compliance_rate,

        -- orders
        orders_count,
        1000 * complaints_count / nullif(orders_count, 0) as complaints_per_1000_orders

    from nps_scores
)

select * from final
