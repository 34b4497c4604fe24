-- fct_orders_monthly: orders per month and directorate, the denominator of complaints per 1,000 orders.
-- Grain: (report_month, directorate_id). Orders of a directorate missing from core.dim_directorates
-- (or of none) count under 'unassigned', so the company total keeps every order. Staging holds one
-- count per month and directorate, the one loaded last: a month the ERP restates replaces the earlier
-- count, which stays in quarantine.staging_rejects as 'restated' (transforms/normalize, _deliveries).

with

orders as (
    select * from staging.stg_erp__orders_monthly
),

directorates as (
    select * from core.dim_directorates
),

final as (
    select
        date_trunc('month', orders.report_month)::date as report_month,
        coalesce(directorates.directorate_id, 'unassigned') as directorate_id,
        sum(orders.orders_count)::bigint as orders_count
    from orders
    left join directorates
        on orders.directorate_id = directorates.directorate_id
    group by all
)

select * from final
