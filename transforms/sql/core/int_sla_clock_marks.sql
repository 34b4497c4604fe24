-- int_sla_clock_marks: the marks of every started clock cycle, in order: 'activate' (the cycle's start),
-- the kept 'pause'/'resume' transitions, and the cycle's end ('fulfill' at the stop, or 'as_of' while
-- open). Grain: (case_id, sla_policy_id, cycle_number, mark_number). Each mark carries the calendar
-- position (working microseconds of its calendar) of its moment and the working time of the segment it
-- opens. A pause while paused and a resume while running change nothing and are dropped; a stray resume
-- is counted (cycle_stray_resumes) so the violation is reported, not hidden.

with

case_events as (
    select distinct
        case_id,
        event_type,
        event_at
    from staging.stg_crm__case_events
),

clocks as (
    select * from core.int_sla_clocks
),

intervals as (
    select * from core.int_sla_calendar_intervals
),

cycle_starts as (
    select
        case_id,
        sla_policy_id,
        1 as cycle_number,
        started_at as cycle_started_at
    from clocks
    where started_at is not null
    union all
    select
        clocks.case_id,
        clocks.sla_policy_id,
        1 + row_number() over (
            partition by clocks.case_id, clocks.sla_policy_id order by case_events.event_at
        ) as cycle_number,
        case_events.event_at as cycle_started_at
    from clocks
    inner join case_events
        on
            clocks.case_id = case_events.case_id
            and case_events.event_type = 'reopened'
            and clocks.started_at <= case_events.event_at
    where clocks.restart_on_reopen
),

cycle_windows as (
    select
        cycle_starts.*,
        clocks.stop_event,
        clocks.pause_events,
        clocks.resume_events,
        clocks.calendar_id,
        lead(cycle_starts.cycle_started_at) over (
            partition by cycle_starts.case_id, cycle_starts.sla_policy_id order by cycle_starts.cycle_number
        ) as window_end_at
    from cycle_starts
    inner join clocks
        on
            cycle_starts.case_id = clocks.case_id
            and cycle_starts.sla_policy_id = clocks.sla_policy_id
),

-- equi-join first, window filter after: an outer join on the inequalities would be a nested loop
cycle_stops as (
    select
        cycle_windows.case_id,
        cycle_windows.sla_policy_id,
        cycle_windows.cycle_number,
        min(case_events.event_at) as achieved_at
    from cycle_windows
    inner join case_events
        on
            cycle_windows.case_id = case_events.case_id
            and cycle_windows.stop_event = case_events.event_type
    where
        case_events.event_at >= cycle_windows.cycle_started_at
        and (cycle_windows.window_end_at is null or case_events.event_at < cycle_windows.window_end_at)
    group by all
),

cycles as (
    select
        cycle_windows.*,
        cycle_stops.achieved_at
    from cycle_windows
    left join cycle_stops
        on
            cycle_windows.case_id = cycle_stops.case_id
            and cycle_windows.sla_policy_id = cycle_stops.sla_policy_id
            and cycle_windows.cycle_number = cycle_stops.cycle_number
),

pause_events as (
    select
        cycles.case_id,
        cycles.sla_policy_id,
        cycles.cycle_number,
        case_events.event_at as mark_at,
        list_contains(cycles.pause_events, case_events.event_type) as is_pause
    from cycles
    inner join case_events
        on cycles.case_id = case_events.case_id
    where
        case_events.event_at >= cycles.cycle_started_at
        and case_events.event_at < coalesce(cycles.achieved_at, cycles.window_end_at, 'infinity'::timestamptz)
        and list_contains(list_concat(cycles.pause_events, cycles.resume_events), case_events.event_type)
),

toggles as (
    select
        *,
        -- a pause and a resume at the same instant: the pause first, as the marks are numbered below (a
        -- total order: two builds of the same events keep and number the same marks)
        coalesce(
            lag(is_pause) over (partition by case_id, sla_policy_id, cycle_number order by mark_at, not is_pause),
            false
        ) as was_paused
    from pause_events
),

stray_resumes as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        count(*) as cycle_stray_resumes
    from toggles
    where not is_pause and not was_paused
    group by all
),

marks as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        'activate' as mark,
        cycle_started_at as mark_at
    from cycles
    union all
    select
        case_id,
        sla_policy_id,
        cycle_number,
        if(is_pause, 'pause', 'resume'),
        mark_at
    from toggles
    where is_pause <> was_paused
    union all
    select
        case_id,
        sla_policy_id,
        cycle_number,
        if(achieved_at is null, 'as_of', 'fulfill'),
        coalesce(achieved_at, greatest(getvariable('as_of'), cycle_started_at))
    from cycles
),

ordered as (
    select
        marks.*,
        cycles.calendar_id,
        cycles.achieved_at,
        cycles.window_end_at,
        -- the end mark sorts last even when a pause shares its instant, the start first, a pause before a
        -- resume: marks of one instant are numbered alike by every build
        row_number() over (
            partition by marks.case_id, marks.sla_policy_id, marks.cycle_number
            order by marks.mark in ('fulfill', 'as_of'), marks.mark_at, marks.mark <> 'activate', marks.mark = 'resume'
        ) as mark_number,
        -- marks after the cycle's end (events later than as_of) count no time: their moment is clipped
        -- to the cycle's end mark's (its one 'fulfill' or 'as_of' mark, as in marks above)
        least(
            marks.mark_at,
            coalesce(cycles.achieved_at, greatest(getvariable('as_of'), cycles.cycle_started_at))
        ) as clipped_at
    from marks
    inner join cycles
        on
            marks.case_id = cycles.case_id
            and marks.sla_policy_id = cycles.sla_policy_id
            and marks.cycle_number = cycles.cycle_number
),

positioned as (
    select
        ordered.*,
        sla_position_us(
            intervals.working_us_before, intervals.working_us, intervals.start_at, ordered.clipped_at
        ) as position_us
    from ordered
    asof left join intervals
        on
            ordered.calendar_id = intervals.calendar_id
            and ordered.clipped_at >= intervals.start_at
),

final as (
    select
        positioned.case_id,
        positioned.sla_policy_id,
        positioned.cycle_number,
        positioned.mark_number,
        positioned.mark,
        positioned.mark_at,
        positioned.calendar_id,
        positioned.position_us,
        coalesce(
            lead(positioned.position_us) over (
                partition by positioned.case_id, positioned.sla_policy_id, positioned.cycle_number
                order by positioned.mark_number
            ) - positioned.position_us,
            0
        ) as segment_working_us,
        positioned.achieved_at,
        positioned.window_end_at,
        coalesce(stray_resumes.cycle_stray_resumes, 0) as cycle_stray_resumes
    from positioned
    left join stray_resumes
        on
            positioned.case_id = stray_resumes.case_id
            and positioned.sla_policy_id = stray_resumes.sla_policy_id
            and positioned.cycle_number = stray_resumes.cycle_number
)

select * from final
