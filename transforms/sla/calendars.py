"""SLA calendars: the clocks a target is counted in, and the seed rows SQL builds working time from.

Two kinds:
- ``24x7``: every minute counts.
- ``business_hours``: weekly working periods in a timezone (breaks are the gaps between periods),
  minus public holidays, plus transferred working days, both from the ``holidays`` package for
  ``holiday_country`` (docs/development.md, «Business calendar»), then the calendar's own ``overrides`` for decrees the
  package does not know yet (an override wins over the package).

A working weekend day (a transferred working Saturday) works the hours of ``transferred_workday_hours``
(Monday by default): the decrees move a whole working day, not a shortened one.
Periods are local wall-clock times; converting them to UTC day by day is what makes a calendar
DST-safe (``transforms/sql/core/int_sla_calendar_intervals.sql``, ``clock.working_intervals``).
"""

import itertools
import re
from collections.abc import Sequence
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CALENDAR_24X7 = "24x7"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # ISO order: mon = 1
_SLUG = r"^[a-z0-9][a-z0-9_]*$"
_PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

CALENDAR_COLUMNS: dict[str, pl.DataType] = {
    "calendar_id": pl.String(),
    "kind": pl.String(),
    "label": pl.String(),
    "timezone": pl.String(),
    "transferred_workday_iso_weekday": pl.Int64(),  # whose hours a working weekend day takes
}
# One row per working period of a weekday; minutes from local midnight, end exclusive (1440 = 24:00).
CALENDAR_HOURS_COLUMNS: dict[str, pl.DataType] = {
    "calendar_id": pl.String(),
    "iso_weekday": pl.Int64(),
    "start_minute": pl.Int64(),
    "end_minute": pl.Int64(),
}
# One row per day that departs from the weekly pattern (holiday, transferred working day, override).
CALENDAR_DAYS_COLUMNS: dict[str, pl.DataType] = {
    "calendar_id": pl.String(),
    "day": pl.Date(),
    "is_working_day": pl.Boolean(),
    "source": pl.String(),  # holidays | override
    "note": pl.String(),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def parse_period(text: str) -> tuple[int, int]:
    """``"09:00-13:00"`` → minutes from local midnight ``(540, 780)``; ``24:00`` is allowed as an end."""
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"working period {text!r} must look like 09:00-18:00")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440 or start >= end:
        raise ValueError(f"working period {text!r} must be a forward span within one day")
    return start, end


class DayOverride(_Frozen):
    """A day a decree makes working or non-working, ahead of the ``holidays`` package."""

    date: date
    working: bool
    note: str


