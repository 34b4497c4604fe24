-- dim_feedback_types: one row per taxonomy type, plus 'unclassified' (owned by 'unassigned').
-- Grain: feedback_type_id. Source: transforms/taxonomy/feedback_types.csv (valid_to null: still in force).

with

feedback_types as (
    select * from staging.stg_config__feedback_types
),

final as (
    select
        feedback_type_id,
        label,
        name_en,
        default_kind,
        sla_class,
        directorate_id,
        department_id,
        valid_from,
        valid_to
    from feedback_types
    union all
    select
        'unclassified',
        'Не классифицировано',
        'Unclassified',
        'other',
        'standard',
        'unassigned',
        null,
        date '2000-01-01',
        null
)

select * from final
