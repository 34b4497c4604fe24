-- dim_managers: one row per manager of the org structure, plus 'unassigned'.
-- Grain: manager_id. Source: transforms/org/org.yaml. A manager belongs to a department and through it
-- to a directorate ('unassigned' when either is unknown); valid_from / valid_to (inclusive, null =
-- open) say when they held the post. Facts map an unknown manager to 'unassigned'.

with

managers as (
    select * from staging.stg_config__managers
),

departments as (
    select * from core.dim_departments
),

final as (
    select
        managers.manager_id,
        managers.manager_name,
        coalesce(departments.department_id, 'unassigned') as department_id,
        coalesce(departments.directorate_id, 'unassigned') as directorate_id,
        managers.valid_from,
        managers.valid_to
    from managers
    left join departments
        on managers.department_id = departments.department_id
    union all
    select
        'unassigned',
        'Не распределено',
        'unassigned',
        'unassigned',
        null,
        null
)

select * from final
