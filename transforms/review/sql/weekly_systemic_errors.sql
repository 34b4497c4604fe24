-- weekly_systemic_errors: complaint types that came from several customers in the week (not one
-- customer writing many times): at least review_systemic_min_complaints complaints from at least
-- review_systemic_min_customers customers (transforms/review/review.yaml). Grain: feedback_type_id.

with

complaints as (
    select * from core.fct_feedback
    where kind = 'complaint'
        and not is_conversation_repeat
        and getvariable('review_directorate_id') in ('all', directorate_id)
        and timezone(getvariable('review_timezone'), received_at) >= getvariable('review_start')
        and timezone(getvariable('review_timezone'), received_at) < getvariable('review_end')
),

feedback_types as (
    select * from core.dim_feedback_types
),

counts as (
    select
        feedback_type_id,
        count(*) as complaints_count,
        -- an item without a customer key is its own customer
        count(distinct coalesce(customer_key, feedback_id)) as customers_count,
        count(distinct channel_id) as channels_count
    from complaints
    group by all
),

final as (
    select
        getvariable('review_directorate_id') as directorate_id,
        counts.feedback_type_id,
        coalesce(feedback_types.label, counts.feedback_type_id) as feedback_type_label,
        counts.complaints_count,
        counts.customers_count,
        counts.channels_count
    from counts
    left join feedback_types
        on feedback_types.feedback_type_id = counts.feedback_type_id
    where counts.complaints_count >= getvariable('review_systemic_min_complaints')
        and counts.customers_count >= getvariable('review_systemic_min_customers')
    order by counts.complaints_count desc, counts.feedback_type_id
)

select * from final
