"""The suite of marts.management_monthly (generated from its spec, transforms/sql/marts/management_monthly.yml)
and its reconciliation with core: the mart as its SQL builds it passes; each kind of damage fails the
expectation made for it."""

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from good_tables import AS_OF, fct_cases_frame, fct_feedback_frame, given_management_monthly
from helpers import given

from expectations import DataQualityError, validate_layer
from expectations.declared import declared_checks, declared_suites
from expectations.severity import CRITICAL
from transforms.model_specs import load_spec

TABLE = "marts.management_monthly"
SPEC = load_spec("marts", "management_monthly")


def columns_with(check: str) -> tuple[str, ...]:
    return tuple(c for c, spec in SPEC.columns.items() if check in spec.checks)


def build_suite():
    [suite] = [s for s in declared_suites("marts") if s.TABLE == TABLE]
    return suite.build_suite()


COUNT_COLUMNS = columns_with("count")
SHARE_COLUMNS = columns_with("share")
SCORE_COLUMNS = columns_with("score")
NOT_NEGATIVE_COLUMNS = columns_with("not_negative")
MART_SQL = Path(__file__).resolve().parents[2] / "transforms" / "sql" / "marts" / "management_monthly.sql"
RECONCILIATION = "assert_management_monthly_items_match_fct_feedback"
CASES_RECONCILIATION = "assert_management_monthly_cases_match_fct_cases"
CASE_MONTH = date(2026, 9, 1)
ANY_ROW = "(select report_month from marts.management_monthly where directorate_id = 'retail' limit 1)"
# A copy of one directorate row with no items, so that only the changed column breaks a check.
COPY_ROW = (
    "insert into marts.management_monthly by name select * replace "
    "({}, 0::bigint as items_count, 0::bigint as complaints_count, 0::bigint as wishes_count, "
    "0::bigint as thanks_count, 0::bigint as questions_count, 0::bigint as other_count, "
    "0::bigint as unclassified_count, 0::bigint as conversation_repeats_count, 0::bigint as cases_count, "
    "0::bigint as cases_closed_count, 0::bigint as cases_reopened_count, 0::bigint as cases_contacted_count, "
    "0::bigint as issues_count) "
    "from marts.management_monthly where directorate_id = 'retail' limit 1"
)

ALL_COUNTS_NEGATIVE = ", ".join(f"{c} = -1" for c in COUNT_COLUMNS)
ALL_SHARES_ABOVE_1 = ", ".join(f"{c} = 1.5" for c in SHARE_COLUMNS)
ALL_SCORES_BEYOND_100 = ", ".join(f"{c} = 150" for c in SCORE_COLUMNS)
ALL_NEGATIVE = ", ".join(f"{c} = -1" for c in NOT_NEGATIVE_COLUMNS)
ALL_COUNTS_NULL = ", ".join(f"{c} = null" for c in COUNT_COLUMNS)
# each part at most its whole: a part set above it
PARTS = tuple(
    (column, next(c["at_most"] for c in spec.checks if isinstance(c, dict) and "at_most" in c))
    for column, spec in SPEC.columns.items()
    if any(isinstance(c, dict) and "at_most" in c for c in spec.checks)
)
# a part whose whole is itself a part (reopened of closed of opened cases) is broken in a second update
NESTED = tuple((part, whole) for part, whole in PARTS if whole in dict(PARTS))
OUTER = tuple(pair for pair in PARTS if pair not in NESTED)
ALL_PARTS_ABOVE_THEIR_WHOLE = ", ".join(f"{part} = {whole} + 1" for part, whole in OUTER)
NESTED_PARTS_ABOVE_THEIR_WHOLE = ", ".join(f"{part} = {whole} + 1" for part, whole in NESTED)
FLAGS = tuple(c for c in SPEC.columns if c.startswith("is_"))
ALL_FLAGS_NULL = ", ".join(f"{c} = null" for c in FLAGS)

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
    ("nps below -100", "update marts.management_monthly set nps = -101 where directorate_id = 'all'",
     {("spec_score", None)}),
    ("every count negative",
     f"update marts.management_monthly set {ALL_COUNTS_NEGATIVE} where directorate_id = 'all'",
     {("spec_count", None), (CASES_RECONCILIATION, None)}),
    ("every count missing",
     f"update marts.management_monthly set {ALL_COUNTS_NULL} where directorate_id = 'all'",
     {("spec_count", None), (CASES_RECONCILIATION, None)}),
    ("every part above its whole",
     f"update marts.management_monthly set {ALL_PARTS_ABOVE_THEIR_WHOLE} where directorate_id = 'all'",
     {("spec_at_most", None), (CASES_RECONCILIATION, None)}),
    ("a part of a part above its whole",
     f"update marts.management_monthly set {NESTED_PARTS_ABOVE_THEIR_WHOLE} where directorate_id = 'all'",
     {("spec_at_most", None), (CASES_RECONCILIATION, None)}),
    ("every share and rate above 1",
     f"update marts.management_monthly set {ALL_SHARES_ABOVE_1} where directorate_id = 'all'",
     {("spec_share", None)}),
    ("every NPS-type score and interval beyond 100",
     f"update marts.management_monthly set {ALL_SCORES_BEYOND_100} where directorate_id = 'all'",
     {("spec_score", None)}),
    ("csi, hours, orders and roubles negative",
     f"update marts.management_monthly set {ALL_NEGATIVE} where directorate_id = 'all'",
     {("spec_not_negative", None)}),
    ("every flag and label missing",
     f"update marts.management_monthly set {ALL_FLAGS_NULL}, directorate_name = null where directorate_id = 'all'",
     {("spec_not_null", None)}),
    ("a case never reached the mart", "delete from core.fct_cases where case_id = 'CASE-1'",
     {(CASES_RECONCILIATION, None)}),
    ("the company row counts a reopened case twice",
     "update marts.management_monthly set cases_reopened_count = 2 where directorate_id = 'all' "
     "and report_month = date '2026-09-01'", {(CASES_RECONCILIATION, None)}),
    ("a rate below 0",
     f"update marts.management_monthly set {SHARE_COLUMNS[0]} = -0.1 where directorate_id = 'all'",
     {("spec_share", None)}),
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


