"""The 24x7 SLA clock: table-driven cases (ids name the situation) plus a round-trip property."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.sla import CALENDAR_24X7, ClockViolation, due_at, elapsed_minutes

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")  # Moscow has no DST since 2014; Berlin still switches


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ELAPSED_CASES = [
    pytest.param(utc(2026, 10, 1, 10), utc(2026, 10, 1, 10), 0.0, id="same-moment"),
    pytest.param(utc(2026, 10, 1, 10), utc(2026, 10, 1, 10, 1), 1.0, id="one-minute"),
    pytest.param(utc(2026, 10, 1, 10), utc(2026, 10, 1, 10, 0, 30), 0.5, id="seconds-are-fractional-minutes"),
    pytest.param(utc(2026, 10, 1, 10), utc(2026, 10, 2, 9, 59), 1439.0, id="next-day-one-minute-early"),
    pytest.param(utc(2026, 10, 1, 10), utc(2026, 10, 2, 10, 1), 1441.0, id="next-day-one-minute-late"),
    pytest.param(utc(2026, 10, 31, 21, 30), utc(2026, 11, 1, 0, 30), 180.0, id="across-month-end"),
    pytest.param(utc(2026, 10, 3, 12), utc(2026, 10, 5, 12), 2880.0, id="weekend-counts-on-24x7"),
    pytest.param(utc(2026, 12, 31, 12), utc(2027, 1, 1, 12), 1440.0, id="holiday-counts-on-24x7"),
    pytest.param(
        datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
        datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN),
        60.0,
        id="dst-spring-forward-same-tzinfo",
    ),
    pytest.param(
        datetime(2026, 10, 25, 1, 30, tzinfo=BERLIN),
        datetime(2026, 10, 25, 3, 30, tzinfo=BERLIN),
        180.0,
        id="dst-fall-back-same-tzinfo",
    ),
    pytest.param(datetime(2026, 10, 1, 13, 0, tzinfo=MSK), utc(2026, 10, 1, 10, 30), 30.0, id="mixed-offsets"),
]


@pytest.mark.parametrize(("start", "stop", "expected"), ELAPSED_CASES)
def test_elapsed_minutes_counts_every_real_minute(start: datetime, stop: datetime, expected: float) -> None:
    assert elapsed_minutes(start, stop, CALENDAR_24X7) == expected


DUE_CASES = [
    pytest.param(utc(2026, 10, 1, 10), 1440, utc(2026, 10, 2, 10), id="24h"),
    pytest.param(utc(2026, 10, 1, 10), 60, utc(2026, 10, 1, 11), id="1h"),
    pytest.param(utc(2026, 10, 1, 10), 0, utc(2026, 10, 1, 10), id="zero-target"),
    pytest.param(datetime(2026, 10, 1, 13, tzinfo=MSK), 60, utc(2026, 10, 1, 11), id="local-start-due-in-utc"),
    pytest.param(
        datetime(2026, 3, 28, 12, tzinfo=BERLIN),
        1440,
        utc(2026, 3, 29, 11),
        id="dst-24h-is-not-wall-clock-day",
    ),
    pytest.param(utc(2026, 10, 31, 23, 30), 60, utc(2026, 11, 1, 0, 30), id="across-month-end"),
]


@pytest.mark.parametrize(("start", "target_minutes", "expected"), DUE_CASES)
def test_due_at_adds_the_target_in_real_time(start: datetime, target_minutes: int, expected: datetime) -> None:
    actual = due_at(start, target_minutes, CALENDAR_24X7)
    assert actual == expected
    assert actual.tzinfo is UTC


def test_stop_before_start_is_a_clock_violation() -> None:
    with pytest.raises(ClockViolation, match="before start"):
        elapsed_minutes(utc(2026, 10, 1, 10), utc(2026, 10, 1, 9, 59))


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        pytest.param(datetime(2026, 10, 1, 10), utc(2026, 10, 1, 11), id="naive-start"),
        pytest.param(utc(2026, 10, 1, 10), datetime(2026, 10, 1, 11), id="naive-stop"),
    ],
)
def test_naive_timestamps_are_rejected(start: datetime, stop: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        elapsed_minutes(start, stop)


def test_calendars_other_than_24x7_are_not_implemented_yet() -> None:
    with pytest.raises(NotImplementedError, match="business_hours"):
        elapsed_minutes(utc(2026, 10, 1, 10), utc(2026, 10, 1, 11), "business_hours")
    with pytest.raises(NotImplementedError):
        due_at(utc(2026, 10, 1, 10), 60, "business_hours")


def test_negative_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        due_at(utc(2026, 10, 1, 10), -1)


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2040, 1, 1),
        timezones=st.sampled_from([UTC, BERLIN, MSK]),
    ),
    target_minutes=st.integers(min_value=0, max_value=60 * 24 * 90),
    offset_hours=st.integers(min_value=-12, max_value=14),
)
def test_elapsed_to_due_at_is_the_target_in_any_zone(start: datetime, target_minutes: int, offset_hours: int) -> None:
    due = due_at(start, target_minutes).astimezone(timezone(timedelta(hours=offset_hours)))
    assert elapsed_minutes(start, due) == pytest.approx(target_minutes)
