"""The 24x7 SLA clock: table-driven cases (ids name the situation) plus a round-trip property."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.sla import CALENDAR_24X7, ClockViolation, due_at, elapsed_minutes, load_calendars
from transforms.sla.calendars import Calendar
from transforms.sla.clock import working_intervals

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


def test_unknown_calendar_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown calendar 'business_hours'"):
        elapsed_minutes(utc(2026, 10, 1, 10), utc(2026, 10, 1, 11), "business_hours")


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


OFFICE = next(c for c in load_calendars() if c.id == "office_msk")
BERLIN_OFFICE = Calendar.model_validate(
    {
        "id": "office_berlin",
        "kind": "business_hours",
        "label": "Berlin",
        "timezone": "Europe/Berlin",
        "weekly_hours": {d: ["09:00-12:30", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holiday_country": "DE",
    }
)
MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
CALENDARS = st.sampled_from([OFFICE, BERLIN_OFFICE, CALENDAR_24X7])
# on the hour, with whole-hour targets, a target is often used up exactly at a period's end
ON_THE_HOUR = MOMENTS.map(lambda m: m.replace(minute=0, second=0, microsecond=0))


@given(a=MOMENTS, b=MOMENTS, calendar=CALENDARS)
def test_business_time_is_never_negative_nor_more_than_calendar_time(a: datetime, b: datetime, calendar) -> None:
    start, stop = min(a, b), max(a, b)
    business = elapsed_minutes(start, stop, calendar)
    assert 0 <= business <= (stop - start) / timedelta(minutes=1)


@given(moments=st.lists(MOMENTS, min_size=3, max_size=3), calendar=CALENDARS)
def test_business_time_is_additive_over_a_split_point(moments: list[datetime], calendar) -> None:
    start, split, stop = sorted(moments)
    whole = elapsed_minutes(start, stop, calendar)
    assert whole == pytest.approx(elapsed_minutes(start, split, calendar) + elapsed_minutes(split, stop, calendar))


@given(
    start=st.one_of(MOMENTS, ON_THE_HOUR),
    target=st.one_of(
        st.integers(min_value=0, max_value=5 * 480), st.integers(min_value=1, max_value=40).map(lambda h: 60 * h)
    ),
    calendar=CALENDARS,
)
def test_due_at_is_the_last_moment_within_target(start: datetime, target: int, calendar) -> None:
    """The boundary rule (docs/sla.md): elapsed at due_at is the target, one microsecond later it is more."""
    due = due_at(start, target, calendar)
    assert elapsed_minutes(start, due, calendar) == target
    assert elapsed_minutes(start, due + timedelta(microseconds=1), calendar) > target


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


# office_msk: Mon-Fri 09:00-13:00 and 14:00-18:00 Moscow, RU holidays; 2 October 2026 is a Friday
BOUNDARY_CASES = [
    pytest.param(msk(2026, 10, 2, 17), 59, msk(2026, 10, 2, 17, 59), id="inside-a-period"),
    pytest.param(msk(2026, 10, 2, 17), 60, msk(2026, 10, 5, 9), id="used-up-at-friday-close-due-monday-09:00"),
    pytest.param(msk(2026, 10, 2, 12), 60, msk(2026, 10, 2, 14), id="used-up-at-lunch-due-at-14:00"),
    pytest.param(msk(2026, 11, 3, 17), 60, msk(2026, 11, 5, 9), id="used-up-before-a-holiday"),  # 4 Nov is off
    pytest.param(msk(2026, 10, 2, 10), 0, msk(2026, 10, 2, 10), id="zero-target-in-working-time"),
    pytest.param(msk(2026, 10, 3, 12), 0, msk(2026, 10, 5, 9), id="zero-target-on-saturday"),
    pytest.param(msk(2026, 10, 2, 18), 0, msk(2026, 10, 5, 9), id="zero-target-at-friday-close"),
]


@pytest.mark.parametrize(("start", "target_minutes", "expected"), BOUNDARY_CASES)
def test_a_target_used_up_at_a_period_end_is_due_when_work_resumes(
    start: datetime, target_minutes: int, expected: datetime
) -> None:
    due = due_at(start, target_minutes, OFFICE)
    assert due == expected
    assert elapsed_minutes(start, due, OFFICE) == target_minutes
    assert elapsed_minutes(start, due + timedelta(seconds=1), OFFICE) == target_minutes + 1 / 60


@pytest.mark.parametrize(
    ("year", "working_days"),
    [pytest.param(2024, 248, id="2024"), pytest.param(2025, 247, id="2025"), pytest.param(2026, 247, id="2026")],
)
def test_office_calendar_has_the_production_calendar_working_days(year: int, working_days: int) -> None:
    intervals = working_intervals(OFFICE, datetime(year, 1, 1).date(), datetime(year, 12, 31).date())
    assert len({start.astimezone(MSK).date() for start, _ in intervals}) == working_days  # docs/development.md
