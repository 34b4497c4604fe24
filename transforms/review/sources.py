"""What a review freezes, read from the warehouse: the marts' window of months, or the week's tables."""

from pathlib import Path

import duckdb
import polars as pl

from transforms.review.config import ReviewSettings
from transforms.review.periods import Period, add_months, local_bounds
from transforms.review.snapshot import FrozenTable
from transforms.review.tables import mart_key_columns

SQL_DIR = Path(__file__).with_name("sql")
COMPLAINTS_BY_TYPE = "review.complaints_by_type"


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def monthly_marts(con: duckdb.DuckDBPyConnection, order: tuple[str, ...]) -> list[str]:
    """Every marts table with a report_month column: the configured ones first, in their order."""
    found = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.columns"
            " where table_schema = 'marts' and column_name = 'report_month'"
        ).fetchall()
    }
    return [m for m in order if m in found] + sorted(found - set(order))


def monthly_tables(con: duckdb.DuckDBPyConnection, period: Period, settings: ReviewSettings) -> list[FrozenTable]:
    """The rows of every monthly mart in the trend window ending with ``period``, and complaints by type."""
    first = add_months(period.start, 1 - settings.monthly.trend_months)
    tables = []
    for mart in monthly_marts(con, settings.monthly.marts):
        frame = con.execute(
            f"select * from marts.{mart} where report_month >= ? and report_month < ? order by all",
            [first, period.end],
        ).pl()
        tables.append(FrozenTable(f"marts.{mart}", frame, mart_key_columns(frame)))
    by_type = con.execute(_sql("complaints_by_type"), [first, period.end]).pl()
    tables.append(FrozenTable(COMPLAINTS_BY_TYPE, by_type, ("report_month", "directorate_id", "feedback_type_id")))
    return tables


WEEKLY_TABLES = {
    "weekly.summary": ("directorate_id",),
    "weekly.top_types": ("directorate_id", "feedback_type_id"),
    "weekly.sla_breaches": ("directorate_id", "sla_policy_id"),
    "weekly.reopened_cases": ("directorate_id", "case_id"),
    "weekly.systemic_errors": ("directorate_id", "feedback_type_id"),
}


def weekly_tables(
    con: duckdb.DuckDBPyConnection, period: Period, settings: ReviewSettings, reporting_timezone: str
) -> list[FrozenTable]:
    """The weekly directorate review's tables, computed from core for the ISO week of ``period``."""
    start, end = local_bounds(period)
    con.execute("set variable review_start = ?::timestamp", [start])
    con.execute("set variable review_end = ?::timestamp", [end])
    con.execute("set variable review_previous_start = ?::timestamp", [start - (end - start)])
    con.execute("set variable review_timezone = ?", [reporting_timezone])
    con.execute("set variable review_directorate_id = ?", [period.scope])
    con.execute("set variable review_top_types = ?::bigint", [settings.weekly.top_types])
    con.execute("set variable review_systemic_min_complaints = ?::bigint", [settings.weekly.systemic_min_complaints])
    con.execute("set variable review_systemic_min_customers = ?::bigint", [settings.weekly.systemic_min_customers])
    tables = []
    for name, keys in WEEKLY_TABLES.items():
        frame: pl.DataFrame = con.execute(_sql(name.replace(".", "_"))).pl()
        tables.append(FrozenTable(name, frame, keys))
    return tables
