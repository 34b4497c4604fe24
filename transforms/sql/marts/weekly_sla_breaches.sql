-- weekly_sla_breaches: SLA clocks whose cycle started in the week, per directorate ('all' = the
-- company) and policy: measured (decided) and breached. A breach counts the moment it happens, open or
-- not; a clock counts in its first cycle, as in every SLA mart. Grain: (week_start, directorate_id,
-- sla_policy_id), combinations with a clock in the week.
-- Weeks are ISO weeks of the reporting timezone. Columns: transforms/sql/marts/weekly_sla_breaches.yml.

with

clocks as (
    select
        *,
        date_trunc('week', timezone(getvariable('reporting_timezone'), started_at))::date as week_start
    from core.fct_case_sla
    where started_at is not null and cycle_number = 1  -- the cycle compliance judges, as every SLA mart
),

counted as (
    select
        week_start,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sla_policy_id,
        count(*) filter (where sla_state in ('achieved', 'breached', 'open_breached')) as measured_count,
        count(*) filter (where sla_state = 'achieved') as achieved_count,
        count(*) filter (where is_breached) as breached_count
    from clocks
    group by grouping sets ((week_start, directorate_id, sla_policy_id), (week_start, sla_policy_id))
),

final as (
    select
        week_start,
        directorate_id,
        sla_policy_id,
        measured_count,
        breached_count,
        share(achieved_count, measured_count) as compliance_rate,
        is_small_sample(measured_count) as is_small_sample
    from counted
)

select * from final
