-- management_monthly: the figures of the monthly management review, by directorate and for the company.
-- Grain: (report_month, directorate_id): every directorate of core.dim_directorates (incl. 'unassigned')
-- for every month with any feedback, case, clock or orders, plus one company row per month
-- (directorate_id 'all', is_company_total). A thin mart: it sums the monthly facts and applies the
-- metric macros of transforms/sql/metrics.sql; every rule about what counts lives in core.
-- Columns and their meaning: transforms/sql/marts/management_monthly.yml.

with

feedback as (
    select * from core.fct_feedback_monthly
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

clocks as (
    select * from core.fct_sla_monthly
    where is_first_cycle
),

orders as (
    select * from core.fct_orders_monthly
),

directorates as (
    select * from core.dim_directorates
),

channel_costs as (
    select * from core.dim_channel_costs
),

months as (
    select report_month from feedback
    union
    select report_month from cases
    union
    select report_month from clocks
    union
    select report_month from orders
),

grid as (
    select
        months.report_month,
        directorates.directorate_id,
        directorates.directorate_name,
        false as is_company_total
    from months
    cross join directorates
    union all
    select
        report_month,
        'all',
        'Вся компания',
        true
    from months
),

feedback_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sum(items_count)::bigint as items_count,
        sum(items_count) filter (where kind = 'complaint')::bigint as complaints_count,
        sum(items_count) filter (where kind = 'wish')::bigint as wishes_count,
        sum(items_count) filter (where kind = 'thanks')::bigint as thanks_count,
        sum(items_count) filter (where kind = 'question')::bigint as questions_count,
        sum(items_count) filter (where kind = 'other')::bigint as other_count,
        sum(items_count) filter (where kind = 'unclassified')::bigint as unclassified_count,
        sum(conversation_repeats_count)::bigint as conversation_repeats_count,
        sum(columns(
            '^(nps_.*|csi_.*|csat_.*|effort_answers|low_effort|tnps_.*|ces_.*|enps_.*|self_service_.*)_count$'
        ))::bigint
    from feedback
    group by grouping sets ((report_month, directorate_id), (report_month))
),

case_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sum(columns('^cases_.*count$'))::bigint
    from cases
    group by grouping sets ((report_month, directorate_id), (report_month))
),

-- wall-clock hours from opening to the first contact and to the first close; the company pools its
-- cases (medians do not add up). quantile_cont interpolates linearly (numpy's default).
time_figures as (
    select
        opened_month as report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        median(first_contact_hours) filter (
            where first_contact_at >= opened_at
        ) as first_contact_hours_median,
        quantile_cont(first_contact_hours, 0.9) filter (
            where first_contact_at >= opened_at
        ) as first_contact_hours_p90,
        median(close_hours) as close_hours_median,
        quantile_cont(close_hours, 0.9) as close_hours_p90
    from case_times
    group by grouping sets ((opened_month, directorate_id), (opened_month))
),

-- the two policies the review shows; every policy is in marts.sla_compliance_monthly
sla_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sum(achieved_count + breached_count + open_breached_count) filter (
            where sla_policy_id = 'close_within_24h'
        )::bigint as sla_close_24h_measured_count,
        sum(achieved_count) filter (
            where sla_policy_id = 'close_within_24h'
        )::bigint as sla_close_24h_achieved_count,
        sum(breached_count + open_breached_count) filter (
            where sla_policy_id = 'close_within_24h'
        )::bigint as sla_close_24h_breached_count,
        sum(achieved_count + breached_count + open_breached_count) filter (
            where sla_policy_id = 'first_contact_within_1h'
        )::bigint as sla_first_contact_1h_measured_count,
        sum(achieved_count) filter (
            where sla_policy_id = 'first_contact_within_1h'
        )::bigint as sla_first_contact_1h_achieved_count,
        sum(breached_count + open_breached_count) filter (
            where sla_policy_id = 'first_contact_within_1h'
        )::bigint as sla_first_contact_1h_breached_count
    from clocks
    group by grouping sets ((report_month, directorate_id), (report_month))
),

