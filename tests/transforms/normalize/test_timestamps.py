"""Timestamp parsing (transforms/normalize/timestamps.py)."""

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest

from transforms.normalize.timestamps import parse_epoch, parse_iso, parse_rfc2822, parse_strptime


def parsed(expr_builder: Callable[[pl.Expr], pl.Expr], values: list) -> list:
    return (
        pl.DataFrame({"raw": values}, schema={"raw": pl.String})
        .select(expr_builder(pl.col("raw")))
        .to_series()
        .to_list()
    )


def test_iso_rejects_what_is_not_iso() -> None:
    assert (
        parsed(lambda raw: parse_iso(raw, "UTC"), ["05.10.2026", "2026-13-01", "2026-10-05T25:00", "", None])
        == [None] * 5
    )


def test_epoch_bounds() -> None:
    assert parsed(parse_epoch, ["0", "1684984664.5", "1e12", "-5", "x"]) == [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2023, 5, 25, 3, 17, 44, 500000, tzinfo=UTC),
        None,  # milliseconds, not seconds
        datetime(1969, 12, 31, 23, 59, 55, tzinfo=UTC),
        None,
    ]


def test_strptime_with_its_own_offset() -> None:
    assert parsed(lambda raw: parse_strptime(raw, "%d.%m.%Y %H:%M %z", "Asia/Tokyo"), ["05.10.2026 14:03 +0300"]) == [
        datetime(2026, 10, 5, 11, 3, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    ("text", "timezone", "expected"),
    [
        ("Sun, 27 May 2001 21:23:35 +0100", "UTC", datetime(2001, 5, 27, 20, 23, 35, tzinfo=UTC)),
        ("27 May 2001 21:23:35 -0000", "Europe/Moscow", datetime(2001, 5, 27, 21, 23, 35, tzinfo=UTC)),
        ("Mon, 5 Oct 2026 14:03:27 MSK", "UTC", datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)),
        ("Mon, 5 Oct 2026 14:03:27", "Europe/Moscow", datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)),
        ("Mon, 5 Oct 2026 14:03:27 XYZ", "Europe/Moscow", datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)),
        ("not a date", "UTC", None),
        (None, "UTC", None),
    ],
    ids=["offset", "minus-zero-is-utc", "msk", "no-zone", "unknown-zone", "junk", "none"],
)
def test_rfc2822(text: str | None, timezone: str, expected: datetime | None) -> None:
    assert parse_rfc2822(text, timezone) == expected
