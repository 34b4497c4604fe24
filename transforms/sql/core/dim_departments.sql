-- dim_departments: one row per department of the org structure, plus 'unassigned'.
-- Grain: department_id. Source: transforms/org/org.yaml. A department whose directorate is not in
-- core.dim_directorates belongs to 'unassigned'; valid_from / valid_to (inclusive, null = open) say
-- when it existed. Facts map an unknown department to 'unassigned' so that no item leaves a join.

with

departments as (
    select * from staging.stg_config__departments
),

directorates as (
    select * from core.dim_directorates
),

final as (
    select
        departments.department_id,
        departments.department_name,
        coalesce(directorates.directorate_id, 'unassigned') as directorate_id,
        departments.valid_from,
        departments.valid_to
    from departments
    left join directorates
        on departments.directorate_id = directorates.directorate_id
    union all
    select
        'unassigned',
        'Не распределено',
        'unassigned',
        null,
        null
)

select * from final
