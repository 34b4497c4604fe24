"""The tables a review shows, as frames: their grain columns, row keys and figure ids.

A review freezes named tables (``marts.management_monthly``, ``weekly.top_types``, ...). Each row is
identified by its grain (``key_columns``) and each numeric cell of it is a *figure*, named
``<table>|<row key>|<column>``: the drill-through and the restatement diff both use that name.
"""

from datetime import date

import polars as pl

FIGURE_SEPARATOR = "|"

# Members that stand for "no value" in a dimension: a fact with a null there belongs to them.
MISSING_MEMBERS = ("unassigned", "unknown", "missing")
# The company row of a mart (is_company_total): it stands for every member of its dimension.
COMPANY_MEMBER = "all"


def mart_key_columns(frame: pl.DataFrame) -> tuple[str, ...]:
    """The grain of a mart: its month and every text ``*_id`` column (the contract of the marts)."""
    keys = [c for c in frame.columns if c == "report_month"]
    keys += [c for c, t in frame.schema.items() if c.endswith("_id") and t == pl.String]
    return tuple(keys)


def row_key(row: dict, key_columns: tuple[str, ...]) -> str:
    return FIGURE_SEPARATOR.join("" if row[c] is None else _text(row[c]) for c in key_columns)


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def figure_id(table: str, key: str, column: str) -> str:
    return f"{table}{FIGURE_SEPARATOR}{key}{FIGURE_SEPARATOR}{column}"


def with_row_keys(frame: pl.DataFrame, key_columns: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` plus a ``_row_key`` column (string), as the drill-through SQL joins on it."""
    keys = [row_key(r, key_columns) for r in frame.select(key_columns).to_dicts()] if key_columns else []
    if not key_columns:
        keys = [str(i) for i in range(frame.height)]
    return frame.with_columns(pl.Series("_row_key", keys, dtype=pl.String))


def figure_columns(frame: pl.DataFrame, key_columns: tuple[str, ...]) -> list[str]:
    """Numeric columns that are not part of the grain: the figures of each row."""
    return [c for c, t in frame.schema.items() if t.is_numeric() and c not in key_columns]


def period_rows(frame: pl.DataFrame, period_start: date) -> pl.DataFrame:
    """Rows of the reviewed period: ``report_month`` = its first day where the table has that column."""
    if "report_month" in frame.columns:
        return frame.filter(pl.col("report_month") == period_start)
    return frame
