-- weekly_type_complaints: the customers' complaints per week, directorate ('all' = the company) and
-- feedback type, with the week before beside them and how many customers and channels they came from.
-- The weekly review lists the top types and the systemic errors (many complaints from several
-- customers; thresholds in transforms/review/review.yaml) from it.
-- Grain: (week_start, directorate_id, feedback_type_id): pairs with complaints this week or the week
-- before. Weeks are ISO weeks of the reporting timezone. Columns:
-- transforms/sql/marts/weekly_type_complaints.yml.

with

feedback as (
    select
        *,
        date_trunc('week', timezone(getvariable('reporting_timezone'), received_at))::date as week_start
    from core.fct_feedback
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
        week_start,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        known_type_id as feedback_type_id,
        count(*) as complaints_count,
        -- an item without a customer key is its own customer
        count(distinct coalesce(customer_key, feedback_id)) as customers_count,
        count(distinct channel_id) as channels_count
    from complaints
    group by grouping sets ((week_start, directorate_id, known_type_id), (week_start, known_type_id))
),

pairs as (
    select
        week_start,
        directorate_id,
        feedback_type_id
    from counts
    union
    select
        week_start + interval 7 day,
        directorate_id,
        feedback_type_id
    from counts
),

final as (
    select
        pairs.week_start::date as week_start,
        pairs.directorate_id,
        pairs.feedback_type_id,
        coalesce(feedback_types.label, pairs.feedback_type_id) as feedback_type_label,
        coalesce(this_week.complaints_count, 0) as complaints_count,
        coalesce(previous_week.complaints_count, 0) as previous_complaints_count,
        coalesce(this_week.complaints_count, 0) - coalesce(previous_week.complaints_count, 0) as complaints_change,
        coalesce(this_week.customers_count, 0) as customers_count,
        coalesce(this_week.channels_count, 0) as channels_count
    from pairs
    left join counts as this_week
        on
            pairs.week_start = this_week.week_start
            and pairs.directorate_id = this_week.directorate_id
            and pairs.feedback_type_id = this_week.feedback_type_id
    left join counts as previous_week
        on
            previous_week.week_start = pairs.week_start - interval 7 day
            and pairs.directorate_id = previous_week.directorate_id
            and pairs.feedback_type_id = previous_week.feedback_type_id
    left join feedback_types
        on pairs.feedback_type_id = feedback_types.feedback_type_id
)

select * from final
