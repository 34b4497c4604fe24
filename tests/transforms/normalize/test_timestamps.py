"""Timestamp parsing (transforms/normalize/timestamps.py)."""

from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl
import pytest

from transforms.channels.registry import Channel
from transforms.normalize.timestamps import (
    expected_form,
    parse_epoch,
    parse_iso,
    parse_rfc2822,
    parse_strptime,
    parse_timestamp,
)

MOMENT = datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)  # 1791198207 s


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


def channel(timestamp_format: str | None, timezone: str = "UTC", fmt: str = "jsonl") -> Channel:
    return Channel(
        id="c",
        display_name="C",
        format=fmt,
        fields={"source_item_id": "id", "received_at": "at"},
        timestamp_format=timestamp_format,
        timezone=timezone,
    )


def test_epoch_seconds_and_milliseconds_are_told_apart_by_magnitude() -> None:
    assert parsed(parse_epoch, ["0", "1684984664.5", "1e12", "-5", "x", "99999999999", "100000000000"]) == [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2023, 5, 25, 3, 17, 44, 500000, tzinfo=UTC),
        datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC),  # 10^12 is past 10^11: milliseconds
        datetime(1969, 12, 31, 23, 59, 55, tzinfo=UTC),
        None,
        datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC),  # the last value read as seconds
        datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC),  # the first read as milliseconds
    ]


@pytest.mark.parametrize(
    ("timestamp_format", "raw", "expected"),
    [
        ("epoch", "1791198207", MOMENT),
        ("epoch", " 1791198207 ", MOMENT),
        ("epoch", "1791198207123", MOMENT.replace(microsecond=123000)),
        ("epoch", "1791198207.25", MOMENT.replace(microsecond=250000)),
        ("epoch", "1.791198207e9", MOMENT),
        ("epoch", "1791198207123456", None),  # microseconds are not guessed
        ("epoch_ms", "1791198207123", MOMENT.replace(microsecond=123000)),
        ("epoch_ms", "1791198207123.5", MOMENT.replace(microsecond=123500)),
        ("epoch_ms", "1791198207", datetime(1970, 1, 21, 17, 33, 18, 207000, tzinfo=UTC)),  # taken as ms
        ("epoch_ms", "1e14", None),
        ("epoch_ms", "2026-10-05T11:03:27Z", MOMENT),  # ISO still works, as for every format
        ("epoch_ms", "вчера", None),
    ],
)
def test_epoch_formats(timestamp_format: str, raw: str, expected: datetime | None) -> None:
    assert parsed(lambda expr: parse_timestamp(expr, channel(timestamp_format)), [raw]) == [expected]


def test_rfc2822_dates_parse_on_any_channel_without_a_format() -> None:
    values = ["Mon, 05 Oct 2026 14:03:27 +0300", "5 Oct 2026 14:03:27", "2026-10-05T11:03:27Z", "05 Oct", None]
    assert parsed(lambda expr: parse_timestamp(expr, channel(None, "Europe/Moscow")), values) == [
        MOMENT,
        MOMENT,  # no zone: wall-clock time in the channel's timezone
        MOMENT,
        None,
        None,
    ]
    # a channel with a strptime format does not guess RFC 2822
    assert parsed(lambda expr: parse_timestamp(expr, channel("%d.%m.%Y")), [values[0]]) == [None]


@pytest.mark.parametrize(
    ("timestamp_format", "fmt", "form"),
    [
        (None, "jsonl", "ISO 8601 or an RFC 2822 date"),
        ("epoch", "jsonl", "Unix seconds or milliseconds"),
        ("epoch_ms", "jsonl", "Unix milliseconds"),
        ("%d.%m.%Y", "csv", "'%d.%m.%Y' or ISO 8601"),
        (None, "eml", "an RFC 2822 date"),
    ],
)
def test_expected_form_names_the_rule(timestamp_format: str | None, fmt: str, form: str) -> None:
    assert expected_form(channel(timestamp_format, fmt=fmt)) == form


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
