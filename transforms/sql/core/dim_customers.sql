-- dim_customers: one row per CRM customer (customer_key: the keyed hash of the CRM customer id), with
-- the segment the CRM gives them now, when their card was opened, and their status now.
-- Grain: customer_key.

with

statuses as (
    select * from staging.stg_crm__customer_statuses
),

final as (
    select
        customer_key,
        arg_max(segment, status_at) filter (where segment is not null) as segment,
        min(status_at) as customer_since,
        arg_max(status, status_at) as status,
        max(status_at) as status_at
    from statuses
    group by customer_key
)

select * from final
