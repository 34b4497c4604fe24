-- int_customer_start_months: every CRM customer with a current span, and the month starts at which they
-- are current. A customer is at a month's start when one of their current spans began before its first
-- instant (reporting timezone) and had not ended before it: a span that began at that instant is not
-- current at it, one that ended at that instant is. A customer with one current span is so at the month
-- starts [first_month, end_month): from the first after the span began to the first after it ended
-- (end_month null: still current). A customer with several current spans, or with a span whose local end
-- comes before its local start (a clock turned back), is not one-span, and its readers look at its spans
-- month by month. Read by core.fct_customers_at_month_start and marts.churn_by_nps_group_monthly, which
-- count one-span customers by running sums over the months rather than a row per customer and month.
-- Grain: customer_key.

with

current_spans as (
    select * from core.fct_customer_status_spans
    where status = 'current'
),

final as (
    select
        customer_key,
        count(*) = 1 and coalesce(min(valid_to_local) >= min(valid_from_local), true) as is_one_span,
        date_trunc('month', min(valid_from_local)) + interval 1 month as first_month,
        date_trunc('month', min(valid_to_local)) + interval 1 month as end_month
    from current_spans
    group by customer_key
)

select * from final
