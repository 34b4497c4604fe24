"""Source timestamps → UTC, set-based; one rule per channel ``timestamp_format``.

- None: ISO 8601 ("2026-10-05T14:03:27+03:00", "...Z", "2026-10-05 14:03:27", "2026-10-05");
  text without an offset is wall-clock time in the channel's timezone. A value that is not ISO
  but looks like an RFC 2822 date ("Mon, 05 Oct 2026 14:03:27 +0300") is read as one.
- "epoch": Unix time, seconds or milliseconds told apart by magnitude: |value| < 10^11 is
  seconds (10^11 s is the year 5138), 10^11 ≤ |value| < 10^14 is milliseconds (10^11 ms is
  3 March 1973, 10^14 ms the year 5138); anything larger is null (micro- or nanoseconds are not
  guessed). The two ranges cannot be confused for a date after 2000, the earliest accepted:
  seconds then are ~9.5·10^8 and more, milliseconds ~9.5·10^11 and more.
- "epoch_ms": Unix milliseconds, whatever the magnitude (|value| < 10^14).
  Epoch values are numbers as JSON numbers or numeric text ("1790853450", "1790853450123",
  "1790853450.5", " 1.79e9 "); fractions are kept to the microsecond.
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
MAX_EPOCH_MILLISECONDS = 1e14  # year 5138 again; larger values are micro/nanoseconds or garbage
# What RFC 2822 dates look like: an optional weekday, day, month name, year, hours:minutes. Only
# such values (of a channel without a timestamp_format, where ISO failed) reach the stdlib parser.
RFC2822_LIKE = r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}"


def expected_form(channel: Channel) -> str:
    """What a channel's timestamps must look like, for reject details."""
    if channel.format == "eml":
        return "an RFC 2822 date"
    if channel.timestamp_format is None:
        return "ISO 8601 or an RFC 2822 date"
    if channel.timestamp_format == "epoch":
        return "Unix seconds or milliseconds"
    if channel.timestamp_format == "epoch_ms":
        return "Unix milliseconds"
    return f"{channel.timestamp_format!r} or ISO 8601"


def parse_timestamp(raw: pl.Expr, channel: Channel) -> pl.Expr:
    """UTC timestamps (Datetime us, UTC) from text; null where the text does not parse."""
    iso = parse_iso(raw, channel.timezone)
    if channel.format == "eml":
        rfc = raw.map_batches(_rfc2822_parser(channel.timezone), return_dtype=UTC_TIMESTAMP, is_elementwise=True)
        return pl.coalesce(rfc, iso)
    if channel.timestamp_format is None:
        rfc_like = pl.when(raw.str.contains(RFC2822_LIKE) & iso.is_null()).then(raw)
        rfc = rfc_like.map_batches(_rfc2822_parser(channel.timezone), return_dtype=UTC_TIMESTAMP, is_elementwise=True)
        return pl.coalesce(iso, rfc)
    if channel.timestamp_format == "epoch":
        return pl.coalesce(parse_epoch(raw), iso)
    if channel.timestamp_format == "epoch_ms":
        return pl.coalesce(parse_epoch(raw, unit="ms"), iso)
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


def parse_epoch(raw: pl.Expr, unit: str = "auto") -> pl.Expr:
    """Unix time from numeric text: ``unit`` "s", "ms" or "auto" (by magnitude, see the module doc)."""
    value = raw.str.strip_chars().cast(pl.Float64, strict=False)
    size = value.abs()
    if unit == "s":
        micros_per_unit = pl.when(size < MAX_EPOCH_SECONDS).then(pl.lit(1_000_000.0))
    elif unit == "ms":
        micros_per_unit = pl.when(size < MAX_EPOCH_MILLISECONDS).then(pl.lit(1_000.0))
    else:
        micros_per_unit = (
            pl.when(size < MAX_EPOCH_SECONDS)
            .then(pl.lit(1_000_000.0))
            .when(size < MAX_EPOCH_MILLISECONDS)
            .then(pl.lit(1_000.0))
        )
    micros = (value * micros_per_unit).round(0).cast(pl.Int64)
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
