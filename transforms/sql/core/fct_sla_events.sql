-- fct_sla_events: the SLA event log, one row per thing that happened to a clock cycle: 'activate' (the
-- cycle started), 'pause' / 'resume' (kept transitions), 'breach' (the due time passed unfulfilled,
-- logged at the due time, once as_of has reached it) and 'fulfill' (the stop event).
-- Grain: (case_id, sla_policy_id, cycle_number, sla_event_number). Alerts read transitions from here.

with

marks as (
    select * from core.int_sla_clock_marks
),

case_sla as (
    select * from core.fct_case_sla
),

logged as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        mark as sla_event,
        mark_at as event_at
    from marks
    -- every mark but the cycle's 'as_of' end (the others: 'activate', 'pause', 'resume', 'fulfill'). Not
    -- written as that list: its low estimate made DuckDB hash every mark of the table to pick a scoped
    -- rebuild's few by row id (warehouse/scoped_build.py), twice the time of the whole model
    where
        mark <> 'as_of'
        and mark_at <= getvariable('as_of')
    union all
    select
        case_id,
        sla_policy_id,
        cycle_number,
        'breach' as sla_event,
        due_at as event_at
    from case_sla
    where is_breached
),

final as (
    select
        logged.case_id,
        logged.sla_policy_id,
        logged.cycle_number,
        row_number() over (
            partition by logged.case_id, logged.sla_policy_id, logged.cycle_number
            -- events of one instant in one order at every build: the start first, the stop last, a pause
            -- before a resume, then by name
            order by
                logged.event_at,
                logged.sla_event = 'fulfill',
                logged.sla_event <> 'activate',
                logged.sla_event = 'resume',
                logged.sla_event
        ) as sla_event_number,
        logged.sla_event,
        logged.event_at,
        case_sla.directorate_id,
        case_sla.department_id,
        case_sla.manager_id,
        date_trunc('month', timezone(getvariable('reporting_timezone'), logged.event_at))::date as event_month
    from logged
    inner join case_sla
        on
            logged.case_id = case_sla.case_id
            and logged.sla_policy_id = case_sla.sla_policy_id
            and logged.cycle_number = case_sla.cycle_number
)

select * from final
