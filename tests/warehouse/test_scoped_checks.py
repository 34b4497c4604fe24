"""The checks of a scoped build: a table changed by key is checked on its changed rows where each row is
judged on its own, and as a whole where a check needs the whole (expectations/scope.py).

One warehouse, built from a generated month, then a second month landed and every layer built on the
first build (scoped: staging from the new batches, the models of transforms.incremental.SCOPES by key),
its checks not run yet: what a build looks like when ``tables_to_check`` is asked. Each test checks a
copy of it, damaged the way it needs.
"""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from expectations import DataQualityError, validate_layer
from expectations.scope import CHANGED_WHOLE, UNCHANGED, CheckScope, on_keys
from expectations.validate import sql_checks
from otklik.sample.generate import generate_landing
from tests.golden import golden_context
from transforms.channels import load_channels
from transforms.dag import BUILD_ORDER
from warehouse import connect, scoped_build
from warehouse.build import build_layer, finish_build, tables_to_check
from warehouse.ingest import ingest_landing

FIRST = datetime(2026, 10, 1, 6, tzinfo=UTC)
SECOND = datetime(2026, 11, 1, 6, tzinfo=UTC)
FCT_FEEDBACK = "core.fct_feedback"


@pytest.fixture(scope="module")
def second_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file in the middle of a scoped build: every layer built, nothing checked."""
    root = tmp_path_factory.mktemp("scoped_checks")
    path = root / "warehouse.duckdb"
    with connect(path) as con:
        for number, (month, as_of) in enumerate([("2026-09", FIRST), ("2026-10", SECOND)]):
            generate_landing(root / month, month=month, items=40, seed=11 + number)
            ingest_landing(con, root / month, load_channels(), archive_dir=root / "archive")
            for layer in BUILD_ORDER:
                build_layer(con, layer, golden_context(as_of))
            if number == 0:
                finish_build(con)  # the first build is checked and finished (its checks are not under test)
        assert scoped_build.scoped_allowed(con)
    return path


@pytest.fixture
def warehouse(second_build: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(second_build, copy)
    with connect(copy) as con:
        yield con


def _scope(con: duckdb.DuckDBPyConnection, layer: str) -> CheckScope:
    built = [f"{layer}.{model.name}" for model in BUILD_ORDER[layer]]
    scope = tables_to_check(con, layer, built)
    assert isinstance(scope, CheckScope)
    return scope


def _feedback_scope(con: duckdb.DuckDBPyConnection) -> CheckScope:
    """The build's scope of core narrowed to core.fct_feedback (the other tables' checks cost time here)."""
    scope = _scope(con, "core")
    return CheckScope({FCT_FEEDBACK}, scope.changes)


def _changed_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    query = f"select key_value from {scoped_build.CHANGES} where table_name = ? and key_name = 'feedback_id'"
    return sorted(r[0] for r in con.execute(query, [FCT_FEEDBACK]).fetchall())


def _unchanged_id(con: duckdb.DuckDBPyConnection) -> str:
    changed = _changed_ids(con)
    ids = con.execute(f"select feedback_id from {FCT_FEEDBACK} order by feedback_id").fetchall()
    return next(r[0] for r in ids if r[0] not in changed)


def _result(report_or_error: object, expectation: str, column: str | None = None) -> object:
    report = getattr(report_or_error, "report", report_or_error)
    found = [
        r
        for r in report.results
        if r.suite == FCT_FEEDBACK and r.expectation == expectation and (column is None or r.column == column)
    ]
    assert len(found) == 1, found
    return found[0]


def test_fct_feedback_is_changed_by_key_and_checked_on_its_changed_rows(warehouse: duckdb.DuckDBPyConnection) -> None:
    scope = _scope(warehouse, "core")
    assert scope[FCT_FEEDBACK].by_key and "feedback_id" in scope[FCT_FEEDBACK].keys
    report = validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=scope)

    between = _result(report, "expect_column_values_to_be_between", "score_10")
    assert between.element_count == len(_changed_ids(warehouse))
    assert between.element_count < warehouse.execute(f"select count(*) from {FCT_FEEDBACK}").fetchone()[0]
    # a share of all texts (mostly < 1) is a figure of the whole table
    texts = warehouse.execute(f"select count(*) from {FCT_FEEDBACK} where has_text").fetchone()[0]
    shares = [r for r in report.results if r.suite == FCT_FEEDBACK and r.expectation.endswith("not_be_in_set")]
    assert len(shares) == 2 and all(r.element_count == texts for r in shares)


def test_a_table_the_build_left_alone_is_checked_only_where_its_sql_checks_read_a_change(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    versions = "staging.stg_channels__feedback_versions"
    scope = _scope(warehouse, "staging")
    assert scope[versions] == UNCHANGED  # checked because its SQL check reads the current rows, which changed
    report = validate_layer(warehouse, "staging", run_id="scoped", as_of=SECOND, tables=scope)
    assert [r.expectation for r in report.results if r.suite == versions] == [
        "assert_stg_channels__feedback_versions_have_a_current_row"
    ]


def test_the_per_key_checks_read_the_values_the_build_changed(warehouse: duckdb.DuckDBPyConnection) -> None:
    checked = []
    for layer in ("staging", "core"):
        scope = _scope(warehouse, layer)
        for check in (c for c in sql_checks(layer) if c.per_key and c.table in scope):
            sql = on_keys(check.sql, check.per_key, scope, warehouse)
            assert sql is not None, check.name  # every table it reads changed by that key, or not at all
            assert warehouse.execute(sql).fetchall() == warehouse.execute(check.sql).fetchall() == []
            checked.append(check.name)
    assert "assert_fct_sla_events_one_activation_per_cycle" in checked


def test_the_audit_has_one_row_per_expectation_as_a_whole_check_has(warehouse: duckdb.DuckDBPyConnection) -> None:
    validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse))
    validate_layer(warehouse, "core", run_id="whole", as_of=SECOND, tables={FCT_FEEDBACK})
    rows = (
        "select expectation, column_name, severity, success from audit.validation_results"
        " where run_id = ? and suite = ? order by all"
    )
    assert (
        warehouse.execute(rows, ["scoped", FCT_FEEDBACK]).fetchall()
        == warehouse.execute(rows, ["whole", FCT_FEEDBACK]).fetchall()
    )


def test_a_changed_row_that_breaks_a_row_expectation_fails_the_build(warehouse: duckdb.DuckDBPyConnection) -> None:
    bad = _changed_ids(warehouse)[0]
    warehouse.execute(f"update {FCT_FEEDBACK} set score_10 = 42 where feedback_id = ?", [bad])

    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse))

    between = _result(failure.value, "expect_column_values_to_be_between", "score_10")
    assert not between.success and between.unexpected_count == 1
    assert {"feedback_id": bad, "score_10": 42} in between.sample


def test_a_changed_row_that_breaks_a_per_row_sql_check_fails_the_build(warehouse: duckdb.DuckDBPyConnection) -> None:
    bad = _changed_ids(warehouse)[0]
    warehouse.execute(f"update {FCT_FEEDBACK} set feedback_type_id = 'no_such_type' where feedback_id = ?", [bad])

    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse))

    taxonomy = _result(failure.value, "assert_fct_feedback_types_are_in_the_taxonomy")
    assert taxonomy.unexpected_count == 1 and taxonomy.sample[0]["feedback_id"] == bad


def test_a_duplicate_made_by_a_rebuild_by_key_fails_the_uniqueness_check(warehouse: duckdb.DuckDBPyConnection) -> None:
    # A model that, rebuilt by key, emits one of its rows twice: the real rebuild (delete the scope's
    # rows, insert the model's, record the keys of the rows that differ) with a faulty model.
    model = next(m for m in BUILD_ORDER["core"] if m.name == "fct_feedback")
    twice = "select * from _old union all (select * from _old order by feedback_id limit 1)"
    assert scoped_build.rebuild_scoped(warehouse, "core", model, lambda filters: twice) is not None
    doubled = warehouse.execute(
        f"select feedback_id from {FCT_FEEDBACK} group by feedback_id having count(*) > 1"
    ).fetchall()
    assert len(doubled) == 1

    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse))

    unique = _result(failure.value, "expect_column_values_to_be_unique", "feedback_id")
    assert not unique.success and unique.unexpected_count == 2
    assert unique.element_count < warehouse.execute(f"select count(*) from {FCT_FEEDBACK}").fetchone()[0]
    assert {"feedback_id": doubled[0][0]} in unique.sample


def test_an_unchanged_bad_row_is_not_checked_again(warehouse: duckdb.DuckDBPyConnection) -> None:
    # The row was checked by the build that made it, and a scoped build changes no row outside its changed
    # rows (every writer records the keys of what it changed). The damage here is done behind the
    # build's back, only to show that the check does not read that row: a whole check still finds it.
    bad = _unchanged_id(warehouse)
    warehouse.execute(f"update {FCT_FEEDBACK} set score_10 = 42 where feedback_id = ?", [bad])

    report = validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse))
    assert _result(report, "expect_column_values_to_be_between", "score_10").success

    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="whole", as_of=SECOND, tables={FCT_FEEDBACK})
    assert _result(failure.value, "expect_column_values_to_be_between", "score_10").unexpected_count == 1


def test_a_per_row_sql_check_joining_a_table_that_changed_reads_the_whole_table(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # The taxonomy check joins core.dim_feedback_types: were the types changed, an unchanged item could
    # now name a type that is gone.
    bad = _unchanged_id(warehouse)
    warehouse.execute(f"update {FCT_FEEDBACK} set feedback_type_id = 'no_such_type' where feedback_id = ?", [bad])
    assert validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=_feedback_scope(warehouse)).success

    scoped_build.record_whole(warehouse, ["core.dim_feedback_types"])
    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="types", as_of=SECOND, tables=_feedback_scope(warehouse))
    assert _result(failure.value, "assert_fct_feedback_types_are_in_the_taxonomy").sample[0]["feedback_id"] == bad


def test_a_table_rebuilt_whole_is_checked_whole(warehouse: duckdb.DuckDBPyConnection) -> None:
    scoped_build.record_whole(warehouse, [FCT_FEEDBACK])  # as a build that rebuilt it whole records it
    scope = _feedback_scope(warehouse)
    assert scope[FCT_FEEDBACK] == CHANGED_WHOLE
    warehouse.execute(f"update {FCT_FEEDBACK} set score_10 = 42 where feedback_id = ?", [_unchanged_id(warehouse)])

    with pytest.raises(DataQualityError) as failure:
        validate_layer(warehouse, "core", run_id="scoped", as_of=SECOND, tables=scope)

    between = _result(failure.value, "expect_column_values_to_be_between", "score_10")
    assert between.unexpected_count == 1
    assert between.element_count == warehouse.execute(f"select count(*) from {FCT_FEEDBACK}").fetchone()[0]


def test_a_build_that_is_not_scoped_checks_every_table(warehouse: duckdb.DuckDBPyConnection) -> None:
    finish_build(warehouse)  # the next build is no longer this one: nothing is scoped until it begins
    assert tables_to_check(warehouse, "core", [FCT_FEEDBACK]) is None
    assert tables_to_check(warehouse, "raw", []) is None
