-- fct_customers_at_month_start: the CRM customers current at each month's first instant (reporting
-- timezone), by the segment the CRM gives them now (core.dim_customers; 'unknown' when it names none).
-- A customer is at a month's start when one of their current spans began before that instant and had
-- not ended before it; a customer with several such spans counts once. The churn rate's denominator
-- (macro churn_rate): marts.customer_segments_monthly reads it by segment, marts.churn_by_nps_group_monthly
-- summed over the segments.
-- Grain: (report_month, segment), for every month of the feedback and every segment with a customer at
-- its start. Columns: transforms/sql/core/fct_customers_at_month_start.yml.

with

customers as (
    select
        customer_key,
        coalesce(segment, 'unknown') as segment
    from core.dim_customers
),

current_spans as (
    select * from core.fct_customer_status_spans
    where status = 'current'
),

months as (
    select distinct received_month as report_month
    from core.fct_feedback
    where is_counted_item
),

-- every customer with a current span, in the segment the CRM gives them now. A one-span customer is
-- counted by running sums over the months (core.int_customer_start_months: +1 from first_month, -1 from
-- end_month), not by a row per customer and month (~5M on a 1M-item history, and more every month); any
-- other is counted month by month, once.
customer_base as materialized (
    select
        start_months.customer_key,
        customers.segment,
        start_months.is_one_span,
        start_months.first_month,
        start_months.end_month
    from core.int_customer_start_months as start_months
    inner join customers
        on start_months.customer_key = customers.customer_key
),

one_span_bounds as (
    select
        segment,
        first_month,
        sum(customers_count) as customers_count
    from (
        select
            segment,
            first_month,
            1 as customers_count
        from customer_base
        where is_one_span
        union all
        select
            segment,
            end_month as first_month,
            -1 as customers_count
        from customer_base
        where is_one_span and end_month is not null
    ) as bounds
    group by segment, first_month
),

other_current_spans as (
    select
        current_spans.customer_key,
        customer_base.segment,
        current_spans.valid_from_local,
        current_spans.valid_to_local
    from current_spans
    inner join customer_base
        on current_spans.customer_key = customer_base.customer_key
    where not customer_base.is_one_span
),

final as (
    select
        report_month,
        segment,
        sum(customers_count)::bigint as customers_at_start_count
    from (
        select
            months.report_month,
            one_span_bounds.segment,
            one_span_bounds.customers_count
        from months
        inner join one_span_bounds
            on one_span_bounds.first_month <= months.report_month::timestamp
        union all
        select
            months.report_month,
            other_current_spans.segment,
            count(distinct other_current_spans.customer_key) as customers_count
        from months
        inner join other_current_spans
            on
                other_current_spans.valid_from_local < months.report_month::timestamp
                and (
                    other_current_spans.valid_to_local is null
                    or other_current_spans.valid_to_local >= months.report_month::timestamp
                )
        group by months.report_month, other_current_spans.segment
    ) as parts
    group by report_month, segment
    having sum(customers_count) > 0
)

select * from final
