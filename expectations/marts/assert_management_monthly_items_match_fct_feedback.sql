-- table: marts.management_monthly
-- severity: critical
-- why: the directorate rows of a month must add up to that month's customer conversations and repeats in core.fct_feedback
-- Every customer feedback item is counted exactly once in the review: as an item when it starts a
-- conversation, as a conversation repeat when it repeats one (is_conversation_repeat). Employees'
-- answers and self-service sessions are no customer items. A lost row
-- (an inner join on a missing dimension member) or a doubled one (a fan-out join) shows up here as
-- a month whose totals differ. The company row ('all') is left out of the sum; months are core's
-- received_month. Returns one row per month whose totals differ.

with

mart_months as (
    select
        report_month,
        sum(items_count) as mart_items_count,
        sum(conversation_repeats_count) as mart_repeats_count
    from marts.management_monthly
    where directorate_id <> 'all'
    group by all
),

core_months as (
    select
        received_month as report_month,
        count(*) filter (where not is_conversation_repeat) as core_items_count,
        count(*) filter (where is_conversation_repeat) as core_repeats_count
    from core.fct_feedback
    where audience = 'customer' and not is_self_service_session
    group by all
),

final as (
    select
        coalesce(mart_months.report_month, core_months.report_month) as report_month,
        coalesce(mart_months.mart_items_count, 0) as mart_items_count,
        coalesce(core_months.core_items_count, 0) as core_items_count,
        coalesce(mart_months.mart_repeats_count, 0) as mart_repeats_count,
        coalesce(core_months.core_repeats_count, 0) as core_repeats_count
    from mart_months
    full outer join core_months
        on mart_months.report_month = core_months.report_month
)

select * from final
where
    mart_items_count <> core_items_count
    or mart_repeats_count <> core_repeats_count
order by report_month
