"""Source timestamps → UTC, set-based; one rule per channel ``timestamp_format``.

- None: ISO 8601 ("2026-10-05T14:03:27+03:00", "...Z", "2026-10-05 14:03:27", "2026-10-05");
  text without an offset is wall-clock time in the channel's timezone.
- "epoch": Unix seconds (fractions allowed).
- a strptime format: wall-clock time in the channel's timezone (or its own %z offset).
- eml channels: RFC 2822 dates ("Sun, 27 May 2001 21:23:35 +0100"), parsed by the stdlib one
  distinct value at a time (a date without a usable zone is in the channel's timezone).
Every rule falls back to ISO 8601, which is how the readers render typed date cells (an XLSX
column mixing real dates with dates typed as text). Local times are DST-safe: an ambiguous
hour takes the earlier instant, a time that does not exist (the spring-forward gap) is null,
and the caller rejects nulls as bad_timestamp.
"""

import email.utils
import re
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from transforms.channels.registry import Channel
from transforms.schemas import UTC_TIMESTAMP

ISO_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
ISO_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
MAX_EPOCH_SECONDS = 1e11  # year 5138; larger values are milliseconds or garbage


def expected_form(channel: Channel) -> str:
    """What a channel's timestamps must look like, for reject details."""
    if channel.format == "eml":
        return "an RFC 2822 date"
    if channel.timestamp_format is None:
        return "ISO 8601"
    if channel.timestamp_format == "epoch":
        return "Unix seconds"
    return f"{channel.timestamp_format!r} or ISO 8601"


def parse_timestamp(raw: pl.Expr, channel: Channel) -> pl.Expr:
    """UTC timestamps (Datetime us, UTC) from text; null where the text does not parse."""
    iso = parse_iso(raw, channel.timezone)
    if channel.format == "eml":
        rfc = raw.map_batches(_rfc2822_parser(channel.timezone), return_dtype=UTC_TIMESTAMP, is_elementwise=True)
        return pl.coalesce(rfc, iso)
    if channel.timestamp_format is None:
        return iso
    if channel.timestamp_format == "epoch":
        return pl.coalesce(parse_epoch(raw), iso)
    return pl.coalesce(parse_strptime(raw, channel.timestamp_format, channel.timezone), iso)


def localize(naive: pl.Expr, timezone: str) -> pl.Expr:
    return naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


def parse_iso(raw: pl.Expr, timezone: str) -> pl.Expr:
    text = (
        raw.str.replace(r"^(\d{4}-\d{2}-\d{2})[ tT]", "${1}T")
        .str.replace(r"[zZ]$", "+00:00")
        .str.replace(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})$", "${1}${2}:00")
    )
    aware = [text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC") for fmt in ISO_AWARE_FORMATS]
    naive = [text.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in ISO_NAIVE_FORMATS]
    return pl.coalesce(*aware, localize(pl.coalesce(*naive), timezone))


def parse_epoch(raw: pl.Expr) -> pl.Expr:
    seconds = raw.cast(pl.Float64, strict=False)
    seconds = pl.when(seconds.abs() < MAX_EPOCH_SECONDS).then(seconds)
    micros = (seconds * 1_000_000).round(0).cast(pl.Int64)
    return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")


def parse_strptime(raw: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    if "%z" in fmt or "%:z" in fmt:
        return raw.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
    return localize(raw.str.to_datetime(fmt, strict=False, time_unit="us"), timezone)


def parse_rfc2822(text: str | None, timezone: str = "UTC") -> datetime | None:
    """One RFC 2822 date in UTC.

    "-0000" means UTC; a missing or unknown zone name is wall-clock time in ``timezone``;
    "MSK" (which the stdlib does not know) is Moscow time, UTC+3.
    """
    if text is None:
        return None
    text = re.sub(r"\bMSK\b", "+0300", text.strip())
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        zone = UTC if text.endswith("-0000") else ZoneInfo(timezone)
        return parsed.replace(tzinfo=zone).astimezone(UTC)
    return parsed.astimezone(UTC)


def _rfc2822_parser(timezone: str) -> Callable[[pl.Series], pl.Series]:
    def parse(values: pl.Series) -> pl.Series:
        distinct = values.unique().drop_nulls().to_list()
        mapping = {text: parse_rfc2822(text, timezone) for text in distinct}
        return values.replace_strict(mapping, default=None, return_dtype=UTC_TIMESTAMP)

    return parse
