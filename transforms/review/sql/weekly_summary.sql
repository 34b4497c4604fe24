-- weekly_summary: one row: the directorate's week ('all' = the company) against the week before.
-- Items count each cross-channel conversation once (as the marts do); cases are those opened in the
-- week (current owner); SLA clocks are those started in the week. Weeks are ISO weeks, local time.

with

feedback as (
    select
        *,
        timezone(getvariable('review_timezone'), received_at) as received_local
    from core.fct_feedback
    where not is_conversation_repeat
        and getvariable('review_directorate_id') in ('all', directorate_id)
),

case_sla as (
    select * from core.fct_case_sla
    where getvariable('review_directorate_id') in ('all', directorate_id)
        and timezone(getvariable('review_timezone'), started_at) >= getvariable('review_start')
        and timezone(getvariable('review_timezone'), started_at) < getvariable('review_end')
),

this_week as (
    select
        count(*) as items_count,
        count(*) filter (where kind = 'complaint') as complaints_count,
        count(*) filter (where question_type = 'nps' and nps_group is not null) as nps_answers_count,
        100 * (
            count(*) filter (where question_type = 'nps' and nps_group = 'promoter')
            - count(*) filter (where question_type = 'nps' and nps_group = 'detractor')
        ) / nullif(count(*) filter (where question_type = 'nps' and nps_group is not null), 0) as nps
    from feedback
    where received_local >= getvariable('review_start') and received_local < getvariable('review_end')
),

previous_week as (
    select
        count(*) as previous_items_count,
        count(*) filter (where kind = 'complaint') as previous_complaints_count
    from feedback
    where received_local >= getvariable('review_previous_start') and received_local < getvariable('review_start')
),

sla as (
    select
        count(*) filter (where sla_state in ('achieved', 'breached', 'open_breached')) as sla_measured_count,
        count(*) filter (where is_breached) as sla_breached_count
    from case_sla
),

final as (
    select
        getvariable('review_directorate_id') as directorate_id,
        this_week.items_count,
        previous_week.previous_items_count,
        this_week.complaints_count,
        previous_week.previous_complaints_count,
        this_week.nps_answers_count,
        this_week.nps,
        sla.sla_measured_count,
        sla.sla_breached_count
    from this_week
    cross join previous_week
    cross join sla
)

select * from final
