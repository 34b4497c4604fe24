-- fct_case_sla at a later clock, for the cases the clock alone moved (warehouse/scoped_build.py,
-- ADVANCE_CASES), from _old, the rows the last build wrote for the cases of _advance(k), and the cycles'
-- marks already moved to this clock (transforms/sql/clock/int_sla_clock_marks.sql). Of a cycle open and
-- running, only the times that run to the clock and its state move; its due_at and at_risk_at lie in a
-- running segment that the clock does not move (the first that runs past the threshold, or the last, from its
-- start). Of a cycle open and paused, the times that run to the clock, its state, and a threshold its running
-- segments have not passed: the model projects it as running from the cycle's end, the clock, so it lies at
-- the clock's position plus what is left (the segments it has passed keep it where it was). Closed and
-- never-started cycles are as they were. Each figure is the model's own expression
-- (transforms/sql/core/fct_case_sla.sql), so the rows are the model's, by
-- tests/transforms/sql/clock/test_clock_advance.py.

with

old_cycles as (
    select * from _old
    where case_id in (select k from _advance)
),

clocks as (
    select
        case_id,
        sla_policy_id,
        target_minutes::bigint * 60000000 as target_us,
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
        coalesce(sum(segment_working_us) filter (where mark = 'pause'), 0) as paused_us,
        any_value(calendar_id) as calendar_id,
        max(position_us) filter (where mark = 'as_of') as end_position_us
    from marks
    group by all
),

-- the model's intervals for the inverse lookup (position -> instant)
intervals as (
    select * from core.int_sla_calendar_intervals
    where working_us > 0
),

-- a paused open cycle's thresholds that its running segments have not passed, projected from its end: the
-- model's due and at-risk positions (its last candidate segment, the end, with the running time before it)
paused_positions as (
    select
        old_cycles.case_id,
        old_cycles.sla_policy_id,
        old_cycles.cycle_number,
        cycle_totals.calendar_id,
        if(
            cycle_totals.running_us > clocks.target_us,
            null,
            cycle_totals.end_position_us + clocks.target_us - cycle_totals.running_us
        ) as due_position_us,
        if(
            cycle_totals.running_us > clocks.risk_us,
            null,
            cycle_totals.end_position_us + clocks.risk_us - cycle_totals.running_us
        ) as risk_position_us
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
    where old_cycles.is_paused
),

paused_thresholds as (
    select
        paused_positions.*,
        due_intervals.start_at
        + to_microseconds((paused_positions.due_position_us - due_intervals.working_us_before)::bigint) as due_at,
        risk_intervals.start_at
        + to_microseconds((paused_positions.risk_position_us - risk_intervals.working_us_before)::bigint)
            as at_risk_at
    from paused_positions
    asof left join intervals as due_intervals
        on
            paused_positions.calendar_id = due_intervals.calendar_id
            and paused_positions.due_position_us >= due_intervals.working_us_before
    asof left join intervals as risk_intervals
        on
            paused_positions.calendar_id = risk_intervals.calendar_id
            and paused_positions.risk_position_us >= risk_intervals.working_us_before
),

open_cycles as (
    select
        old_cycles.case_id,
        old_cycles.sla_policy_id,
        old_cycles.cycle_number,
        cycle_totals.running_us / 60e6 as elapsed_minutes,
        (epoch_us(cycle_totals.ended_at) - epoch_us(old_cycles.started_at)) / 60e6 as calendar_elapsed_minutes,
        cycle_totals.paused_us / 60e6 as paused_minutes,
        if(paused_thresholds.due_position_us is null, old_cycles.due_at, paused_thresholds.due_at) as due_at,
        if(paused_thresholds.risk_position_us is null, old_cycles.at_risk_at, paused_thresholds.at_risk_at)
            as at_risk_at,
        cycle_totals.running_us,
        clocks.risk_us
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
    left join paused_thresholds
        on
            old_cycles.case_id = paused_thresholds.case_id
            and old_cycles.sla_policy_id = paused_thresholds.sla_policy_id
            and old_cycles.cycle_number = paused_thresholds.cycle_number
    where old_cycles.started_at is not null and old_cycles.achieved_at is null
),

judged_cycles as (
    select
        open_cycles.* exclude (running_us, risk_us),
        sla_state(
            getvariable('as_of'),
            old_cycles.started_at,
            old_cycles.achieved_at,
            open_cycles.due_at,
            open_cycles.running_us,
            open_cycles.risk_us
        ) as sla_state
    from open_cycles
    inner join old_cycles
        on
            open_cycles.case_id = old_cycles.case_id
            and open_cycles.sla_policy_id = old_cycles.sla_policy_id
            and open_cycles.cycle_number = old_cycles.cycle_number
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
            if(open_cycles.case_id is null, old_cycles.due_at, open_cycles.due_at) as due_at,
            if(open_cycles.case_id is null, old_cycles.at_risk_at, open_cycles.at_risk_at) as at_risk_at,
            if(open_cycles.case_id is null, old_cycles.sla_state, open_cycles.sla_state) as sla_state,
            if(open_cycles.case_id is null, old_cycles.is_breached, open_cycles.sla_state = 'open_breached')
                as is_breached
        )
    from old_cycles
    left join judged_cycles as open_cycles
        on
            old_cycles.case_id = open_cycles.case_id
            and old_cycles.sla_policy_id = open_cycles.sla_policy_id
            and old_cycles.cycle_number = open_cycles.cycle_number
)

select * from final