def cases_frame():
    """Two retail cases opened in September 2026, both closed, one of them reopened."""
    opened = datetime(2026, 9, 1, 9, tzinfo=UTC)
    return fct_cases_frame(
        [
            {
                "case_id": f"CASE-{i}",
                "directorate_id": "retail",
                "department_id": "unassigned",
                "manager_id": "unassigned",
                "opened_at": opened,
                "first_contact_at": opened,
                "closed_at": datetime(2026, 9, 2, tzinfo=UTC),
                "reopened_count": reopened,
                "opened_month": CASE_MONTH,
            }
            for i, reopened in ((1, 0), (2, 1))
        ]
    )


@pytest.fixture
def good(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given(con, "core.fct_feedback", fct_feedback_frame())
    given(con, "core.fct_cases", cases_frame())
    given_management_monthly(con)
    return con


def test_good_mart_passes_and_reconciles(good: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(good, "marts", run_id="run-good", as_of=AS_OF, tables={TABLE})
    assert report.success and not report.failures
    assert [r.expectation for r in report.results].count(RECONCILIATION) == 1
    assert [r.expectation for r in report.results].count(CASES_RECONCILIATION) == 1
    declared = [c for c in declared_checks("marts") if c.table == TABLE]
    assert len(report.results) == len(build_suite().expectations) + 2 + len(declared)
    assert (
        good.execute("select sum(cases_count) from marts.management_monthly where directorate_id = 'all'").fetchone()[0]
        == 2
    )


def _pair(expectation) -> list[str]:
    return [getattr(expectation, "column_A", None) or "", getattr(expectation, "column_B", None) or ""]


def test_every_critical_expectation_has_a_breaking_case() -> None:
    critical = {
        (
            e.expectation_type,
            getattr(e, "column", None)
            or ", ".join(
                getattr(e, "column_list", None) or [getattr(e, "column_A", None), getattr(e, "column_B", None)]
            ),
        )
        for e in build_suite().expectations
        if e.meta["severity"] == CRITICAL
    } | {(c.name, None) for c in declared_checks("marts") if c.table == TABLE}
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
            assert "bad row(s); sample [{" in line and ("core_value" in line or "broken_columns" in line)


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


def test_the_spec_names_every_column_of_the_mart(good: duckdb.DuckDBPyConnection) -> None:
    columns = [r[0] for r in good.execute("describe marts.management_monthly").fetchall()]
    assert columns == list(SPEC.columns)


def test_a_row_wise_check_names_the_row_and_the_columns_it_breaks(good: duckdb.DuckDBPyConnection) -> None:
    good.execute("update marts.management_monthly set csat = 1.5, reopen_rate = 2 where directorate_id = 'all'")
    with pytest.raises(DataQualityError) as caught:
        validate_layer(good, "marts", run_id="run-bad", as_of=AS_OF, tables={TABLE})
    [failure] = caught.value.report.critical_failures
    assert (failure.expectation, failure.unexpected_count) == ("spec_share", 2)  # the two company rows
    assert {(row["directorate_id"], row["broken_columns"]) for row in failure.sample} == {("all", "csat, reopen_rate")}
