"""Review periods: a month ('2026-10') or an ISO week ('2026-W45') of the reporting timezone."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHLY, WEEKLY = "monthly", "weekly"
COMPANY_SCOPE = "all"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Period:
    """One review: its kind, label, [start, end) in local dates, and scope ('all' or a directorate)."""

    kind: str
    label: str
    start: date
    end: date
    scope: str = COMPANY_SCOPE


def parse_month(month: str) -> date:
    match = _MONTH.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month must look like 2026-10, got {month!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(month: str) -> Period:
    start = parse_month(month)
    return Period(MONTHLY, f"{start:%Y-%m}", start, add_months(start, 1))


def week_period(week: str, directorate_id: str) -> Period:
    """``2026-W45`` → Monday 2026-11-02 … Sunday 2026-11-08 (ISO 8601 weeks)."""
    match = _WEEK.match(week)
    if not match:
        raise ValueError(f"week must look like 2026-W45 (ISO week), got {week!r}")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"{week}: {exc}") from exc
    return Period(WEEKLY, f"{match.group(1)}-W{match.group(2)}", monday, monday + timedelta(days=7), directorate_id)


def previous_month(today: date) -> str:
    """The month before ``today`` (a date in the reporting zone), as YYYY-MM."""
    return f"{add_months(today.replace(day=1), -1):%Y-%m}"


def previous_week(today: date) -> str:
    """The ISO week before the one holding ``today``, as YYYY-Www."""
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def local_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) as naive local timestamps, compared with ``timezone(<zone>, <utc column>)`` in SQL."""
    return datetime.combine(period.start, datetime.min.time()), datetime.combine(period.end, datetime.min.time())
