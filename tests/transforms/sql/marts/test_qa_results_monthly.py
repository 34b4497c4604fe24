"""marts.qa_results_monthly from a hand-made core.fct_qa_checks (given/expect), and its suite.

October: retail/m_orlov 4 sampled (2 passed, 1 failed and still in rework, 1 not checked);
logistics/m_fedorov 2 sampled in full as a new owner (1 passed, 1 failed and closed again).
November: retail/m_orlov 1 sampled, not checked. Clarity grades: m_orlov's checked cases 5, 4 and 2;
m_fedorov's pass not graded, his fail 1.
"""

from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest

from tests.helpers import given, run_model

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
COLUMNS = ("sampled_count", "sampled_in_full_count", "checked_count", "passed_count", "failed_count",
           "rework_open_count", "pass_rate")  # fmt: skip


def checks() -> pl.DataFrame:
    rows = [
        (OCT, "o1", "retail", "m_orlov", "rate", "pass", False, 5),
        (OCT, "o2", "retail", "m_orlov", "rate", "pass", False, 4),
        (OCT, "o3", "retail", "m_orlov", "rate", "fail", True, 2),
        (OCT, "o4", "retail", "m_orlov", "rate", None, False, None),
        (OCT, "f1", "logistics", "m_fedorov", "new_owner", "pass", False, None),
        (OCT, "f2", "logistics", "m_fedorov", "new_owner", "fail", False, 1),
        (NOV, "o5", "retail", "m_orlov", "failed_last_check", None, False, None),
    ]
    frame = pl.DataFrame(
        rows,
        schema=[
            "sample_month",
            "case_id",
            "directorate_id",
            "manager_id",
            "sample_reason",
            "verdict",
            "is_rework_open",
            ("clarity_score", pl.Int8),
        ],
        orient="row",
    )
    return frame.with_columns(
        report_month=pl.col("sample_month"),
        is_checked=pl.col("verdict").is_not_null(),
        is_passed=(pl.col("verdict") == "pass").fill_null(False),
        is_failed=(pl.col("verdict") == "fail").fill_null(False),
    )


@pytest.fixture
def mart(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given(con, "core.fct_qa_checks", checks())
    given(con, "marts.qa_results_monthly", run_model(con, "marts", "qa_results_monthly"))
    return con


def test_counts_and_pass_rate_per_owner_directorate_and_company(mart: duckdb.DuckDBPyConnection) -> None:
    rows = mart.sql("select * from marts.qa_results_monthly").pl().to_dicts()
    got = {(r["report_month"], r["directorate_id"], r["manager_id"]): tuple(r[c] for c in COLUMNS) for r in rows}
    orlov = (4, 0, 3, 2, 1, 1, 2 / 3)  # the unchecked case is out of the pass rate
    fedorov = (2, 2, 2, 1, 1, 0, 0.5)
    assert got == {
        (OCT, "retail", "m_orlov"): orlov,
        (OCT, "retail", "all"): orlov,
        (OCT, "logistics", "m_fedorov"): fedorov,
        (OCT, "logistics", "all"): fedorov,
        (OCT, "all", "all"): (6, 2, 5, 3, 2, 1, 3 / 5),
        (NOV, "retail", "m_orlov"): (1, 1, 0, 0, 0, 0, None),  # nothing checked: no rate, not 0
        (NOV, "retail", "all"): (1, 1, 0, 0, 0, 0, None),
        (NOV, "all", "all"): (1, 1, 0, 0, 0, 0, None),
    }


def test_clarity_grades_count_and_average_over_the_graded_cases_only(mart: duckdb.DuckDBPyConnection) -> None:
    rows = mart.sql("select * from marts.qa_results_monthly").pl().to_dicts()
    got = {
        (r["report_month"], r["directorate_id"], r["manager_id"]): (
            r["clarity_scored_count"],
            r["clarity_low_count"],
            None if r["clarity_score_avg"] is None else round(r["clarity_score_avg"], 4),
        )
        for r in rows
    }
    orlov = (3, 1, 3.6667)  # (5 + 4 + 2) / 3; the unchecked case has no grade
    fedorov = (1, 1, 1.0)  # the ungraded pass is out of the mean, not a 0
    assert got == {
        (OCT, "retail", "m_orlov"): orlov,
        (OCT, "retail", "all"): orlov,
        (OCT, "logistics", "m_fedorov"): fedorov,
        (OCT, "logistics", "all"): fedorov,
        (OCT, "all", "all"): (4, 2, 3.0),  # (5 + 4 + 2 + 1) / 4
        (NOV, "retail", "m_orlov"): (0, 0, None),  # nothing graded: no mean, not 0
        (NOV, "retail", "all"): (0, 0, None),
        (NOV, "all", "all"): (0, 0, None),
    }


def test_the_suite_passes_and_catches_more_passed_than_checked(mart: duckdb.DuckDBPyConnection) -> None:
    from expectations import DataQualityError, validate_layer

    as_of = datetime(2026, 12, 1, tzinfo=UTC)
    validate_layer(mart, "marts", run_id=None, as_of=as_of, tables={"marts.qa_results_monthly"})
    mart.execute("update marts.qa_results_monthly set passed_count = 9 where manager_id = 'm_fedorov'")
    with pytest.raises(DataQualityError, match="qa_results_monthly"):
        validate_layer(mart, "marts", run_id=None, as_of=as_of, tables={"marts.qa_results_monthly"})


@pytest.mark.parametrize(
    "broken",
    ["clarity_score_avg = 5.5", "clarity_low_count = 9", "clarity_score_avg = null"],
    ids=["mean-above-5", "more-low-than-graded", "graded-without-mean"],
)
def test_the_suite_catches_a_clarity_figure_out_of_its_rules(mart: duckdb.DuckDBPyConnection, broken: str) -> None:
    from expectations import DataQualityError, validate_layer

    mart.execute(f"update marts.qa_results_monthly set {broken} where manager_id = 'm_orlov'")
    with pytest.raises(DataQualityError, match="qa_results_monthly"):
        validate_layer(
            mart, "marts", run_id=None, as_of=datetime(2026, 12, 1, tzinfo=UTC), tables={"marts.qa_results_monthly"}
        )
