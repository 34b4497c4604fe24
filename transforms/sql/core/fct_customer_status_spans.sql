-- fct_customer_status_spans: each CRM customer's history as spans of one status: current (a customer),
-- refused (said no) or churned (stopped buying), from the change that started the span to the next
-- change (valid_to null: the status now). Two rows in a row with the same status are one span (a
-- re-sent change, or the CRM writing the card again). previous_status is null for the card's first
-- span. valid_from_local / valid_to_local are the same instants in the reporting timezone, where the
-- months of the marts begin.
-- Grain: (customer_key, valid_from).

with

-- two statuses at the same instant (an export error) keep one, the last by name, so that the grain
-- holds and every build picks the same
statuses as (
    select
        customer_key,
        status,
        status_at
    from staging.stg_crm__customer_statuses
    qualify row_number() over (partition by customer_key, status_at order by status desc) = 1
),

ordered as (
    select
        *,
        lag(status) over (partition by customer_key order by status_at, status) as previous_status
    from statuses
),

changes as (
    select * from ordered
    where previous_status is distinct from status
),

final as (
    select
        customer_key,
        status,
        previous_status,
        status_at as valid_from,
        lead(status_at) over (partition by customer_key order by status_at, status) as valid_to,
        timezone(getvariable('reporting_timezone'), status_at) as valid_from_local,
        timezone(getvariable('reporting_timezone'), lead(status_at) over (
            partition by customer_key order by status_at, status
        )) as valid_to_local,
        status in ('refused', 'churned') and previous_status = 'current' as is_loss
    from changes
)

select * from final
