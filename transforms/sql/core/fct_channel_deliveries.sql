-- fct_channel_deliveries: what each channel has delivered: its batches and its latest item.
-- Grain: channel_id (channels that delivered at least one batch or item). It reads raw and staging on
-- purpose: freshness is about the sources, before any business rule (marts.channel_freshness).

with

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
    select
        channel_id,
        max(received_at) as last_item_at
    from staging.stg_channels__feedback
    group by all
    union all
    select
        split_part(_batch_id, ':', 1),
        max(event_at)
    from staging.stg_crm__case_events
    group by all
),

last_items as (
    select
        channel_id,
        max(last_item_at) as last_item_at
    from items
    group by all
),

final as (
    select
        coalesce(batches.channel_id, last_items.channel_id) as channel_id,
        coalesce(batches.batches_count, 0) as batches_count,
        batches.last_loaded_at,
        last_items.last_item_at
    from batches
    full outer join last_items
        on batches.channel_id = last_items.channel_id
)

select * from final
