-- fct_case_sla: one SLA clock per (case_id, sla_policy_id), for every policy whose rule was in force
-- on the day the case opened (reporting timezone), judged against getvariable('as_of') while open.
-- Never drops a case: without its start event it is 'not_started'; a stop before the start is flagged
-- in clock_violation and the clock runs to the first stop at or after the start.

with

case_events as (
    select * from staging.stg_crm__case_events
),

sla_policies as (
    select * from staging.stg_config__sla_policies
),

cases as (
    select * from core.fct_cases
),

case_first_events as (
    select
        case_id,
        min(event_at) as first_event_at
    from case_events
    group by case_id
),

case_anchors as (
    select
        cases.*,
        timezone(
            getvariable('reporting_timezone'),
            coalesce(cases.opened_at, case_first_events.first_event_at)
        )::date as anchor_date
    from cases
    inner join case_first_events
        on case_first_events.case_id = cases.case_id
),

case_rules as (
    select
        case_anchors.*,
        sla_policies.sla_policy_id,
        sla_policies.valid_from as rule_valid_from,
        sla_policies.start_event,
        sla_policies.stop_event,
        sla_policies.target_minutes,
        sla_policies.calendar_id,
        sla_policies.at_risk_share
    from case_anchors
    inner join sla_policies
        on sla_policies.valid_from <= case_anchors.anchor_date
        and (sla_policies.valid_to is null or case_anchors.anchor_date < sla_policies.valid_to)
),

clock_starts as (
    select
        case_rules.case_id,
        case_rules.sla_policy_id,
        case_rules.stop_event,
        min(case_events.event_at) as started_at
    from case_rules
    left join case_events
        on case_events.case_id = case_rules.case_id
        and case_events.event_type = case_rules.start_event
    group by all
),

clock_stops as (
    select
        clock_starts.case_id,
        clock_starts.sla_policy_id,
        clock_starts.started_at,
        min(case_events.event_at) filter (
            where case_events.event_at >= clock_starts.started_at
        ) as achieved_at,
        min(case_events.event_at) as first_stop_at
    from clock_starts
    left join case_events
        on case_events.case_id = clock_starts.case_id
        and case_events.event_type = clock_starts.stop_event
    group by all
),

clocks as (
    select
        case_rules.*,
        clock_stops.started_at,
        clock_stops.achieved_at,
        case
            when clock_stops.first_stop_at < clock_stops.started_at then 'stop_before_start'
        end as clock_violation
    from case_rules
    inner join clock_stops
        on clock_stops.case_id = case_rules.case_id
        and clock_stops.sla_policy_id = case_rules.sla_policy_id
),

-- Every calendar is round-the-clock: policies.py admits no other calendar kind yet.
timed as (
    select
        *,
        started_at + to_minutes(target_minutes) as due_at,
        (epoch(coalesce(achieved_at, getvariable('as_of'))) - epoch(started_at)) / 60 as elapsed_minutes
    from clocks
),

judged as (
    select
        *,
        case
            when started_at is null then 'not_started'
            when achieved_at <= due_at then 'achieved'
            when achieved_at is not null then 'breached'
            when getvariable('as_of') > due_at then 'open_breached'
            when epoch(due_at) - epoch(getvariable('as_of')) < at_risk_share * target_minutes * 60
                then 'at_risk'
            else 'open_ok'
        end as sla_state
    from timed
),

final as (
    select
        -- ids
        case_id,
        sla_policy_id,
        rule_valid_from,
        directorate_id,
        department_id,
        manager_id,
        priority,

        -- timestamps (UTC)
        started_at,
        due_at,
        achieved_at,

        -- sla
        calendar_id,
        target_minutes,
        elapsed_minutes,
        sla_state,
        started_at is not null as is_measured,
        -- a breach counts from the moment the due time passes, closed or not
        sla_state in ('breached', 'open_breached') as is_breached,
        clock_violation,

        -- months (reporting timezone): the clock's start, or the anchor day when never started
        date_trunc(
            'month',
            coalesce(timezone(getvariable('reporting_timezone'), started_at)::date, anchor_date)
        )::date as report_month

    from judged
)

select * from final
