-- dim_directorates: one row per directorate of the org structure, plus 'unassigned'.
-- Grain: directorate_id. Facts map an unknown owner to 'unassigned' so that no item leaves a join.

with

directorates as (
    select * from staging.stg_config__directorates
),

final as (
    select
        directorate_id,
        directorate_name,
        head_name
    from directorates
    union all
    select
        'unassigned',
        'Не распределено',
        null
)

select * from final
