-- complaints_by_type_monthly: the customers' complaints per month, directorate ('all' = the company)
-- and feedback type, with how many customers they came from: what the monthly review lists as each
-- directorate's top complaint types. Grain: (report_month, directorate_id, feedback_type_id),
-- combinations with a complaint. A thin mart over core.fct_feedback (distinct customers do not add up
-- across rows, so it counts them from the items). Columns: transforms/sql/marts/complaints_by_type_monthly.yml.

with

feedback as (
    select * from core.fct_feedback
    where is_counted_item and kind = 'complaint'
),

feedback_types as (
    select * from core.dim_feedback_types
),

-- a type missing from the taxonomy counts as 'unclassified', as in every feedback mart
complaints as (
    select
        feedback.*,
        coalesce(feedback_types.feedback_type_id, 'unclassified') as known_type_id
    from feedback
    left join feedback_types
        on feedback.feedback_type_id = feedback_types.feedback_type_id
),

counts as (
    select
        received_month as report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        known_type_id as feedback_type_id,
        count(*) as complaints_count,
        -- an item without a customer key is its own customer
        count(distinct coalesce(customer_key, feedback_id)) as customers_count
    from complaints
    group by grouping sets ((received_month, directorate_id, known_type_id), (received_month, known_type_id))
),

final as (
    select
        counts.report_month,
        counts.directorate_id,
        counts.feedback_type_id,
        coalesce(feedback_types.label, counts.feedback_type_id) as feedback_type_label,
        counts.complaints_count,
        counts.customers_count
    from counts
    left join feedback_types
        on counts.feedback_type_id = feedback_types.feedback_type_id
)

select * from final
