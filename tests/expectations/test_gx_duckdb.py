"""The GX-on-DuckDB hack (expectations/gx_duckdb.py): fails loudly when a GX upgrade changes the ground.

If ``test_without_the_patch_gx_still_cannot_read_duckdb`` fails, GX has fixed the defect: drop the
patch. If ``test_gx_still_has_the_persisted_connection_tuple`` fails, GX renamed what we patch.
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from expectations import gx_duckdb

gx = pytest.importorskip("great_expectations")
import great_expectations.execution_engine.sqlalchemy_execution_engine as sqlalchemy_engine  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402

NULLS = 5
ROWS = 1000


@pytest.fixture
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    _plant_nulls(con)
    yield con
    con.close()


def _plant_nulls(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists core")
    con.execute(
        f"create or replace table core.items as select i as item_id, "
        f"case when i % {ROWS // NULLS} = 0 then null else 'x' end as body from range({ROWS}) as t(i)"
    )


def _not_null_result(con: duckdb.DuckDBPyConnection):
    context = gx_duckdb.new_context()
    datasource = gx_duckdb.add_duckdb_datasource(context, con)
    try:
        batch = gx_duckdb.add_table_batch(datasource, "core.items").get_batch()
        suite = gx.ExpectationSuite(name="items", expectations=[gxe.ExpectColumnValuesToNotBeNull(column="body")])
        return batch.validate(suite).results[0]
    finally:
        gx_duckdb.close_datasource(datasource)


def test_gx_still_has_the_persisted_connection_tuple() -> None:
    assert isinstance(sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS, tuple)
    assert callable(getattr(sqlalchemy_engine.SqlAlchemyExecutionEngine, "get_connection", None))


def test_patch_adds_duckdb_once() -> None:
    gx_duckdb.patch_gx_for_duckdb()
    gx_duckdb.patch_gx_for_duckdb()
    assert gx_duckdb.is_patched()
    assert sum(d == "duckdb" for d in sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS) == 1


def test_known_not_null_failure_is_counted(duck: duckdb.DuckDBPyConnection) -> None:
    result = _not_null_result(duck)
    assert not result.success
    assert result.exception_info.get("raised_exception") is False, result.exception_info
    assert (result.result["unexpected_count"], result.result["element_count"]) == (NULLS, ROWS)


def test_without_the_patch_gx_still_cannot_read_duckdb(
    duck: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpatched = tuple(d for d in sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS if d != "duckdb")
    monkeypatch.setattr(gx_duckdb, "patch_gx_for_duckdb", lambda: None)
    monkeypatch.setattr(sqlalchemy_engine, "_PERSISTED_CONNECTION_DIALECTS", unpatched)
    result = _not_null_result(duck)
    assert "list index out of range" in str(result.exception_info), (
        "GX now reads DuckDB without the persisted-connection patch: remove it from expectations/gx_duckdb.py"
    )


def test_reads_a_file_held_read_write_and_leaves_it_open(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        _plant_nulls(con)
        assert _not_null_result(con).result["unexpected_count"] == NULLS
        con.execute("insert into core.items values (-1, null)")  # still open and writable
        assert _not_null_result(con).result["unexpected_count"] == NULLS + 1
    finally:
        con.close()


def test_queries_run_in_the_callers_time_zone(duck: duckdb.DuckDBPyConnection) -> None:
    duck.execute("set TimeZone = 'Asia/Vladivostok'")
    context = gx_duckdb.new_context()
    datasource = gx_duckdb.add_duckdb_datasource(context, duck)
    try:
        engine = datasource.get_execution_engine()
        with engine.get_connection() as connection:
            zone = connection.exec_driver_sql("select current_setting('TimeZone')").scalar()
    finally:
        gx_duckdb.close_datasource(datasource)
    assert zone == "Asia/Vladivostok"


def test_a_context_kept_unsaved_writes_no_configuration(
    duck: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If this fails, GX saves its configuration another way: keep_project_config_unsaved no longer saves
    the time it is there for (expectations/gx_duckdb.py)."""
    from great_expectations.data_context.data_context_variables import DataContextVariables

    saves: list[object] = []
    original = DataContextVariables.save
    monkeypatch.setattr(DataContextVariables, "save", lambda self: saves.append(self) or original(self))
    context = gx_duckdb.new_context()
    gx_duckdb.keep_project_config_unsaved(context)
    saves.clear()  # those of making the context
    datasource = gx_duckdb.add_duckdb_datasource(context, duck)
    try:
        batch = gx_duckdb.add_table_batch(datasource, "core.items").get_batch()
        suite = gx.ExpectationSuite(name="items", expectations=[gxe.ExpectColumnValuesToNotBeNull(column="body")])
        result = batch.validate(suite).results[0]
    finally:
        gx_duckdb.close_datasource(datasource)
    assert saves == []
    assert (result.success, result.result["unexpected_count"]) == (False, NULLS)
    saved = gx_duckdb.new_context()
    saves.clear()
    gx_duckdb.close_datasource(gx_duckdb.add_duckdb_datasource(saved, duck))
    assert saves, "a context left as GX makes it saves its configuration"
