-- int_sla_clock_marks at a later clock, for the cases the clock alone moved: each has an open cycle and no
-- mark later than the last build's clock (warehouse/scoped_build.py, ADVANCE_CASES). Read from _old, the
-- marks the last build wrote for the cases of _advance(k). Only two marks of an open cycle move with the clock:
-- its 'as_of' end, now at the build's clock and positioned there as the model positions a mark
-- (transforms/sql/core/int_sla_clock_marks.sql), and the mark before it, whose segment now runs to that
-- position. Every other mark is as it was: none lies after the last clock, so none is clipped at either
-- clock, and a mark's position depends on its own moment alone. The model's own rows, by
-- tests/transforms/sql/clock/test_clock_advance.py.

with

old_marks as (
    select * from _old
    where case_id in (select k from _advance)
),

intervals as (
    select * from core.int_sla_calendar_intervals
),

calendars as (
    select distinct
        calendar_id,
        getvariable('as_of') as clock_at
    from intervals
),

-- the clock's position in each calendar, as the model positions a mark at it. Once per calendar, then joined
-- to the ends: an as-of join of the ends themselves, read from a temporary table of this transaction (no
-- statistics), was planned as a nested loop over every interval (0.9 s at 39,000 open cycles, not 0.06 s)
clock_positions as (
    select
        calendars.calendar_id,
        sla_position_us(
            intervals.working_us_before, intervals.working_us, intervals.start_at, calendars.clock_at
        ) as clock_position_us
    from calendars
    asof left join intervals
        on
            calendars.calendar_id = intervals.calendar_id
            and calendars.clock_at >= intervals.start_at
),

positioned_ends as (
    select
        old_marks.case_id,
        old_marks.sla_policy_id,
        old_marks.cycle_number,
        old_marks.mark_number,
        getvariable('as_of') as end_at,
        -- a calendar without intervals positions every mark at 0, as the model's outer as-of join does
        coalesce(clock_positions.clock_position_us, 0) as end_position_us
    from old_marks
    left join clock_positions
        on old_marks.calendar_id = clock_positions.calendar_id
    where old_marks.mark = 'as_of'
),

final as (
    select
        old_marks.case_id,
        old_marks.sla_policy_id,
        old_marks.cycle_number,
        old_marks.mark_number,
        old_marks.mark,
        if(old_marks.mark = 'as_of', positioned_ends.end_at, old_marks.mark_at) as mark_at,
        old_marks.calendar_id,
        if(old_marks.mark = 'as_of', positioned_ends.end_position_us, old_marks.position_us) as position_us,
        case
            when old_marks.mark = 'as_of' then 0
            when old_marks.mark_number = positioned_ends.mark_number - 1
                then positioned_ends.end_position_us - old_marks.position_us
            else old_marks.segment_working_us
        end as segment_working_us,
        old_marks.achieved_at,
        old_marks.window_end_at,
        old_marks.cycle_stray_resumes
    from old_marks
    left join positioned_ends
        on
            old_marks.case_id = positioned_ends.case_id
            and old_marks.sla_policy_id = positioned_ends.sla_policy_id
            and old_marks.cycle_number = positioned_ends.cycle_number
)

select * from final
