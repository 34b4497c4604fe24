"""expectations/validate.py: discovery, the audit rows, the error message, SQL checks, Data Docs."""

import json
import pickle
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from good_tables import AS_OF

from expectations import DataQualityError, LayerReport, validate_layer
from expectations import validate as validate_module
from expectations.core.fct_feedback import TABLE as FCT_FEEDBACK
from expectations.core.fct_feedback import build_suite
from expectations.severity import SEVERITIES, critical

# The tables the fixture builds; the layers' other suites (dimensions, cases, freshness) are not under test here.
BUILT = {FCT_FEEDBACK, "marts.management_monthly"}

AUDIT_COLUMNS = (
    "run_id, layer, suite, expectation, column_name, severity, success, observed_value, "
    "unexpected_count, element_count, sample, message"
)


def _audit(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    cursor = con.execute(f"select {AUDIT_COLUMNS} from audit.validation_results where run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_one_result_row_per_expectation_with_the_run_id(warehouse: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(warehouse, "core", run_id="run-7", as_of=AS_OF, tables=BUILT)

    rows = _audit(warehouse, "run-7")
    sql = [c for c in validate_module.sql_checks("core") if c.table == FCT_FEEDBACK]
    assert len(rows) == len(report.results) == len(build_suite().expectations) + len(sql)
    assert {(r["layer"], r["suite"]) for r in rows} == {("core", FCT_FEEDBACK)}
    assert all(r["severity"] in SEVERITIES and r["success"] for r in rows)
    assert all(r["element_count"] == 60 for r in rows if not r["expectation"].startswith("assert_"))
    assert all(r["message"] for r in rows)  # the why, for a passing expectation


def test_failures_are_recorded_before_raising(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute(f"update {FCT_FEEDBACK} set channel_id = 'fax', score_10 = 42 where feedback_id = 'fb-0003'")

    with pytest.raises(DataQualityError) as caught:
        validate_layer(warehouse, "core", run_id="run-8", as_of=AS_OF, tables=BUILT)

    failed = [r for r in _audit(warehouse, "run-8") if not r["success"]]
    assert {(r["column_name"], r["unexpected_count"]) for r in failed} == {("channel_id", 1), ("score_10", 1)}
    samples = [json.loads(r["sample"]) for r in failed]
    assert {"feedback_id": "fb-0003", "channel_id": "fax"} in samples[0] + samples[1]
    assert all(r["message"].startswith(f"{FCT_FEEDBACK} expect_") for r in failed)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("2 critical data-quality failure(s) in layer 'core' (run run-8)")
    assert [line.split(" column ")[1].split(":")[0] for line in lines[1:]] == ["score_10", "channel_id"]
    assert caught.value.report.critical_failures[0].column == "score_10"
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)  # Prefect may pickle it


def test_a_suite_whose_table_is_missing_fails_critically(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(DataQualityError, match=r"core\.fct_feedback expect_table_to_exist: observed table not found"):
        validate_layer(con, "core", run_id="run-9", as_of=AS_OF, tables={FCT_FEEDBACK})
    recorded = _audit(con, "run-9")
    assert recorded[0]["expectation"] == "expect_table_to_exist"
    assert not any(r["success"] for r in recorded)  # the table's SQL checks cannot run either


def test_a_missing_column_is_a_critical_failure_not_a_pass(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute(f"alter table {FCT_FEEDBACK} drop column nps_group")
    with pytest.raises(DataQualityError) as caught:
        validate_layer(warehouse, "core", run_id="run-10", as_of=AS_OF, tables=BUILT)
    [failure] = caught.value.report.critical_failures
    assert failure.column == "nps_group" and failure.observed_value.startswith("error: ")


def test_a_layer_without_an_expectations_folder_has_no_checks(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(validate_module, "EXPECTATIONS_DIR", tmp_path)
    report = validate_layer(con, "staging", run_id="run-11", as_of=AS_OF)
    assert report == LayerReport(layer="staging", run_id="run-11", results=())


def test_as_of_must_be_timezone_aware(warehouse: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_layer(warehouse, "core", run_id=None, as_of=datetime(2026, 11, 1))


def test_run_id_may_be_none_for_ad_hoc_checks(warehouse: duckdb.DuckDBPyConnection) -> None:
    validate_layer(warehouse, "core", run_id=None, as_of=AS_OF, tables=BUILT)
    assert warehouse.execute("select count(*) from audit.validation_results where run_id is null").fetchone()[0] > 0


def test_the_callers_connection_stays_open(warehouse: duckdb.DuckDBPyConnection) -> None:
    validate_layer(warehouse, "marts", run_id="run-12", as_of=AS_OF, tables=BUILT)
    warehouse.execute(f"delete from {FCT_FEEDBACK} where feedback_id = 'fb-0001'")
    assert warehouse.execute(f"select count(*) from {FCT_FEEDBACK}").fetchone()[0] == 59


def test_every_expectation_must_be_tagged() -> None:
    gx = pytest.importorskip("great_expectations")
    import great_expectations.expectations as gxe

    from expectations.gx_run import check_tags

    check_tags(build_suite(), FCT_FEEDBACK)
    tagged = gx.ExpectationSuite(
        name="t", expectations=[gxe.ExpectColumnValuesToNotBeNull(column="a", meta=critical("x"))]
    )
    check_tags(tagged, "t")
    untagged = gx.ExpectationSuite(name="t", expectations=[gxe.ExpectColumnValuesToNotBeNull(column="a")])
    with pytest.raises(ValueError, match=r"needs meta=critical\('why'\)"):
        check_tags(untagged, "t")


def test_sql_check_header_is_required(tmp_path: Path) -> None:
    path = tmp_path / "assert_x.sql"
    path.write_text("-- table: core.x\n-- why: because\nselect 1 as bad\n")
    with pytest.raises(ValueError, match=r"lacks \['severity'\]"):
        validate_module.parse_sql_check(path)
    path.write_text("-- table: core.x\n-- severity: fatal\n-- why: because\nselect 1 as bad\n")
    with pytest.raises(ValueError, match="severity 'fatal'"):
        validate_module.parse_sql_check(path)


def test_sql_check_returns_bad_rows_as_sample(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "assert_small.sql"
    path.write_text("-- table: core.x\n-- severity: warning\n-- why: w\nselect i as n from range(9) as t(i);\n")
    check = validate_module.parse_sql_check(path)
    result = validate_module.run_sql_check(con, check)
    assert (check.name, check.table, check.severity) == ("assert_small", "core.x", "warning")
    assert (result.success, result.unexpected_count, result.observed_value) == (False, 9, "9 bad row(s)")
    assert result.sample == [{"n": i} for i in range(validate_module.SAMPLE_SIZE)]


def test_sql_check_that_cannot_run_is_a_failure(con: duckdb.DuckDBPyConnection) -> None:
    check = validate_module.SqlCheck("assert_gone", "core.gone", "critical", "w", "select * from core.gone")
    result = validate_module.run_sql_check(con, check)
    assert not result.success and "core.gone" in result.observed_value


def test_every_shipped_sql_check_parses() -> None:
    checks = [c for layer in ("core", "marts") for c in validate_module.sql_checks(layer)]
    assert "assert_management_monthly_items_match_fct_feedback" in {c.name for c in checks}


def test_data_docs_for_the_run_are_readable_offline(warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    warehouse.execute(f"update {FCT_FEEDBACK} set kind = 'unclassified' where feedback_id < 'fb-0030'")
    docs = tmp_path / "docs"

    report = validate_layer(warehouse, "core", run_id="run-docs", as_of=AS_OF, docs_dir=docs, tables=BUILT)

    assert report.docs_index == docs / "summary-core.html" and (docs / "index.html").is_file()
    summary = report.docs_index.read_text(encoding="utf-8")
    assert "<style>" in summary and "FAILED (warning)" in summary and "run-docs" in summary
    [page] = docs.glob("validations/core/fct_feedback/run-docs/*/*.html")
    assert f'href="{page.relative_to(docs)}"' in summary
    assert "otklik offline css" in page.read_text(encoding="utf-8")


def test_importing_expectations_does_not_import_great_expectations() -> None:
    code = "import sys, expectations; assert 'great_expectations' not in sys.modules, 'GX imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)


class _CountingQueries:
    """The caller's connection, counting the queries run on it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.queries: list[str] = []

    def execute(self, query: str, *args: object) -> duckdb.DuckDBPyConnection:
        self.queries.append(query)
        return self.con.execute(query, *args)


def test_sql_checks_counted_together_keep_each_its_own_result(con: duckdb.DuckDBPyConnection) -> None:
    SqlCheck = validate_module.SqlCheck
    clean = SqlCheck("assert_clean", "core.x", "critical", "w", "select i from range(5) as t(i) where i > 10")
    nine = SqlCheck("assert_nine", "core.x", "warning", "w", "select i as n from range(9) as t(i)")
    broken = SqlCheck("assert_gone", "core.gone", "critical", "w", "select * from core.gone")
    one = SqlCheck("assert_one", "core.x", "critical", "w", "select 'bad' as why")
    alone = [validate_module.run_sql_check(con, c) for c in (clean, nine, broken, one)]

    counting = _CountingQueries(con)
    together = validate_module.run_sql_checks(counting, [clean, nine, one])
    assert together == [alone[0], alone[1], alone[3]]
    assert [r.success for r in together] == [True, False, False]
    assert together[1].sample == [{"n": i} for i in range(validate_module.SAMPLE_SIZE)]
    # one query counts the bad rows of all three; a sample is read of the two that found some
    assert len(counting.queries) == 3 and counting.queries[0].count("count(*)") == 3

    # a check that cannot run makes the count fail: each check runs on its own, and that one fails alone
    assert validate_module.run_sql_checks(con, [clean, nine, broken, one]) == alone
    assert "core.gone" in alone[2].observed_value and not alone[2].success
    # one that ends in a comment (which would comment out what follows it in the count) too
    noted = SqlCheck("assert_noted", "core.x", "critical", "w", "select 1 as bad -- a note")
    assert validate_module.run_sql_checks(con, [clean, noted, one]) == [
        alone[0],
        validate_module.run_sql_check(con, noted),
        alone[3],
    ]


def test_prepare_imports_great_expectations_in_the_background_and_validation_waits() -> None:
    code = """
import sys
from datetime import UTC, datetime
import expectations
from expectations import DataQualityError, preload, validate_layer
from warehouse import connect_memory

con = connect_memory()
expectations.prepare()
expectations.prepare()  # once is enough; a second call starts nothing
try:  # raw is empty here: its checks may fail; what matters is that they ran, GX imported meanwhile
    report = validate_layer(con, "raw", run_id="r", as_of=datetime(2026, 11, 1, tzinfo=UTC))
except DataQualityError as exc:
    report = exc.report
assert any(r.expectation.startswith("expect_") for r in report.results), report.results
preload.wait()
assert all(name in sys.modules for name in preload.MODULES)
"""
    subprocess.run([sys.executable, "-c", code], check=True)
