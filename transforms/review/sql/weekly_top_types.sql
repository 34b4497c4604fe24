-- weekly_top_types: the week's most complained-about feedback types of the directorate, with the
-- week before beside them. Grain: feedback_type_id (at most review_top_types rows).

with

complaints as (
    select
        *,
        timezone(getvariable('review_timezone'), received_at) as received_local
    from core.fct_feedback
    where kind = 'complaint'
        and not is_conversation_repeat
        and getvariable('review_directorate_id') in ('all', directorate_id)
),

feedback_types as (
    select * from core.dim_feedback_types
),

counts as (
    select
        feedback_type_id,
        count(*) filter (
            where received_local >= getvariable('review_start') and received_local < getvariable('review_end')
        ) as complaints_count,
        count(*) filter (
            where received_local >= getvariable('review_previous_start')
            and received_local < getvariable('review_start')
        ) as previous_complaints_count
    from complaints
    group by all
),

final as (
    select
        getvariable('review_directorate_id') as directorate_id,
        counts.feedback_type_id,
        coalesce(feedback_types.label, counts.feedback_type_id) as feedback_type_label,
        counts.complaints_count,
        counts.previous_complaints_count,
        counts.complaints_count - counts.previous_complaints_count as complaints_change
    from counts
    left join feedback_types
        on feedback_types.feedback_type_id = counts.feedback_type_id
    where counts.complaints_count > 0
    order by counts.complaints_count desc, counts.feedback_type_id
    limit getvariable('review_top_types')
)

select * from final
