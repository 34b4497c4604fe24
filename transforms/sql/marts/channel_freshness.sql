-- channel_freshness: one row per enabled channel: when its last item and its last file arrived,
-- and whether it has been silent longer than its expected cadence (like dbt's source freshness).
-- Grain: channel_id. Judged against the run's as_of, so a replay gives the same verdict. It reads
-- raw and staging on purpose: freshness is about the sources, before any business rule.

with

channels as (
    select * from core.dim_channels
    where channel_id <> 'unknown' and is_enabled
),

batches as (
    select
        channel_id,
        count(*) as batches_count,
        max(loaded_at) as last_loaded_at
    from raw.batches
    group by all
),

-- the batch id starts with the channel id ('<channel_id>:<hash>'), for entities that carry no channel
items as (
    select channel_id, max(received_at) as last_item_at from staging.stg_channels__feedback group by all
    union all
    select split_part(_batch_id, ':', 1), max(event_at) from staging.stg_crm__case_events group by all
),

last_items as (
    select channel_id, max(last_item_at) as last_item_at from items group by all
),

final as (
    select
        channels.channel_id,
        channels.display_name,
        channels.schedule_group,
        channels.expected_cadence_hours,
        coalesce(batches.batches_count, 0) as batches_count,
        batches.last_loaded_at,
        last_items.last_item_at,
        round(
            epoch(getvariable('as_of') - coalesce(last_items.last_item_at, batches.last_loaded_at)) / 3600, 1
        ) as silent_hours,
        coalesce(
            epoch(getvariable('as_of') - coalesce(last_items.last_item_at, batches.last_loaded_at)) / 3600
            > channels.expected_cadence_hours,
            true
        ) as is_stale
    from channels
    left join batches
        on batches.channel_id = channels.channel_id
    left join last_items
        on last_items.channel_id = channels.channel_id
)

select * from final
