"""expectations/marts/management_monthly.py and its reconciliation with core.fct_feedback."""

import re
from pathlib import Path

import duckdb
import pytest
from good_tables import AS_OF, fct_feedback_frame, management_monthly_frame
from helpers import given

from expectations import DataQualityError, validate_layer
from expectations.marts.management_monthly import COUNT_COLUMNS, RATE_COLUMNS, TABLE, build_suite
from expectations.severity import CRITICAL

MART_SQL = Path(__file__).resolve().parents[2] / "transforms" / "sql" / "marts" / "management_monthly.sql"
RECONCILIATION = "assert_management_monthly_items_match_fct_feedback"
ANY_ROW = "(select report_month from marts.management_monthly where directorate_id = 'retail' limit 1)"
# A copy of one directorate row with no items, so that only the changed column breaks a check.
COPY_ROW = (
    "insert into marts.management_monthly by name select * replace "
    "({}, 0::bigint as items_count, 0::bigint as conversation_repeats_count) "
    "from marts.management_monthly where directorate_id = 'retail' limit 1"
)

BETWEEN = "expect_column_values_to_be_between"
ALL_COUNTS_NEGATIVE = ", ".join(f"{c} = -1" for c in COUNT_COLUMNS)
ALL_RATES_ABOVE_1 = ", ".join(f"{c} = 1.5" for c in RATE_COLUMNS)

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
     {(BETWEEN, c) for c in COUNT_COLUMNS}),
    ("every rate above 1",
     f"update marts.management_monthly set {ALL_RATES_ABOVE_1} where directorate_id = 'all'",
     {(BETWEEN, c) for c in RATE_COLUMNS}),
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


@pytest.fixture
def good(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    core = fct_feedback_frame()
    given(con, "core.fct_feedback", core)
    given(con, TABLE, management_monthly_frame(core))
    return con


def test_good_mart_passes_and_reconciles(good: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(good, "marts", run_id="run-good", as_of=AS_OF, tables={TABLE})
    assert report.success and not report.failures
    assert [r.expectation for r in report.results].count(RECONCILIATION) == 1
    assert len(report.results) == len(build_suite().expectations) + 1


def test_every_critical_expectation_has_a_breaking_case() -> None:
    critical = {
        (e.expectation_type, getattr(e, "column", None) or ", ".join(getattr(e, "column_list", [])))
        for e in build_suite().expectations
        if e.meta["severity"] == CRITICAL
    }
    assert critical | {(RECONCILIATION, None)} == set().union(*(b[2] for b in BREAKS))


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
        else:
            assert "observed 1 bad row(s); sample [{" in line and "mart_items_count" in line


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
    assert in_sql == set(COUNT_COLUMNS) | set(RATE_COLUMNS), "add the column to the suite's lists (or drop it)"
