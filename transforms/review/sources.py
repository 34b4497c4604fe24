"""What a review freezes, read from the marts: the window of months, or the week's rows of the weekly marts."""

import duckdb
import polars as pl

from transforms.review.config import ReviewSettings
from transforms.review.periods import Period, add_months
from transforms.review.snapshot import FrozenTable
from transforms.review.tables import mart_key_columns

COMPLAINTS_BY_TYPE = "marts.complaints_by_type_monthly"


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
    return tables


WEEKLY_TABLES = {
    "weekly.summary": ("directorate_id",),
    "weekly.top_types": ("directorate_id", "feedback_type_id"),
    "weekly.sla_breaches": ("directorate_id", "sla_policy_id"),
    "weekly.reopened_cases": ("directorate_id", "case_id"),
    "weekly.systemic_errors": ("directorate_id", "feedback_type_id"),
}
# What each weekly table is, read from the weekly marts for one week ($week) and scope ($scope: a
# directorate, or 'all'); the review's thresholds come from review.yaml ($top, $min_complaints,
# $min_customers).
WEEKLY_QUERIES = {
    "weekly.summary": """
        select directorate_id, items_count, previous_items_count, complaints_count, previous_complaints_count,
            nps_answers_count, nps, sla_measured_count, sla_breached_count
        from marts.weekly_summary
        where week_start = $week and directorate_id = $scope""",
    "weekly.top_types": """
        select directorate_id, feedback_type_id, feedback_type_label, complaints_count, previous_complaints_count,
            complaints_change
        from marts.weekly_type_complaints
        where week_start = $week and directorate_id = $scope and complaints_count > 0
        order by complaints_count desc, feedback_type_id
        limit $top""",
    "weekly.sla_breaches": """
        select directorate_id, sla_policy_id, measured_count, breached_count, compliance_rate
        from marts.weekly_sla_breaches
        where week_start = $week and directorate_id = $scope
        order by sla_policy_id""",
    "weekly.reopened_cases": """
        select $scope as directorate_id, case_id, manager_id, opened_local, reopened_in_week_count, reopened_count,
            is_open, body_text
        from marts.weekly_reopened_cases
        where week_start = $week and $scope in ('all', directorate_id)
        order by opened_at, case_id""",
    "weekly.systemic_errors": """
        select directorate_id, feedback_type_id, feedback_type_label, complaints_count, customers_count, channels_count
        from marts.weekly_type_complaints
        where week_start = $week and directorate_id = $scope
            and complaints_count >= $min_complaints and customers_count >= $min_customers
        order by complaints_count desc, feedback_type_id""",
}


def weekly_tables(con: duckdb.DuckDBPyConnection, period: Period, settings: ReviewSettings) -> list[FrozenTable]:
    """The weekly directorate review's tables: the rows of the weekly marts for the ISO week of ``period``."""
    parameters = {
        "week": period.start,
        "scope": period.scope,
        "top": settings.weekly.top_types,
        "min_complaints": settings.weekly.systemic_min_complaints,
        "min_customers": settings.weekly.systemic_min_customers,
    }
    tables = []
    for name, keys in WEEKLY_TABLES.items():
        query = WEEKLY_QUERIES[name]
        used = {k: v for k, v in parameters.items() if f"${k}" in query}
        frame: pl.DataFrame = con.execute(query, used).pl()
        tables.append(FrozenTable(name, frame, keys))
    return tables
