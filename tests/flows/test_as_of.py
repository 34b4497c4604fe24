"""flows._tasks.parse_as_of: the run's clock is always UTC, whatever offset the operator typed."""

from datetime import UTC, datetime

from flows._tasks import parse_as_of


def test_an_offset_is_turned_to_utc_and_a_naive_time_is_utc() -> None:
    assert parse_as_of("2026-10-03T12:00+03:00") == datetime(2026, 10, 3, 9, tzinfo=UTC)
    assert parse_as_of("2026-10-03T12:00+03:00").tzinfo is UTC
    assert parse_as_of("2026-10-03T12:00") == datetime(2026, 10, 3, 12, tzinfo=UTC)