order_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sum(orders_count)::bigint as orders_count
    from orders
    group by grouping sets ((report_month, directorate_id), (report_month))
),

-- a channel's monthly cost spread over every item it received that month (its contacts)
channel_unit_costs as (
    select
        channel_contacts.report_month,
        channel_contacts.channel_id,
        channel_costs.monthly_cost_rub / channel_contacts.contacts_count as cost_per_contact_rub
    from (
        select
            report_month,
            channel_id,
            sum(contacts_count) as contacts_count
        from feedback
        group by all
    ) as channel_contacts
    inner join channel_costs
        on
            channel_contacts.channel_id = channel_costs.channel_id
            and channel_contacts.report_month >= channel_costs.valid_from
            and (channel_costs.valid_to is null or channel_contacts.report_month < channel_costs.valid_to)
),

cost_figures as (
    select
        feedback.report_month,
        case when grouping(feedback.directorate_id) = 1 then 'all' else feedback.directorate_id end as directorate_id,
        sum(feedback.contacts_count)::bigint as costed_contacts_count,
        -- summed as decimals: a sum of doubles depends on the order the rows come in, which a rebuild
        -- does not keep, and `otklik replay` compares the last bit
        sum((feedback.contacts_count * channel_unit_costs.cost_per_contact_rub)::decimal(38, 9))::double
            as contact_cost_rub
    from feedback
    inner join channel_unit_costs
        on
            feedback.report_month = channel_unit_costs.report_month
            and feedback.channel_id = channel_unit_costs.channel_id
    group by grouping sets ((feedback.report_month, feedback.directorate_id), (feedback.report_month))
),

