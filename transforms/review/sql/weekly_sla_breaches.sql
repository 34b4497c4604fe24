-- weekly_sla_breaches: SLA clocks started in the week, per policy: measured (decided) and breached.
-- Grain: sla_policy_id. A breach counts the moment it happens, open or not (docs/metrics.md).

with

case_sla as (
    select * from core.fct_case_sla
    where getvariable('review_directorate_id') in ('all', directorate_id)
        and timezone(getvariable('review_timezone'), started_at) >= getvariable('review_start')
        and timezone(getvariable('review_timezone'), started_at) < getvariable('review_end')
),

final as (
    select
        getvariable('review_directorate_id') as directorate_id,
        sla_policy_id,
        count(*) filter (where sla_state in ('achieved', 'breached', 'open_breached')) as measured_count,
        count(*) filter (where is_breached) as breached_count,
        count(*) filter (where sla_state = 'achieved')
        / nullif(count(*) filter (where sla_state in ('achieved', 'breached', 'open_breached')), 0)
            as compliance_rate
    from case_sla
    group by all
    order by sla_policy_id
)

select * from final
