"""expectations/marts/management_monthly.py and its reconciliation with core.fct_feedback."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from good_tables import AS_OF, fct_feedback_frame, management_monthly_frame
from helpers import given

from expectations import DataQualityError, validate_layer
from expectations.marts.management_monthly import (
    COUNT_COLUMNS,
    NOT_NEGATIVE_COLUMNS,
    RATE_COLUMNS,
    SCORE_COLUMNS,
    SHARE_COLUMNS,
    TABLE,
    build_suite,
)
from expectations.severity import CRITICAL

MART_SQL = Path(__file__).resolve().parents[2] / "transforms" / "sql" / "marts" / "management_monthly.sql"
RECONCILIATION = "assert_management_monthly_items_match_fct_feedback"
CASES_RECONCILIATION = "assert_management_monthly_cases_match_fct_cases"
CASE_MONTH = date(2026, 9, 1)
ANY_ROW = "(select report_month from marts.management_monthly where directorate_id = 'retail' limit 1)"
# A copy of one directorate row with no items, so that only the changed column breaks a check.
COPY_ROW = (
    "insert into marts.management_monthly by name select * replace "
    "({}, 0::bigint as items_count, 0::bigint as conversation_repeats_count, 0::bigint as cases_count, "
    "0::bigint as cases_closed_count, 0::bigint as cases_reopened_count) "
    "from marts.management_monthly where directorate_id = 'retail' limit 1"
)

BETWEEN = "expect_column_values_to_be_between"
ALL_COUNTS_NEGATIVE = ", ".join(f"{c} = -1" for c in COUNT_COLUMNS)
ALL_RATES_ABOVE_1 = ", ".join(f"{c} = 1.5" for c in RATE_COLUMNS)
ALL_SHARES_ABOVE_1 = ", ".join(f"{c} = 1.5" for c in SHARE_COLUMNS)
ENPS_BEYOND_100 = ", ".join(f"{c} = 150" for c in SCORE_COLUMNS if c != "nps")
ALL_NEGATIVE = ", ".join(f"{c} = -1" for c in NOT_NEGATIVE_COLUMNS)

# (id, statement, the critical failures it must cause as (expectation, column)). Counts and rates are
# broken together, on the company row 'all' (which the reconciliation leaves out), so that each of
# those expectations is shown to fail without a validation run per column.
BREAKS = [
    ("report_month null", COPY_ROW.format("null::date as report_month"),
     {("expect_column_values_to_not_be_null", "report_month")}),
    ("directorate_id null", COPY_ROW.format("null::varchar as directorate_id"),
     {("expect_column_values_to_not_be_null", "directorate_id")}),
    ("directorate_id not in org", COPY_ROW.format("'marketing' as directorate_id"),
     {("expect_column_values_to_be_in_set", "directorate_id")}),
    ("month and directorate twice", COPY_ROW.format("directorate_id as directorate_id"),
     {("expect_compound_columns_to_be_unique", "report_month, directorate_id")}),
    ("nps above 100", "update marts.management_monthly set nps = 150 where directorate_id = 'all'",
     {(BETWEEN, "nps")}),
    ("nps below -100", "update marts.management_monthly set nps = -101 where directorate_id = 'all'",
     {(BETWEEN, "nps")}),
    ("every count negative",
     f"update marts.management_monthly set {ALL_COUNTS_NEGATIVE} where directorate_id = 'all'",
     {(BETWEEN, c) for c in COUNT_COLUMNS} | {(CASES_RECONCILIATION, None)}),
    ("every rate above 1",
     f"update marts.management_monthly set {ALL_RATES_ABOVE_1} where directorate_id = 'all'",
     {(BETWEEN, c) for c in RATE_COLUMNS}),
    ("every share above 1",
     f"update marts.management_monthly set {ALL_SHARES_ABOVE_1} where directorate_id = 'all'",
     {(BETWEEN, c) for c in SHARE_COLUMNS}),
    ("enps and its interval above 100",
     f"update marts.management_monthly set {ENPS_BEYOND_100} where directorate_id = 'all'",
     {(BETWEEN, c) for c in SCORE_COLUMNS if c != "nps"}),
    ("csi, hours and roubles negative",
     f"update marts.management_monthly set {ALL_NEGATIVE} where directorate_id = 'all'",
     {(BETWEEN, c) for c in NOT_NEGATIVE_COLUMNS}),
    ("a case never reached the mart", "delete from core.fct_cases where case_id = 'CASE-1'",
     {(CASES_RECONCILIATION, None)}),
    ("the company row counts a reopened case twice",
     "update marts.management_monthly set cases_reopened_count = 2 where directorate_id = 'all' "
     "and report_month = date '2026-09-01'", {(CASES_RECONCILIATION, None)}),
    ("a rate below 0",
     f"update marts.management_monthly set {RATE_COLUMNS[0]} = -0.1 where directorate_id = 'all'",
     {(BETWEEN, RATE_COLUMNS[0])}),
    ("a directorate row counts one item too many",
     f"update marts.management_monthly set items_count = items_count + 1 "
     f"where directorate_id = 'retail' and report_month = {ANY_ROW}",
     {(RECONCILIATION, None)}),
    ("a core row never reached the mart", "delete from core.fct_feedback where feedback_id = 'fb-0007'",
     {(RECONCILIATION, None)}),
    ("a conversation repeat counted as an item", "update core.fct_feedback set is_conversation_repeat = true "
     "where feedback_id = 'fb-0007'", {(RECONCILIATION, None)}),
    ("a repeat never reached the mart", "delete from core.fct_feedback where feedback_id = 'fb-0009'",
     {(RECONCILIATION, None)}),
]  # fmt: skip


def cases_frame() -> pl.DataFrame:
    """Two retail cases opened in September 2026, both closed, one of them reopened."""
    return pl.DataFrame(
        {
            "case_id": ["CASE-1", "CASE-2"],
            "directorate_id": ["retail", "retail"],
            "opened_month": [CASE_MONTH, CASE_MONTH],
            "closed_at": [datetime(2026, 9, 2, tzinfo=UTC)] * 2,
            "reopened_count": [0, 1],
            "is_under_additional_control": [False, True],
        }
    )


def good_mart(core: pl.DataFrame) -> pl.DataFrame:
    """good_tables' mart with this mart's further columns, its cases matching ``cases_frame``."""
    mart = management_monthly_frame(core)
    has_cases = (pl.col("report_month") == CASE_MONTH) & pl.col("directorate_id").is_in(["retail", "all"])
    return mart.with_columns(
        cases_count=pl.when(has_cases).then(2).otherwise(0),
        cases_closed_count=pl.when(has_cases).then(2).otherwise(0),
        cases_reopened_count=pl.when(has_cases).then(1).otherwise(0),
        **{c: pl.lit(0.5) for c in SHARE_COLUMNS},
        enps=pl.lit(10.0),
        enps_ci_low=pl.lit(-30.0),
        enps_ci_high=pl.lit(50.0),
        **{c: pl.lit(1.5) for c in NOT_NEGATIVE_COLUMNS},
    )


@pytest.fixture
def good(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    core = fct_feedback_frame()
    given(con, "core.fct_feedback", core)
    given(con, "core.fct_cases", cases_frame())
    given(con, TABLE, good_mart(core))
    return con


def test_good_mart_passes_and_reconciles(good: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(good, "marts", run_id="run-good", as_of=AS_OF, tables={TABLE})
    assert report.success and not report.failures
    assert [r.expectation for r in report.results].count(RECONCILIATION) == 1
    assert [r.expectation for r in report.results].count(CASES_RECONCILIATION) == 1
    assert len(report.results) == len(build_suite().expectations) + 2


def test_every_critical_expectation_has_a_breaking_case() -> None:
    critical = {
        (e.expectation_type, getattr(e, "column", None) or ", ".join(getattr(e, "column_list", [])))
        for e in build_suite().expectations
        if e.meta["severity"] == CRITICAL
    }
    assert critical | {(RECONCILIATION, None), (CASES_RECONCILIATION, None)} == set().union(*(b[2] for b in BREAKS))


@pytest.mark.parametrize(("statement", "expected"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS])
def test_breaking_a_critical_expectation_raises(
    good: duckdb.DuckDBPyConnection, statement: str, expected: set[tuple[str, str | None]]
) -> None:
    good.execute(statement)
    with pytest.raises(DataQualityError) as caught:
        validate_layer(good, "marts", run_id="run-bad", as_of=AS_OF, tables={TABLE})

    failures = caught.value.report.critical_failures
    assert {(f.expectation, f.column) for f in failures} == expected
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 + len(failures)  # a header, then one line per failure
    for failure, line in zip(failures, lines[1:], strict=True):
        assert f"{TABLE} {failure.expectation}" in line
        assert f"observed {failure.observed_value}" in line
        if failure.column is not None:
            assert f"column {failure.column}:" in line and "sample [" in line
        elif failure.expectation == RECONCILIATION:
            assert "observed 1 bad row(s); sample [{" in line and "mart_items_count" in line
        else:
            assert "bad row(s); sample [{" in line and "core_value" in line


def test_reconciliation_sample_names_the_month_and_both_totals(good: duckdb.DuckDBPyConnection) -> None:
    good.execute("delete from core.fct_feedback where feedback_id = 'fb-0000'")  # received 2026-09-01
    with pytest.raises(DataQualityError) as caught:
        validate_layer(good, "marts", run_id="run-bad", as_of=AS_OF, tables={TABLE})
    [failure] = caught.value.report.critical_failures
    [row] = failure.sample
    assert str(row["report_month"]) == "2026-09-01"
    assert row["mart_items_count"] == row["core_items_count"] + 1
    assert row["mart_repeats_count"] == row["core_repeats_count"]


def test_repeats_are_reconciled_apart_from_items(good: duckdb.DuckDBPyConnection) -> None:
    assert good.execute("select count(*) from core.fct_feedback where is_conversation_repeat").fetchone()[0] > 0
    good.execute("update marts.management_monthly set items_count = items_count + conversation_repeats_count")
    with pytest.raises(DataQualityError) as caught:
        validate_layer(good, "marts", run_id="run-bad", as_of=AS_OF, tables={TABLE})
    row = caught.value.report.critical_failures[0].sample[0]
    assert row["mart_items_count"] == row["core_items_count"] + row["core_repeats_count"]


@pytest.mark.skipif(not MART_SQL.exists(), reason="the mart's SQL model is not in this checkout")
def test_every_count_and_rate_column_of_the_mart_sql_is_checked() -> None:
    in_sql = set(re.findall(r"\b(\w+_(?:count|rate))\b", MART_SQL.read_text(encoding="utf-8")))
    in_sql -= {"reopened_count"}  # a column of core.fct_cases the mart reads, not one it writes
    assert in_sql == set(COUNT_COLUMNS) | set(RATE_COLUMNS), "add the column to the suite's lists (or drop it)"