class Calendar(_Frozen):
    id: str = Field(pattern=_SLUG)
    kind: Literal["24x7", "business_hours"]
    label: str
    timezone: str = "UTC"
    weekly_hours: dict[Literal[WEEKDAYS], list[str]] = Field(default_factory=dict)  # type: ignore[valid-type]
    holiday_country: str | None = None
    transferred_workday_hours: Literal[WEEKDAYS] = "mon"  # type: ignore[valid-type]
    overrides: list[DayOverride] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown timezone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Calendar":
        if self.kind == "24x7":
            if self.weekly_hours or self.holiday_country or self.overrides or self.timezone != "UTC":
                raise ValueError(f"calendar {self.id}: a 24x7 calendar takes no hours, holidays or timezone")
            return self
        if not any(self.weekly_hours.values()):
            raise ValueError(f"calendar {self.id}: business_hours needs weekly_hours")
        for day, periods in self.weekly_hours.items():
            spans = sorted(parse_period(p) for p in periods)
            if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
                raise ValueError(f"calendar {self.id}: {day} periods overlap: {periods}")
        if not self.weekly_hours.get(self.transferred_workday_hours):
            raise ValueError(
                f"calendar {self.id}: transferred_workday_hours {self.transferred_workday_hours} has no hours"
            )
        days = [o.date for o in self.overrides]
        if len(days) != len(set(days)):
            raise ValueError(f"calendar {self.id}: duplicate override dates")
        if self.holiday_country is not None:
            try:
                holidays.country_holidays(self.holiday_country)
            except NotImplementedError as error:
                raise ValueError(f"calendar {self.id}: holidays knows no country {self.holiday_country!r}") from error
        return self

    def periods(self, iso_weekday: int) -> list[tuple[int, int]]:
        """The working periods of a weekday (1 = Monday), in minutes from local midnight."""
        if self.kind == "24x7":
            return [(0, 1440)]
        return sorted(parse_period(p) for p in self.weekly_hours.get(WEEKDAYS[iso_weekday - 1], []))

    def exceptions(self, years: Sequence[int]) -> dict[date, tuple[bool, str, str]]:
        """Days of ``years`` that depart from the weekly pattern: day → (is working, source, note)."""
        found: dict[date, tuple[bool, str, str]] = {}
        if self.holiday_country is not None and years:
            known = holidays.country_holidays(self.holiday_country, years=list(years), language="ru")
            for day, name in known.items():
                if self.periods(day.isoweekday()):  # a holiday on a day off changes nothing
                    found[day] = (False, "holidays", name)
            for day in getattr(known, "weekend_workdays", set()):
                if day.year in years:
                    found[day] = (True, "holidays", "Рабочий день (перенос)")
        for override in self.overrides:
            if not years or override.date.year in years:
                found[override.date] = (override.working, "override", override.note)
        return found

    def day_periods(self, day: date, exceptions: dict[date, tuple[bool, str, str]]) -> list[tuple[int, int]]:
        """The working periods of one local day, after holidays, transfers and overrides."""
        if day in exceptions:
            working = exceptions[day][0]
            if not working:
                return []
            own = self.periods(day.isoweekday())
            return own or self.periods(WEEKDAYS.index(self.transferred_workday_hours) + 1)
        return self.periods(day.isoweekday())


def calendars_frame(calendars: Sequence[Calendar]) -> pl.DataFrame:
    """Rows of ``staging.stg_config__sla_calendars``."""
    rows = [
        {
            "calendar_id": c.id,
            "kind": c.kind,
            "label": c.label,
            "timezone": c.timezone,
            "transferred_workday_iso_weekday": transferred_workday_weekday(c),
        }
        for c in calendars
    ]
    return pl.DataFrame(rows, schema=CALENDAR_COLUMNS)


def calendar_hours_frame(calendars: Sequence[Calendar]) -> pl.DataFrame:
    """Rows of ``staging.stg_config__sla_calendar_hours``: each weekday's working periods."""
    rows = [
        {"calendar_id": c.id, "iso_weekday": weekday, "start_minute": start, "end_minute": end}
        for c in calendars
        for weekday in range(1, 8)
        for start, end in c.periods(weekday)
    ]
    return pl.DataFrame(rows, schema=CALENDAR_HOURS_COLUMNS)


def calendar_days_frame(calendars: Sequence[Calendar], years: Sequence[int]) -> pl.DataFrame:
    """Rows of ``staging.stg_config__sla_calendar_days``: the exceptions of ``years``.

    A working exception carries its hours implicitly: SQL takes the weekday's own periods, or the
    ``transferred_workday_hours`` weekday's when the day has none (``Calendar.day_periods``).
    """
    rows = [
        {"calendar_id": c.id, "day": day, "is_working_day": working, "source": source, "note": note}
        for c in calendars
        for day, (working, source, note) in sorted(c.exceptions(years).items())
    ]
    return pl.DataFrame(rows, schema=CALENDAR_DAYS_COLUMNS)


def transferred_workday_weekday(calendar: Calendar) -> int:
    """ISO weekday whose hours a working weekend day of ``calendar`` takes."""
    return WEEKDAYS.index(calendar.transferred_workday_hours) + 1
