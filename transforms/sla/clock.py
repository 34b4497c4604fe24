"""SLA clock arithmetic in pure Python: the reference the SQL models are tested against.

Nothing here runs in the pipeline (the SQL is set-based, ``int_sla_*.sql`` / ``fct_case_sla.sql``);
it is the slow, obvious version, one clock at a time, with the same semantics:
- business time between two instants = the overlap with the calendar's working intervals, each
  a local wall-clock period converted to UTC day by day (DST-safe); arithmetic is in integer
  microseconds in UTC, because Python subtracts two datetimes sharing a tzinfo by wall clock;
- a clock starts at the start event, is paused by a pause event and resumed by a resume event
  (repeats of the current state are ignored), stops at the first stop event after its start;
- a reopen starts a new cycle when the rule says so; the due time is where running time reaches
  the target, projecting the clock as running after its last known event;
- the boundary rule (docs/sla.md, «The boundary rule»): a clock is within target while its elapsed time
  is at most the target and breaches at the first instant it exceeds it, so the due time is the LAST
  instant still within target: a target reached exactly at the end of a working period is due at the
  start of the next one (no working time passes in between). ``at_risk_at`` is, alike, the last instant
  with at least ``at_risk_share`` of the target left.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from transforms.sla.calendars import CALENDAR_24X7, Calendar
from transforms.sla.policies import FEEDBACK_RECEIVED, PolicyRule, load_calendars

US_PER_MINUTE = 60_000_000
_ONE_US = timedelta(microseconds=1)
_MAX_DUE_DAYS = 3 * 366  # a calendar without working time in three years is a configuration error


class ClockViolation(ValueError):
    """The clock's events contradict each other (a stop before the start)."""


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def resolve_calendar(calendar: str | Calendar) -> Calendar:
    if isinstance(calendar, Calendar):
        return calendar
    found = {c.id: c for c in load_calendars()}
    if calendar not in found:
        raise ValueError(f"unknown calendar {calendar!r}; policies.yaml has {sorted(found)}")
    return found[calendar]


