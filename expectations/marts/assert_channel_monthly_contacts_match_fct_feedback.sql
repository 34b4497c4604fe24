-- table: marts.channel_monthly
-- severity: critical
-- why: the channels' rows of a month must add up to that month's items of core.fct_feedback, repeats apart, and their shares to 1
-- Every item is a contact of exactly one channel ('unknown' when its channel left the registry);
-- the customers' items that start a conversation are its items.
-- Returns one row per month whose contacts, items or shares differ.

with

feedback as (
    select * from core.fct_feedback
),

mart as (
    select * from marts.channel_monthly
),

core_totals as (
    select
        received_month as report_month,
        count(*) as core_contacts,
        count(*) filter (
            where audience = 'customer' and not is_self_service_session and not is_conversation_repeat
        ) as core_items
    from feedback
    group by all
),

mart_totals as (
    select
        report_month,
        sum(contacts_count) as mart_contacts,
        sum(items_count) as mart_items,
        sum(contact_share) as mart_share_sum
    from mart
    group by all
),

final as (
    select
        coalesce(mart_totals.report_month, core_totals.report_month) as report_month,
        coalesce(core_totals.core_contacts, 0) as core_contacts,
        coalesce(mart_totals.mart_contacts, 0) as mart_contacts,
        coalesce(core_totals.core_items, 0) as core_items,
        coalesce(mart_totals.mart_items, 0) as mart_items,
        mart_totals.mart_share_sum
    from mart_totals
    full outer join core_totals
        on mart_totals.report_month = core_totals.report_month
)

select * from final
where
    core_contacts <> mart_contacts
    or core_items <> mart_items
    or (core_contacts > 0 and abs(mart_share_sum - 1) > 1e-9)
order by report_month
