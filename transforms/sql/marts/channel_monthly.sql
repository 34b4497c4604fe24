-- channel_monthly: volume and cost per contact of every feedback channel, per month.
-- Grain: (report_month, channel_id): every enabled feedback channel of core.dim_channels for every
-- month with any feedback (a silent channel shows 0), plus any other channel (disabled, or the
-- missing member 'unknown') in a month where it has items.
-- A contact is any item the channel received: conversation repeats, employees' answers and
-- self-service sessions included, since each cost the channel as much as any other. Cost per contact
-- = the channel's monthly cost in force for the month (core.dim_channel_costs, effective-dated) ÷ its
-- contacts in the month. A thin mart over core.fct_feedback_monthly.
-- Columns: transforms/sql/marts/channel_monthly.yml.

with

feedback as (
    select * from core.fct_feedback_monthly
),

channels as (
    select * from core.dim_channels
),

channel_costs as (
    select * from core.dim_channel_costs
),

months as (
    select distinct report_month from feedback
),

contact_figures as (
    select
        report_month,
        channel_id,
        sum(contacts_count)::bigint as contacts_count,
        sum(items_count)::bigint as items_count,
        sum(conversation_repeats_count)::bigint as conversation_repeats_count,
        sum(items_count) filter (where kind = 'complaint')::bigint as complaints_count,
        sum(items_count) filter (where kind = 'wish')::bigint as wishes_count,
        sum(items_count) filter (where kind = 'thanks')::bigint as thanks_count,
        sum(items_count) filter (where kind = 'question')::bigint as questions_count,
        sum(items_count) filter (where kind = 'other')::bigint as other_count,
        sum(items_count) filter (where kind = 'unclassified')::bigint as unclassified_count,
        sum(self_service_sessions_count)::bigint as self_service_sessions_count,
        sum(self_service_resolved_count)::bigint as self_service_resolved_count
    from feedback
    group by all
),

grid as (
    select
        months.report_month,
        channels.channel_id,
        channels.display_name,
        channels.audience
    from months
    cross join channels
    where channels.entity = 'feedback' and channels.is_enabled
    union
    select
        contact_figures.report_month,
        channels.channel_id,
        channels.display_name,
        channels.audience
    from contact_figures
    inner join channels
        on contact_figures.channel_id = channels.channel_id
),

month_totals as (
    select
        report_month,
        sum(contacts_count)::bigint as month_contacts_count
    from contact_figures
    group by all
),

counted as (
    select
        grid.*,
        coalesce(columns(contact_figures.* exclude (report_month, channel_id)), 0),
        month_totals.month_contacts_count
    from grid
    left join contact_figures
        on
            grid.report_month = contact_figures.report_month
            and grid.channel_id = contact_figures.channel_id
    left join month_totals
        on grid.report_month = month_totals.report_month
),

final as (
    select
        -- grain
        counted.report_month,
        counted.channel_id,
        counted.display_name,
        counted.audience,

        -- volume
        counted.contacts_count,
        counted.items_count,
        counted.conversation_repeats_count,
        counted.complaints_count,
        counted.wishes_count,
        counted.thanks_count,
        counted.questions_count,
        counted.other_count,
        counted.unclassified_count,
        counted.self_service_sessions_count,
        counted.self_service_resolved_count,
        counted.month_contacts_count,
        share(counted.contacts_count, counted.month_contacts_count) as contact_share,
        is_small_sample(counted.month_contacts_count) as is_contact_share_small_sample,

        -- cost
        channel_costs.monthly_cost_rub,
        channel_costs.valid_from as cost_valid_from,
        channel_costs.monthly_cost_rub / nullif(counted.contacts_count, 0) as cost_per_contact_rub,
        is_small_sample(counted.contacts_count) as is_cost_per_contact_small_sample

    from counted
    left join channel_costs
        on
            counted.channel_id = channel_costs.channel_id
            and counted.report_month >= channel_costs.valid_from
            and (channel_costs.valid_to is null or counted.report_month < channel_costs.valid_to)
)

select * from final
