"""SLA clock arithmetic in pure Python: the reference the SQL model is tested against.

Only the round-the-clock calendar ("24x7") exists so far: every minute between start and stop
counts. Arithmetic is done in UTC, because Python subtracts two datetimes that share a tzinfo
by wall clock and would gain or lose an hour across a DST switch.
"""

from datetime import UTC, datetime, timedelta

CALENDAR_24X7 = "24x7"


class ClockViolation(ValueError):
    """The clock's events contradict each other (a stop before the start)."""


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def _check_calendar(calendar: str) -> None:
    if calendar != CALENDAR_24X7:
        raise NotImplementedError(f"calendar {calendar!r}: only {CALENDAR_24X7!r} is implemented")


def elapsed_minutes(start: datetime, stop: datetime, calendar: str = CALENDAR_24X7) -> float:
    """Minutes on ``calendar``'s clock from ``start`` to ``stop`` (fractional).

    Raises:
        ClockViolation: ``stop`` is before ``start``.
    """
    _check_calendar(calendar)
    start_utc, stop_utc = _utc(start, "start"), _utc(stop, "stop")
    if stop_utc < start_utc:
        raise ClockViolation(f"stop {stop.isoformat()} is before start {start.isoformat()}")
    return (stop_utc - start_utc).total_seconds() / 60


def due_at(start: datetime, target_minutes: int, calendar: str = CALENDAR_24X7) -> datetime:
    """The moment (UTC) at which ``target_minutes`` of ``calendar``'s clock have run since ``start``."""
    _check_calendar(calendar)
    if target_minutes < 0:
        raise ValueError(f"target_minutes must not be negative, got {target_minutes}")
    return _utc(start, "start") + timedelta(minutes=target_minutes)
