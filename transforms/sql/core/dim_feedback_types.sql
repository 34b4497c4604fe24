-- dim_feedback_types: one row per taxonomy type, plus 'unclassified' (owned by 'unassigned').
-- Grain: feedback_type_id. Source: transforms/taxonomy/feedback_types.csv.

with

feedback_types as (
    select * from staging.stg_config__feedback_types
),

final as (
    select feedback_type_id, label, directorate_id, department_id, valid_from from feedback_types
    union all
    select 'unclassified', 'Не классифицировано', 'unassigned', null, date '2000-01-01'
)

select * from final
