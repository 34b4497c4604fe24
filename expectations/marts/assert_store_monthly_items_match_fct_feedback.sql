-- table: marts.store_monthly
-- severity: critical
-- why: the stores' rows of a month must add up to that month's customer items of core.fct_feedback that name a store
-- An item naming a store org.yaml does not know counts under 'unknown', never nowhere; an item
-- naming no store is not store feedback. Returns one row per month whose totals differ.

with

feedback as (
    select * from core.fct_feedback
    where store_id is not null and audience = 'customer' and not is_self_service_session
),

mart as (
    select * from marts.store_monthly
),

core_totals as (
    select
        received_month as report_month,
        count(*) as core_items
    from feedback
    group by all
),

mart_totals as (
    select
        report_month,
        sum(items_count + conversation_repeats_count) as mart_items
    from mart
    group by all
),

final as (
    select
        coalesce(mart_totals.report_month, core_totals.report_month) as report_month,
        coalesce(core_totals.core_items, 0) as core_items,
        coalesce(mart_totals.mart_items, 0) as mart_items
    from mart_totals
    full outer join core_totals
        on mart_totals.report_month = core_totals.report_month
)

select * from final
where core_items <> mart_items
order by report_month
