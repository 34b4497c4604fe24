-- customer_segments_monthly: the customer base by segment and month, from the CRM's status history,
-- beside the feedback of the same segment: how many customers the month began with, how many came,
-- came back, refused or churned, the churn rate (macro churn_rate), and the segment's items,
-- complaints, NPS and CSI.
-- Customers are counted in the segment the CRM gives them now (core.dim_customers); items in the
-- segment of core.fct_feedback (the CRM's for an item whose customer the CRM knows, else what the
-- channel said; 'unknown' when neither says).
-- Grain: (report_month, segment), for every month of the feedback and every segment either side
-- names. Columns: transforms/sql/marts/customer_segments_monthly.yml.

with

feedback as (
    select * from core.fct_feedback
    where is_counted_item
),

customers as (
    select
        customer_key,
        coalesce(segment, 'unknown') as segment
    from core.dim_customers
),

spans as (
    select * from core.fct_customer_status_spans
),

months as (
    select distinct received_month as report_month
    from feedback
),

segments as (
    select segment from customers
    union
    select coalesce(segment, 'unknown') as segment from feedback
),

-- customers current at the month's first instant (reporting timezone), by segment
at_start as (
    select * from core.fct_customers_at_month_start
),

-- the spans that began within the month: cards opened, customers back, losses
changes as (
    select
        months.report_month,
        customers.segment,
        count(distinct spans.customer_key) filter (
            where spans.status = 'current' and spans.previous_status is null
        ) as customers_new_count,
        count(distinct spans.customer_key) filter (
            where spans.status = 'current' and spans.previous_status is not null
        ) as customers_returned_count,
        count(distinct spans.customer_key) filter (
            where spans.is_loss and spans.status = 'refused'
        ) as customers_refused_count,
        count(distinct spans.customer_key) filter (
            where spans.is_loss and spans.status = 'churned'
        ) as customers_churned_count,
        count(distinct spans.customer_key) filter (where spans.is_loss) as customers_lost_count
    from months
    inner join spans
        on months.report_month = date_trunc('month', spans.valid_from_local)::date
    inner join customers
        on spans.customer_key = customers.customer_key
    group by months.report_month, customers.segment
),

said as (
    select
        received_month as report_month,
        coalesce(segment, 'unknown') as segment,
        count(*) as items_count,
        count(*) filter (where kind = 'complaint') as complaints_count,
        count(distinct crm_customer_key) as customers_with_feedback_count,
        count(*) filter (where is_nps_answer) as nps_answers_count,
        count(*) filter (where is_nps_promoter) as promoters_count,
        count(*) filter (where is_nps_detractor) as detractors_count,
        count(*) filter (where is_nps_answer) as csi_answers_count,
        count(*) filter (where is_csi_high) as csi_high_count,
        count(*) filter (where is_csi_low) as csi_low_count
    from feedback
    group by all
),

final as (
    select
        -- grain
        months.report_month,
        segments.segment,

        -- the customer base (CRM)
        coalesce(at_start.customers_at_start_count, 0) as customers_at_start_count,
        coalesce(changes.customers_new_count, 0) as customers_new_count,
        coalesce(changes.customers_returned_count, 0) as customers_returned_count,
        coalesce(changes.customers_refused_count, 0) as customers_refused_count,
        coalesce(changes.customers_churned_count, 0) as customers_churned_count,
        coalesce(changes.customers_lost_count, 0) as customers_lost_count,
        churn_rate(coalesce(changes.customers_lost_count, 0), at_start.customers_at_start_count) as churn_rate,
        is_small_sample(at_start.customers_at_start_count) as is_churn_rate_small_sample,

        -- what the segment said
        coalesce(said.items_count, 0) as items_count,
        coalesce(said.complaints_count, 0) as complaints_count,
        share(coalesce(said.complaints_count, 0), said.items_count) as complaint_share,
        is_small_sample(said.items_count) as is_complaint_share_small_sample,
        coalesce(said.customers_with_feedback_count, 0) as customers_with_feedback_count,
        coalesce(said.nps_answers_count, 0) as nps_answers_count,
        coalesce(said.promoters_count, 0) as promoters_count,
        coalesce(said.detractors_count, 0) as detractors_count,
        nps(said.promoters_count, said.detractors_count, said.nps_answers_count) as nps,
        nps_ci_low(said.promoters_count, said.detractors_count, said.nps_answers_count) as nps_ci_low,
        nps_ci_high(said.promoters_count, said.detractors_count, said.nps_answers_count) as nps_ci_high,
        is_small_sample(said.nps_answers_count) as is_nps_small_sample,
        coalesce(said.csi_answers_count, 0) as csi_answers_count,
        coalesce(said.csi_high_count, 0) as csi_high_count,
        coalesce(said.csi_low_count, 0) as csi_low_count,
        csi(said.csi_high_count, said.csi_low_count) as csi,
        is_small_sample(said.csi_answers_count) as is_csi_small_sample
    from months
    cross join segments
    left join at_start
        on months.report_month = at_start.report_month and segments.segment = at_start.segment
    left join changes
        on months.report_month = changes.report_month and segments.segment = changes.segment
    left join said
        on months.report_month = said.report_month and segments.segment = said.segment
)

select * from final
order by report_month, segment
