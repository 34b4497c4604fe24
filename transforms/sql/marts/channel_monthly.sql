-- channel_monthly: volume and cost per contact of every feedback channel, per month.
-- Grain: (report_month, channel_id): every enabled feedback channel of core.dim_channels for every
-- month with any feedback (a silent channel shows 0), plus any other channel (disabled, or the
-- missing member 'unknown') in a month where it has items.
-- A contact is any item received on the channel, conversation repeats included: the repeat cost the
-- channel as much as a first item. Cost per contact (docs/metrics.md) = the channel's monthly cost in force
-- for the month (staging.stg_config__channel_costs, effective-dated) ÷ its contacts in the month.
--
-- Columns:
--   report_month, channel_id, display_name
--   contacts_count            items received on the channel (repeats included)
--   items_count               contacts that start a conversation (the items management_monthly counts)
--   conversation_repeats_count contacts that repeat a conversation begun elsewhere or earlier
--   complaints_count, wishes_count, thanks_count, questions_count, unclassified_count: items by kind
--   contact_share             contacts ÷ all contacts of the month on every channel
--   monthly_cost_rub          the channel's cost for the month (null: no cost configured)
--   cost_valid_from           first month of the cost entry in force
--   cost_per_contact_rub      monthly_cost_rub ÷ contacts_count (null without a cost or without contacts)

with

feedback as (
    select * from core.fct_feedback
),

channels as (
    select * from core.dim_channels
),

channel_costs as (
    select * from staging.stg_config__channel_costs
),

months as (
    select distinct received_month as report_month from feedback
),

contact_figures as (
    select
        received_month as report_month,
        channel_id,
        count(*) as contacts_count,
        count(*) filter (where not is_conversation_repeat) as items_count,
        count(*) filter (where is_conversation_repeat) as conversation_repeats_count,
        count(*) filter (where not is_conversation_repeat and kind = 'complaint') as complaints_count,
        count(*) filter (where not is_conversation_repeat and kind = 'wish') as wishes_count,
        count(*) filter (where not is_conversation_repeat and kind = 'thanks') as thanks_count,
        count(*) filter (where not is_conversation_repeat and kind = 'question') as questions_count,
        count(*) filter (where not is_conversation_repeat and kind = 'unclassified') as unclassified_count
    from feedback
    group by all
),

grid as (
    select months.report_month, channels.channel_id, channels.display_name
    from months
    cross join channels
    where channels.entity = 'feedback' and channels.is_enabled
    union
    select contact_figures.report_month, contact_figures.channel_id, coalesce(channels.display_name, contact_figures.channel_id)
    from contact_figures
    left join channels
        on channels.channel_id = contact_figures.channel_id
),

month_totals as (
    select report_month, sum(contacts_count) as month_contacts from contact_figures group by all
),

final as (
    select
        -- grain
        grid.report_month,
        grid.channel_id,
        grid.display_name,

        -- volume
        coalesce(contact_figures.contacts_count, 0) as contacts_count,
        coalesce(contact_figures.items_count, 0) as items_count,
        coalesce(contact_figures.conversation_repeats_count, 0) as conversation_repeats_count,
        coalesce(contact_figures.complaints_count, 0) as complaints_count,
        coalesce(contact_figures.wishes_count, 0) as wishes_count,
        coalesce(contact_figures.thanks_count, 0) as thanks_count,
        coalesce(contact_figures.questions_count, 0) as questions_count,
        coalesce(contact_figures.unclassified_count, 0) as unclassified_count,
        share(coalesce(contact_figures.contacts_count, 0), month_totals.month_contacts) as contact_share,

        -- cost
        channel_costs.monthly_cost_rub,
        channel_costs.valid_from as cost_valid_from,
        channel_costs.monthly_cost_rub / nullif(contact_figures.contacts_count, 0) as cost_per_contact_rub

    from grid
    left join contact_figures
        on contact_figures.report_month = grid.report_month
        and contact_figures.channel_id = grid.channel_id
    left join month_totals
        on month_totals.report_month = grid.report_month
    left join channel_costs
        on channel_costs.channel_id = grid.channel_id
        and channel_costs.valid_from <= grid.report_month
        and (channel_costs.valid_to is null or grid.report_month < channel_costs.valid_to)
)

select * from final