counted as (
    select
        grid.*,
        coalesce(columns(feedback_figures.* exclude (report_month, directorate_id)), 0),
        coalesce(columns(case_figures.* exclude (report_month, directorate_id)), 0),
        coalesce(columns(sla_figures.* exclude (report_month, directorate_id)), 0),
        -- null, not 0, where the ERP attributes no orders: a rate over unknown orders is unknown
        order_figures.orders_count,
        coalesce(cost_figures.costed_contacts_count, 0) as costed_contacts_count,
        cost_figures.contact_cost_rub,
        time_figures.first_contact_hours_median,
        time_figures.first_contact_hours_p90,
        time_figures.close_hours_median,
        time_figures.close_hours_p90
    from grid
    left join feedback_figures
        on
            grid.report_month = feedback_figures.report_month
            and grid.directorate_id = feedback_figures.directorate_id
    left join case_figures
        on
            grid.report_month = case_figures.report_month
            and grid.directorate_id = case_figures.directorate_id
    left join sla_figures
        on
            grid.report_month = sla_figures.report_month
            and grid.directorate_id = sla_figures.directorate_id
    left join order_figures
        on
            grid.report_month = order_figures.report_month
            and grid.directorate_id = order_figures.directorate_id
    left join cost_figures
        on
            grid.report_month = cost_figures.report_month
            and grid.directorate_id = cost_figures.directorate_id
    left join time_figures
        on
            grid.report_month = time_figures.report_month
            and grid.directorate_id = time_figures.directorate_id
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        directorate_name,
        is_company_total,

        -- volume: the customers' items, each conversation once; the kinds add up to items_count
        items_count,
        complaints_count,
        wishes_count,
        thanks_count,
        questions_count,
        other_count,
        unclassified_count,
        share(complaints_count, items_count) as complaint_share,
        is_small_sample(items_count) as is_complaint_share_small_sample,
        conversation_repeats_count,

        -- nps
        nps_answers_count,
        nps_promoters_count as promoters_count,
        nps_passives_count as passives_count,
        nps_detractors_count as detractors_count,
        nps(nps_promoters_count, nps_detractors_count, nps_answers_count) as nps,
        nps_ci_low(nps_promoters_count, nps_detractors_count, nps_answers_count) as nps_ci_low,
        nps_ci_high(nps_promoters_count, nps_detractors_count, nps_answers_count) as nps_ci_high,
        is_small_sample(nps_answers_count) as is_nps_small_sample,

        -- csat
        csat_answers_count,
        csat_satisfied_count,
        share(csat_satisfied_count, csat_answers_count) as csat,
        is_small_sample(csat_answers_count) as is_csat_small_sample,

        -- sla: first cycles of the two review policies
        sla_close_24h_measured_count,
        sla_close_24h_achieved_count,
        sla_close_24h_breached_count,
        share(sla_close_24h_achieved_count, sla_close_24h_measured_count) as sla_close_24h_compliance_rate,
        is_small_sample(sla_close_24h_measured_count) as is_sla_close_24h_small_sample,
        sla_first_contact_1h_measured_count,
        sla_first_contact_1h_achieved_count,
        sla_first_contact_1h_breached_count,
        share(
            sla_first_contact_1h_achieved_count, sla_first_contact_1h_measured_count
        ) as sla_first_contact_1h_compliance_rate,
        is_small_sample(sla_first_contact_1h_measured_count) as is_sla_first_contact_1h_small_sample,

        -- orders
        orders_count,
        1000 * share(complaints_count, orders_count) as complaints_per_1000_orders,
        -- a rate of rare events is as reliable as the count of events behind it
        is_small_sample(complaints_count) as is_complaints_per_1000_orders_small_sample,

        -- enps: NPS over the employees' survey
        enps_answers_count,
        enps_promoters_count,
        enps_passives_count,
        enps_detractors_count,
        nps(enps_promoters_count, enps_detractors_count, enps_answers_count) as enps,
        nps_ci_low(enps_promoters_count, enps_detractors_count, enps_answers_count) as enps_ci_low,
        nps_ci_high(enps_promoters_count, enps_detractors_count, enps_answers_count) as enps_ci_high,
        is_small_sample(enps_answers_count) as is_enps_small_sample,

        -- csi: scores 8-10 over scores 0-3 on the recommend question; null when no score is low
        nps_answers_count as csi_answers_count,
        csi_high_count,
        csi_low_count,
        csi(csi_high_count, csi_low_count) as csi,
        is_small_sample(nps_answers_count) as is_csi_small_sample,

        -- the final close-the-loop survey, every answer of the month, by the owner of the case it judges
        tnps_answers_count,
        tnps_promoters_count,
        tnps_passives_count,
        tnps_detractors_count,
        nps(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps,
        nps_ci_low(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps_ci_low,
        nps_ci_high(tnps_promoters_count, tnps_detractors_count, tnps_answers_count) as tnps_ci_high,
        is_small_sample(tnps_answers_count) as is_tnps_small_sample,
        ces_answers_count,
        ces_solved_count,
        share(ces_solved_count, ces_answers_count) as ces_rate,
        is_small_sample(ces_answers_count) as is_ces_small_sample,

        -- customer effort (1-7): the share of low-effort answers (5-7)
        effort_answers_count,
        low_effort_count,
        share(low_effort_count, effort_answers_count) as ces_effort,
        is_small_sample(effort_answers_count) as is_ces_effort_small_sample,

        -- cases opened in the month
        cases_count,
        cases_closed_count,
        cases_reopened_count,
        share(cases_reopened_count, cases_closed_count) as reopen_rate,
        is_small_sample(cases_closed_count) as is_reopen_rate_small_sample,
        cases_contacted_count,
        cases_under_review_count,
        first_contact_hours_median,
        first_contact_hours_p90,
        close_hours_median,
        close_hours_p90,

        -- self-service: issues the bot or the FAQ resolved before any contact, of all issues (those
        -- plus the cases people handled)
        self_service_sessions_count,
        self_service_resolved_count,
        self_service_resolved_count + cases_count as issues_count,
        share(self_service_resolved_count, self_service_resolved_count + cases_count) as self_service_share,
        is_small_sample(self_service_resolved_count + cases_count) as is_self_service_small_sample,

        -- cost per contact: channel costs spread over their contacts, for the contacts of costed channels
        costed_contacts_count,
        contact_cost_rub,
        contact_cost_rub / nullif(costed_contacts_count, 0) as cost_per_contact_rub,
        is_small_sample(costed_contacts_count) as is_cost_per_contact_small_sample

    from counted
)

select * from final
