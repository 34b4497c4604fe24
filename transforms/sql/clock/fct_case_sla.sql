-- fct_case_sla at a later clock, for the cases the clock alone moved (warehouse/scoped_build.py,
-- ADVANCE_CASES), from _old, the rows the last build wrote for the cases of _advance(k), and the cycles'
-- marks already moved to this clock (transforms/sql/clock/int_sla_clock_marks.sql). A case with a cycle
-- open and paused is computed by the model instead (transforms/incremental.py): the projection of its due
-- and at-risk times starts at the clock. Of a cycle open and running, only the times that run to the clock
-- and its state move; its due_at and at_risk_at lie in a running segment that the clock does not move (the
-- first that runs past the threshold, or the last, from its start). Closed and never-started cycles are as
-- they were. Each figure is the model's own expression (transforms/sql/core/fct_case_sla.sql), so the rows
-- are the model's, by tests/transforms/sql/clock/test_clock_advance.py.

with

old_cycles as (
    select * from _old
    where case_id in (select k from _advance)
),

clocks as (
    select
        case_id,
        sla_policy_id,
        round((1 - at_risk_share) * target_minutes * 60000000)::bigint as risk_us
    from core.int_sla_clocks
    where rowid in (
        select advanced.rowid
        from core.int_sla_clocks as advanced
        where advanced.case_id in (select k from _advance)
    )
),

marks as (
    select * from core.int_sla_clock_marks
    where rowid in (
        select advanced.rowid
        from core.int_sla_clock_marks as advanced
        where advanced.case_id in (select k from _advance)
    )
),

cycle_totals as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        max(mark_at) filter (where mark in ('fulfill', 'as_of')) as ended_at,
        coalesce(sum(segment_working_us) filter (where mark in ('activate', 'resume')), 0) as running_us,
        coalesce(sum(segment_working_us) filter (where mark = 'pause'), 0) as paused_us
    from marks
    group by all
),

open_cycles as (
    select
        old_cycles.case_id,
        old_cycles.sla_policy_id,
        old_cycles.cycle_number,
        cycle_totals.running_us / 60e6 as elapsed_minutes,
        (epoch_us(cycle_totals.ended_at) - epoch_us(old_cycles.started_at)) / 60e6 as calendar_elapsed_minutes,
        cycle_totals.paused_us / 60e6 as paused_minutes,
        sla_state(
            getvariable('as_of'),
            old_cycles.started_at,
            old_cycles.achieved_at,
            old_cycles.due_at,
            cycle_totals.running_us,
            clocks.risk_us
        ) as sla_state
    from old_cycles
    inner join cycle_totals
        on
            old_cycles.case_id = cycle_totals.case_id
            and old_cycles.sla_policy_id = cycle_totals.sla_policy_id
            and old_cycles.cycle_number = cycle_totals.cycle_number
    inner join clocks
        on
            old_cycles.case_id = clocks.case_id
            and old_cycles.sla_policy_id = clocks.sla_policy_id
    where old_cycles.started_at is not null and old_cycles.achieved_at is null
),

final as (
    select
        old_cycles.* replace (
            if(open_cycles.case_id is null, old_cycles.elapsed_minutes, open_cycles.elapsed_minutes)
                as elapsed_minutes,
            if(
                open_cycles.case_id is null,
                old_cycles.calendar_elapsed_minutes,
                open_cycles.calendar_elapsed_minutes
            ) as calendar_elapsed_minutes,
            if(open_cycles.case_id is null, old_cycles.paused_minutes, open_cycles.paused_minutes)
                as paused_minutes,
            if(open_cycles.case_id is null, old_cycles.sla_state, open_cycles.sla_state) as sla_state,
            if(open_cycles.case_id is null, old_cycles.is_breached, open_cycles.sla_state = 'open_breached')
                as is_breached
        )
    from old_cycles
    left join open_cycles
        on
            old_cycles.case_id = open_cycles.case_id
            and old_cycles.sla_policy_id = open_cycles.sla_policy_id
            and old_cycles.cycle_number = open_cycles.cycle_number
)

select * from final
