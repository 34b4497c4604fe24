-- table: core.fct_sla_events
-- severity: critical
-- why: every started cycle of core.fct_case_sla activates exactly once, and a breach is logged once
-- per_key: case_id
-- A missing or doubled activation (or breach) means alerts would fire never or twice for a transition.
-- Returns the cycles whose log disagrees with the facts. A cycle that starts after the build's clock
-- (an event up to 10 minutes ahead of as_of is staged: clocks of sources drift) has not started as of
-- it: the log holds events up to as_of only, so such a cycle is judged by the next build.

select
    case_sla.case_id,
    case_sla.sla_policy_id,
    case_sla.cycle_number,
    count(*) filter (where events.sla_event = 'activate') as activations,
    count(*) filter (where events.sla_event = 'breach') as breaches,
    any_value(case_sla.is_breached) as is_breached
from core.fct_case_sla as case_sla
left join core.fct_sla_events as events
    on
        case_sla.case_id = events.case_id
        and case_sla.sla_policy_id = events.sla_policy_id
        and case_sla.cycle_number = events.cycle_number
where
    case_sla.is_measured
    and case_sla.started_at <= coalesce(getvariable('as_of'), case_sla.started_at)
group by case_sla.case_id, case_sla.sla_policy_id, case_sla.cycle_number
having
    count(*) filter (where events.sla_event = 'activate') <> 1
    or count(*) filter (where events.sla_event = 'breach') <> any_value(case_sla.is_breached)::int
