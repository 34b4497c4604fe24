-- dim_stores: one row per store of the org structure, with its current manager, plus 'unknown'.
-- Grain: store_id. Source: transforms/org/org.yaml (manager_id is the current manager; who managed a
-- store when is applied when items are routed). An item naming a store that org.yaml does not know
-- counts for 'unknown', which belongs to no manager ('unassigned').

with

stores as (
    select * from staging.stg_config__stores
),

managers as (
    select * from core.dim_managers
),

final as (
    select
        stores.store_id,
        stores.store_name,
        stores.region,
        coalesce(managers.manager_id, 'unassigned') as manager_id,
        coalesce(managers.manager_name, 'Не распределено') as manager_name,
        coalesce(managers.department_id, 'unassigned') as department_id,
        coalesce(managers.directorate_id, 'unassigned') as directorate_id,
        stores.valid_from,
        stores.valid_to
    from stores
    left join managers
        on stores.manager_id = managers.manager_id
    union all
    select
        'unknown',
        'Неизвестный магазин',
        null,
        'unassigned',
        'Не распределено',
        'unassigned',
        'unassigned',
        null,
        null
)

select * from final
