-- complaints_by_type: complaints per reporting month, directorate and feedback type, over the review's
-- window ($1 = first month, $2 = the month after the last), plus company rows (directorate_id 'all').
-- Frozen with the review so top types and growth points never depend on which marts exist.

with

feedback as (
    select * from core.fct_feedback
    where kind = 'complaint'
        and not is_conversation_repeat
        and received_month >= $1
        and received_month < $2
),

feedback_types as (
    select * from core.dim_feedback_types
),

by_directorate as (
    select
        received_month as report_month,
        directorate_id,
        feedback_type_id,
        count(*) as complaints_count,
        count(distinct customer_key) as customers_count
    from feedback
    group by all
),

company as (
    select
        received_month as report_month,
        'all' as directorate_id,
        feedback_type_id,
        count(*) as complaints_count,
        count(distinct customer_key) as customers_count
    from feedback
    group by all
),

final as (
    select
        counts.report_month,
        counts.directorate_id,
        counts.feedback_type_id,
        coalesce(feedback_types.label, counts.feedback_type_id) as feedback_type_label,
        counts.complaints_count,
        counts.customers_count
    from (select * from by_directorate union all select * from company) as counts
    left join feedback_types
        on feedback_types.feedback_type_id = counts.feedback_type_id
)

select * from final
order by report_month, directorate_id, complaints_count desc, feedback_type_id
