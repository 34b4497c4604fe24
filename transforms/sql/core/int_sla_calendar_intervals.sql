-- int_sla_calendar_intervals: every working interval (UTC) of every SLA calendar, with the working
-- microseconds of the calendar before it. Grain: (calendar_id, start_at). Days run from a month before
-- the first case event to the first of January two years after as_of's (or the last event's) year: room
-- for any due time (at least 366 days), and the same table for every build of a year, so that a later clock
-- changes no interval (a build then rebuilds only the SLA clocks that changed: warehouse/scoped_build.py).
-- Local periods become UTC day by day, so DST switches are exact; business time between two instants
-- is a difference of two positions (int_sla_clock_marks.sql), a due time the inverse lookup.

with

calendars as (
    select * from staging.stg_config__sla_calendars
),

calendar_hours as (
    select * from staging.stg_config__sla_calendar_hours
),

calendar_days as (
    select * from staging.stg_config__sla_calendar_days
),

case_events as (
    select * from staging.stg_crm__case_events
),

bounds as (
    select
        (min(event_at) - interval 31 day)::date as first_day,
        (date_trunc('year', greatest(max(event_at), getvariable('as_of'))) + interval 2 year)::date as last_day
    from case_events
),

days as (
    select
        calendars.calendar_id,
        calendars.timezone,
        calendars.transferred_workday_iso_weekday,
        unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day))::date as day
    from calendars
    cross join bounds
),

working_weekdays as (
    select distinct
        calendar_id,
        iso_weekday
    from calendar_hours
),

-- which weekday's hours a day works: its own, none on a holiday, or the template weekday's on a
-- transferred working weekend day
day_templates as (
    select
        days.calendar_id,
        days.timezone,
        days.day,
        case
            when calendar_days.is_working_day is null then isodow(days.day)
            when not calendar_days.is_working_day then null
            when working_weekdays.iso_weekday is not null then isodow(days.day)
            else days.transferred_workday_iso_weekday
        end as hours_weekday
    from days
    left join calendar_days
        on
            days.calendar_id = calendar_days.calendar_id
            and days.day = calendar_days.day
    left join working_weekdays
        on
            days.calendar_id = working_weekdays.calendar_id
            and working_weekdays.iso_weekday = isodow(days.day)
),

intervals as (
    select
        day_templates.calendar_id,
        timezone(day_templates.timezone, day_templates.day::timestamp + to_minutes(calendar_hours.start_minute))
            as start_at,
        timezone(day_templates.timezone, day_templates.day::timestamp + to_minutes(calendar_hours.end_minute))
            as end_at
    from day_templates
    inner join calendar_hours
        on
            day_templates.calendar_id = calendar_hours.calendar_id
            and day_templates.hours_weekday = calendar_hours.iso_weekday
),

final as (
    select
        calendar_id,
        start_at,
        end_at,
        epoch_us(end_at) - epoch_us(start_at) as working_us,
        coalesce(
            sum(epoch_us(end_at) - epoch_us(start_at)) over (
                partition by calendar_id order by start_at rows between unbounded preceding and 1 preceding
            ),
            0
        )::bigint as working_us_before
    from intervals
)

select * from final
