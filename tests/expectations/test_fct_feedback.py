"""expectations/core/fct_feedback.py: a good table passes; breaking a critical expectation stops the build."""

from datetime import UTC, datetime

import duckdb
import pytest
from good_tables import AS_OF, dim_feedback_types_frame, fct_feedback_frame
from helpers import given

from expectations import DataQualityError, validate_layer
from expectations.core.fct_feedback import TABLE, build_suite
from expectations.severity import CRITICAL, WARNING
from expectations.validate import sql_checks

TABLES = {TABLE}


@pytest.fixture
def good(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given(con, TABLE, fct_feedback_frame())
    given(con, "core.dim_feedback_types", dim_feedback_types_frame())
    return con


# Each mutation changes the row fb-0003 only; a sample names the bad rows by key.
KEY = '"feedback_id": "fb-0003"'
# (id, mutation, expectation type, column, the kwargs that tell two expectations apart, bad value)
BREAKS = [
    ("feedback_id null", "set feedback_id = null",
     "expect_column_values_to_not_be_null", "feedback_id", (), None),
    ("feedback_id duplicate", "set feedback_id = 'fb-0002'",
     "expect_column_values_to_be_unique", "feedback_id", (), "fb-0002"),
    ("received_at null", "set received_at = null",
     "expect_column_values_to_not_be_null", "received_at", (), KEY),
    ("received_at after as_of + 10 min", "set received_at = timestamptz '2026-11-01 00:10:01+00'",
     "expect_column_values_to_be_between", "received_at", ("max_value",), "2026-11-01 00:10:01"),
    ("received_at before 2000", "set received_at = timestamptz '1970-01-01 00:00:00+00'",
     "expect_column_values_to_be_between", "received_at", ("min_value",), "1970-01-01"),
    ("score_10 above 10", "set score_10 = 11",
     "expect_column_values_to_be_between", "score_10", ("max_value", "min_value"), "11.0"),
    ("score_10 negative", "set score_10 = -1",
     "expect_column_values_to_be_between", "score_10", ("max_value", "min_value"), "-1.0"),
    ("nps_group unknown", "set nps_group = 'promotor'",
     "expect_column_values_to_be_in_set", "nps_group", ("value_set",), "promotor"),
    ("channel_id null", "set channel_id = null",
     "expect_column_values_to_not_be_null", "channel_id", (), KEY),
    ("conversation_id null", "set conversation_id = null",
     "expect_column_values_to_not_be_null", "conversation_id", (), KEY),
    ("is_conversation_repeat null", "set is_conversation_repeat = null",
     "expect_column_values_to_not_be_null", "is_conversation_repeat", (), KEY),
    ("channel_id not in registry", "set channel_id = 'fax'",
     "expect_column_values_to_be_in_set", "channel_id", ("value_set",), "fax"),
    ("channel_id of a non-feedback channel", "set channel_id = 'erp_orders_monthly'",
     "expect_column_values_to_be_in_set", "channel_id", ("value_set",), "erp_orders_monthly"),
    ("directorate_id null", "set directorate_id = null",
     "expect_column_values_to_not_be_null", "directorate_id", (), KEY),
    ("directorate_id not in org", "set directorate_id = 'marketing'",
     "expect_column_values_to_be_in_set", "directorate_id", ("value_set",), "marketing"),
    ("kind null", "set kind = null",
     "expect_column_values_to_not_be_null", "kind", (), KEY),
    ("kind unknown", "set kind = 'complaints'",
     "expect_column_values_to_be_in_set", "kind", ("value_set",), "complaints"),
]  # fmt: skip


def _key(expectation_type: str, column: str | None, kwargs: dict) -> tuple:
    return expectation_type, column, tuple(sorted(k for k in kwargs if k not in {"column", "column_list"}))


def test_good_table_passes(good: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(good, "core", run_id="run-good", as_of=AS_OF, tables=TABLES)
    assert report.success and not report.failures
    sql = [c for c in sql_checks("core") if c.table == TABLE]
    assert len(report.results) == len(build_suite().expectations) + len(sql)


def test_a_few_minutes_of_clock_skew_is_tolerated(good: duckdb.DuckDBPyConnection) -> None:
    good.execute(f"update {TABLE} set received_at = timestamptz '2026-11-01 00:09:00+00' where feedback_id = 'fb-0001'")
    assert validate_layer(good, "core", run_id="run-skew", as_of=AS_OF, tables=TABLES).success


def test_every_critical_expectation_has_a_breaking_case() -> None:
    critical = {
        _key(e.expectation_type, getattr(e, "column", None), e.configuration.kwargs)
        for e in build_suite().expectations
        if e.meta["severity"] == CRITICAL
    }
    assert critical == {(kind, column, names) for _, _, kind, column, names, _ in BREAKS}


@pytest.mark.parametrize(("mutation", "expectation", "column", "names", "bad"), [b[1:] for b in BREAKS],
                         ids=[b[0] for b in BREAKS])  # fmt: skip
def test_breaking_a_critical_expectation_raises(
    good: duckdb.DuckDBPyConnection,
    mutation: str,
    expectation: str,
    column: str,
    names: tuple,
    bad: str | None,
) -> None:
    good.execute(f"update {TABLE} {mutation} where feedback_id = 'fb-0003'")
    with pytest.raises(DataQualityError) as caught:
        validate_layer(good, "core", run_id="run-bad", as_of=AS_OF, tables=TABLES)

    [failure] = caught.value.report.critical_failures
    assert (failure.expectation, failure.column) == (expectation, column)
    assert all(f"{name}=" in failure.detail for name in names)
    message = str(caught.value)
    for part in (TABLE, expectation, f"column {column}", f"observed {failure.unexpected_count} of 60 rows"):
        assert part in message
    assert failure.unexpected_count in (1, 2)  # a duplicate counts both rows
    if bad is not None:
        assert bad in message


def test_received_at_is_judged_against_as_of_not_the_wall_clock(good: duckdb.DuckDBPyConnection) -> None:
    replay_as_of = datetime(2026, 10, 1, tzinfo=UTC)  # the good data runs into October
    # as_of plus the readers' 10-minute clock-skew tolerance (transforms/normalize/entities.py)
    with pytest.raises(DataQualityError, match=r"max_value=2026-10-01 00:10:00\+00:00\) column received_at"):
        validate_layer(good, "core", run_id="replay", as_of=replay_as_of, tables=TABLES)


def test_unclassified_share_over_limit_is_a_recorded_warning(good: duckdb.DuckDBPyConnection) -> None:
    good.execute(f"update {TABLE} set kind = 'unclassified' where feedback_id < 'fb-0030'")  # half

    report = validate_layer(good, "core", run_id="run-warn", as_of=AS_OF, tables=TABLES)

    [warning] = report.warnings
    assert report.success and (warning.expectation, warning.column) == (
        "expect_column_values_to_not_be_in_set",
        "kind",
    )
    assert warning.observed_value.startswith("35 of 60 rows unexpected (58.33%)")
    recorded = good.execute(
        "select severity, success, unexpected_count, message from audit.validation_results "
        "where run_id = 'run-warn' and not success"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in recorded] == [(WARNING, False, 35)]
    assert "has_text == True" in recorded[0][3]


def test_items_without_text_do_not_count_towards_the_unclassified_share(
    good: duckdb.DuckDBPyConnection,
) -> None:
    good.execute(f"update {TABLE} set kind = 'unclassified', has_text = false where feedback_id < 'fb-0030'")
    report = validate_layer(good, "core", run_id="run-notext", as_of=AS_OF, tables=TABLES)
    assert not report.failures