def day_intervals(calendar: Calendar, day: date, exceptions: dict) -> list[tuple[datetime, datetime]]:
    """The working intervals (UTC) of one local day of ``calendar``."""
    zone = ZoneInfo(calendar.timezone)

    def at(minute: int) -> datetime:
        local = datetime.combine(day + timedelta(days=minute // 1440), time(minute % 1440 // 60, minute % 60))
        return local.replace(tzinfo=zone).astimezone(UTC)

    return [(at(start), at(end)) for start, end in calendar.day_periods(day, exceptions)]


def working_intervals(calendar: Calendar, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """Every working interval (UTC) of the local days ``first_day``..``last_day``, in order."""
    exceptions = calendar.exceptions(range(first_day.year, last_day.year + 1))
    days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
    return [interval for day in days for interval in day_intervals(calendar, day, exceptions)]


def _local_day(moment: datetime, calendar: Calendar) -> date:
    return moment.astimezone(ZoneInfo(calendar.timezone)).date()


def business_us(start: datetime, stop: datetime, calendar: Calendar) -> int:
    """Working microseconds of ``calendar`` in [start, stop] (0 when stop is before start)."""
    if stop <= start:
        return 0
    first, last = _local_day(start, calendar) - timedelta(days=1), _local_day(stop, calendar) + timedelta(days=1)
    return sum(
        max(0, (min(stop, end) - max(start, begin)) // _ONE_US)
        for begin, end in working_intervals(calendar, first, last)
    )


def elapsed_minutes(start: datetime, stop: datetime, calendar: str | Calendar = CALENDAR_24X7) -> float:
    """Minutes on ``calendar``'s clock from ``start`` to ``stop`` (fractional).

    Raises:
        ClockViolation: ``stop`` is before ``start``.
    """
    resolved = resolve_calendar(calendar)
    start_utc, stop_utc = _utc(start, "start"), _utc(stop, "stop")
    if stop_utc < start_utc:
        raise ClockViolation(f"stop {stop.isoformat()} is before start {start.isoformat()}")
    return business_us(start_utc, stop_utc, resolved) / US_PER_MINUTE


def due_after_us(start: datetime, target_us: int, calendar: Calendar) -> datetime:
    """The last moment (UTC) at which at most ``target_us`` working microseconds have run since ``start``.

    Where the target is used up exactly at the end of a working interval, that is the start of the next
    one: the working time in between is nil, so the clock still stands at its target until then.
    """
    day = _local_day(start, calendar) - timedelta(days=1)
    exceptions = calendar.exceptions(range(day.year, day.year + 5))
    left = target_us
    for _ in range(_MAX_DUE_DAYS):
        for begin, end in day_intervals(calendar, day, exceptions):
            begin = max(begin, start)
            available = max(0, (end - begin) // _ONE_US)
            if left < available:
                return begin + timedelta(microseconds=left)
            left -= available
        day += timedelta(days=1)
    raise ValueError(f"calendar {calendar.id} has no working time for {_MAX_DUE_DAYS} days after {start}")


def due_at(start: datetime, target_minutes: int, calendar: str | Calendar = CALENDAR_24X7) -> datetime:
    """The last moment (UTC) at which at most ``target_minutes`` of ``calendar``'s clock have run since
    ``start`` (the boundary rule): a stop at or before it is within target, any later one is not."""
    resolved = resolve_calendar(calendar)
    if target_minutes < 0:
        raise ValueError(f"target_minutes must not be negative, got {target_minutes}")
    return due_after_us(_utc(start, "start"), target_minutes * US_PER_MINUTE, resolved)


@dataclass(frozen=True)
class ClockCycle:
    """One cycle of one clock, as ``core.fct_case_sla`` reports it."""

    cycle_number: int
    started_at: datetime | None
    due_at: datetime | None
    at_risk_at: datetime | None
    achieved_at: datetime | None
    elapsed_minutes: float | None
    paused_minutes: float | None
    calendar_elapsed_minutes: float | None
    sla_state: str
    clock_violation: str | None


def _transitions(events: Sequence[tuple[str, datetime]], rule: PolicyRule, begin: datetime, end: datetime | None):
    """Kept (kind, at) pause/resume transitions in [begin, end), and whether a resume came while running."""
    kept: list[tuple[str, datetime]] = []
    stray_resume = False
    paused = False
    for event, at in sorted(events, key=lambda e: e[1]):
        if at < begin or (end is not None and at >= end):
            continue
        if event in rule.pause_events and not paused:
            kept.append(("pause", at))
            paused = True
        elif event in rule.resume_events:
            if paused:
                kept.append(("resume", at))
                paused = False
            else:
                stray_resume = True
    return kept, stray_resume


def run_clock(
    events: Sequence[tuple[str, datetime]],
    rule: PolicyRule,
    calendar: Calendar,
    as_of: datetime,
    *,
    target_minutes: int | None = None,
    received_at: datetime | None = None,
) -> list[ClockCycle]:
    """Every cycle of one clock of one case: the reference for ``core.fct_case_sla``."""
    events = [(e, _utc(at, e)) for e, at in events]
    as_of = _utc(as_of, "as_of")
    target = target_minutes if target_minutes is not None else rule.target_minutes
    if rule.start_event == FEEDBACK_RECEIVED:
        starts = [_utc(received_at, "received_at")] if received_at is not None else []
    else:
        starts = [at for e, at in events if e == rule.start_event]
    if not starts:
        return [ClockCycle(1, None, None, None, None, None, None, None, "not_started", None)]
    first_start = min(starts)
    reopens = sorted(at for e, at in events if e == "reopened" and at >= first_start)
    cycle_starts = [first_start, *(reopens if rule.restart_on_reopen else [])]
    stops = sorted(at for e, at in events if e == rule.stop_event)
    clocked = {*rule.pause_events, *rule.resume_events, "reopened"}
    violations = set()
    if any(at < first_start for at in stops):
        violations.add("reply_before_receipt" if rule.start_event == FEEDBACK_RECEIVED else "stop_before_start")
    if any(at < first_start for e, at in events if e in clocked):
        violations.add("events_out_of_order")
    raw: list[tuple] = []
    for number, begin in enumerate(cycle_starts, start=1):
        window_end = cycle_starts[number] if number < len(cycle_starts) else None
        stop = next((at for at in stops if at >= begin and (window_end is None or at < window_end)), None)
        if window_end is not None and stop is None:
            violations.add("events_out_of_order")  # reopened while the previous cycle was still running
        transitions, stray = _transitions(events, rule, begin, stop or window_end)
        if stray:
            violations.add("events_out_of_order")
        raw.append((number, begin, stop, transitions))
    violation = ",".join(
        v for v in ("stop_before_start", "reply_before_receipt", "events_out_of_order") if v in violations
    )
    return [_judge(n, b, s, t, rule, calendar, as_of, target, violation or None) for n, b, s, t in raw]


def risk_us(at_risk_share: float, target_minutes: int) -> int:
    """The running time (us) past which less than ``at_risk_share`` of the target is left, rounded as
    ``fct_case_sla.sql`` rounds it (same float expression, half away from zero)."""
    return int(Decimal((1 - at_risk_share) * target_minutes * 60_000_000).quantize(Decimal(1), ROUND_HALF_UP))


def _project(segments: list[tuple[datetime, int]], threshold_us: int, calendar: Calendar) -> datetime | None:
    """The last moment the running clock is still at most ``threshold_us``: in the first running segment
    that runs past it, else projected from the last one (the clock runs on after what is known). A
    segment that only reaches it is not enough: the clock stands there until the next one runs."""
    before = 0
    for index, (at, length) in enumerate(segments):
        if before + length > threshold_us or index == len(segments) - 1:
            return due_after_us(at, threshold_us - before, calendar)
        before += length
    return None


def _judge(number, begin, stop, transitions, rule, calendar, as_of, target, violation) -> ClockCycle:
    end = stop or max(as_of, begin)
    marks = [("activate", begin), *transitions, ("end", end)]
    running_us = paused_us = 0
    segments: list[tuple[datetime, int]] = []  # running segments: start, working us
    for (kind, at), (_, nxt) in itertools.pairwise(marks):
        length = business_us(at, max(at, min(nxt, end)), calendar) if at < end else 0
        if kind == "pause":
            paused_us += length
        else:
            segments.append((at, length))
            running_us += length
    if marks[-2][0] == "pause":
        segments.append((max(end, marks[-2][1]), 0))  # projected: resumed at the end of what is known
    target_us, at_risk_us = target * US_PER_MINUTE, risk_us(rule.at_risk_share, target)
    # the boundary rule: due is the last moment with elapsed <= target, at_risk_at the last with at least
    # at_risk_share left (sla_watch turns a running clock at risk once as_of is past it)
    due = _project(segments, target_us, calendar)
    at_risk_at = _project(segments, at_risk_us, calendar)
    if stop is not None:
        state = "achieved" if stop <= due else "breached"  # <=> running_us <= target_us
    elif as_of > due:
        state = "open_breached"  # <=> running_us > target_us
    elif running_us > at_risk_us:  # strictly less than at_risk_share left; exactly the share is still ok
        state = "at_risk"
    else:
        state = "open_ok"
    return ClockCycle(
        cycle_number=number,
        started_at=begin,
        due_at=due,
        at_risk_at=at_risk_at,
        achieved_at=stop,
        elapsed_minutes=running_us / US_PER_MINUTE,
        paused_minutes=paused_us / US_PER_MINUTE,
        calendar_elapsed_minutes=max(0, (end - begin) // _ONE_US) / US_PER_MINUTE,
        sla_state=state,
        clock_violation=violation,
    )
