-- channel_freshness: one row per enabled channel: when its last item and its last file arrived,
-- and whether it has been silent longer than its expected cadence (like dbt's source freshness).
-- Grain: channel_id. Judged against the run's as_of, so a replay gives the same verdict.

with

channels as (
    select * from core.dim_channels
    where channel_id <> 'unknown' and is_enabled
),

deliveries as (
    select * from core.fct_channel_deliveries
),

final as (
    select
        channels.channel_id,
        channels.display_name,
        channels.schedule_group,
        channels.expected_cadence_hours,
        coalesce(deliveries.batches_count, 0) as batches_count,
        deliveries.last_loaded_at,
        deliveries.last_item_at,
        round(
            epoch(getvariable('as_of') - coalesce(deliveries.last_item_at, deliveries.last_loaded_at)) / 3600, 1
        ) as silent_hours,
        coalesce(
            epoch(getvariable('as_of') - coalesce(deliveries.last_item_at, deliveries.last_loaded_at)) / 3600
            > channels.expected_cadence_hours,
            true
        ) as is_stale
    from channels
    left join deliveries
        on channels.channel_id = deliveries.channel_id
)

select * from final
