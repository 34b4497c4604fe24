-- dim_channels: one row per channel in the registry, plus the 'unknown' member.
-- Grain: channel_id. Built from staging.stg_config__channels (transforms/channels/channels.yaml).
-- audience: whose words the channel carries, 'customer' or 'employee' (the pulse survey, for eNPS).

with

channels as (
    select * from staging.stg_config__channels
),

missing_member as (
    select
        'unknown' as channel_id,
        'Неизвестный канал' as display_name,
        'feedback' as entity,
        null as format,
        null as schedule_group,
        'UTC' as timezone,
        'none' as score_scale,
        'none' as question_type,
        'customer' as audience,
        null::bigint as expected_cadence_hours,
        false as is_enabled
),

final as (
    select
        channel_id,
        display_name,
        entity,
        format,
        schedule_group,
        timezone,
        score_scale,
        question_type,
        audience,
        expected_cadence_hours,
        is_enabled
    from channels
    union all
    select * from missing_member
)

select * from final
