"""Fingerprints that compare two warehouses: every column but the run-local ones (transforms/model_specs.py).

One golden warehouse, ingested and built without its checks (module fixture, about 4 s); each test that
changes it does so in a transaction it rolls back.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest

from tests.golden import golden_context, golden_ingested
from transforms.dag import LAYER_ORDER
from transforms.model_specs import run_local_columns, specified_models
from warehouse.build import build_layer, comparable_fingerprint, fingerprint
from warehouse.sql_models import materialize_sql, set_build_variables

DELIVERIES, FRESHNESS = "core.fct_channel_deliveries", "marts.channel_freshness"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = golden_ingested(tmp_path_factory.mktemp("build"))
    for layer in LAYER_ORDER[1:]:
        build_layer(con, layer, golden_context())
    yield con
    con.close()


@pytest.fixture
def scratch(built: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The golden warehouse in a transaction that is rolled back after the test."""
    built.execute("begin transaction")
    yield built
    built.execute("rollback")


def _both(con: duckdb.DuckDBPyConnection, table: str) -> tuple[tuple[int, str], tuple[int, str]]:
    return fingerprint(con, table), comparable_fingerprint(con, table)


def test_every_declared_run_local_column_is_in_its_models_output(built: duckdb.DuckDBPyConnection) -> None:
    declared = set()
    for layer in ("core", "marts"):
        for name in specified_models(layer):
            table = f"{layer}.{name}"
            columns = [row[0] for row in built.execute(f"describe {table}").fetchall()]
            for column in run_local_columns(table):
                assert column in columns, f"{table} declares {column} run_local but has no such column"
                declared.add((table, column))
    assert declared >= {(DELIVERIES, "last_loaded_at"), (FRESHNESS, "last_loaded_at")}


def test_the_same_files_loaded_later_change_only_the_run_local_columns(scratch: duckdb.DuckDBPyConnection) -> None:
    before = {table: _both(scratch, table) for table in (DELIVERIES, FRESHNESS)}
    # erp_orders_monthly delivered a file but no item: its silent_hours counts from the load too
    no_item = scratch.execute(f"select count(*) from {FRESHNESS} where batches_count > 0 and last_item_at is null")
    assert no_item.fetchone() == (1,)
    scratch.execute("update raw.batches set loaded_at = loaded_at + interval 3 hour")
    set_build_variables(scratch, as_of=datetime(2026, 11, 1, tzinfo=UTC), reporting_timezone="Europe/Moscow")
    materialize_sql(scratch, "core", "fct_channel_deliveries")
    materialize_sql(scratch, "marts", "channel_freshness")
    for table, (full, comparable) in before.items():
        full_now, comparable_now = _both(scratch, table)
        assert full_now != full, f"{table}: a later load must change the whole table's fingerprint"
        assert comparable_now == comparable, f"{table}: only its run-local columns may follow the load time"


def test_a_change_outside_the_run_local_columns_changes_both(scratch: duckdb.DuckDBPyConnection) -> None:
    full, comparable = _both(scratch, FRESHNESS)
    scratch.execute(f"update {FRESHNESS} set last_loaded_at = last_loaded_at + interval 1 day")
    assert _both(scratch, FRESHNESS)[1] == comparable
    scratch.execute(f"update {FRESHNESS} set batches_count = batches_count + 1 where channel_id = 'crm_case_events'")
    full_now, comparable_now = _both(scratch, FRESHNESS)
    assert full_now != full and comparable_now != comparable


def test_a_table_with_nothing_declared_has_its_whole_fingerprint(built: duckdb.DuckDBPyConnection) -> None:
    assert run_local_columns("marts.management_monthly") == {}
    assert comparable_fingerprint(built, "marts.management_monthly") == fingerprint(built, "marts.management_monthly")
    assert comparable_fingerprint(built, "core.fct_qa_checks") == fingerprint(built, "core.fct_qa_checks")  # no spec


def test_a_declared_column_the_table_lacks_is_an_error(scratch: duckdb.DuckDBPyConnection) -> None:
    scratch.execute(f"alter table {FRESHNESS} drop column silent_hours")
    with pytest.raises(ValueError, match=r"marts\.channel_freshness has no column\(s\) \['silent_hours'\]"):
        comparable_fingerprint(scratch, FRESHNESS)
