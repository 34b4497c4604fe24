"""`otklik explain`: the items, batches and files behind one figure of the golden warehouse."""

import duckdb
import pytest

from tests.golden import golden_warehouse
from warehouse.lineage import LineageError, explain_figure

TZ = "Europe/Moscow"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return golden_warehouse(tmp_path_factory.mktemp("lineage"))


def _explain(con: duckdb.DuckDBPyConnection, metric: str, **key: str):
    return explain_figure(con, "management_monthly", month="2026-10", metric=metric, key=key, reporting_timezone=TZ)


def test_an_sla_figure_leads_to_its_clocks_and_the_crm_export(warehouse: duckdb.DuckDBPyConnection) -> None:
    # close within 24 h, company: CASE-2 closed after 24h01m, CASE-3 still open since 10.10 (golden test)
    found = _explain(warehouse, "sla_close_24h_breached_count", directorate_id="all")
    assert found.item_kind == "sla_clock"
    assert found.items["item_id"].to_list() == ["CASE-2|close_within_24h", "CASE-3|close_within_24h"]
    assert found.items["sla_state"].to_list() == ["breached", "open_breached"]
    assert found.count_matches is True
    assert found.batches["channel_id"].to_list() == ["crm_case_events"]
    assert found.batches["items"].to_list() == [2]


def test_a_directorate_row_counts_only_its_own_items(warehouse: duckdb.DuckDBPyConnection) -> None:
    company = _explain(warehouse, "items_count", directorate_id="all")
    parts = [
        _explain(warehouse, "items_count", directorate_id=d).items.height
        for d in warehouse.execute(
            "select directorate_id from marts.management_monthly"
            " where report_month = date '2026-10-01' and directorate_id <> 'all'"
        ).fetchall()
        for d in d
    ]
    assert company.count_matches is True
    assert sum(parts) == company.items.height == 12


@pytest.mark.parametrize(
    ("mart", "metric", "key", "message"),
    [
        ("management_monthly", "orders_count", {"directorate_id": "all"}, "no item-level lineage"),
        ("management_monthly", "no_such_figure", {}, "has no column 'no_such_figure'"),
        ("management_monthly", "items_count", {"store_id": "MSK-001"}, "not in the grain"),
        ("no_such_mart", "items_count", {}, "unknown mart"),
    ],
)
def test_a_figure_that_cannot_be_explained_says_why(
    warehouse: duckdb.DuckDBPyConnection, mart: str, metric: str, key: dict, message: str
) -> None:
    with pytest.raises(LineageError, match=message):
        explain_figure(warehouse, mart, month="2026-10", metric=metric, key=key, reporting_timezone=TZ)


def test_explain_reads_only(warehouse: duckdb.DuckDBPyConnection) -> None:
    before = warehouse.execute("select count(*) from information_schema.tables").fetchone()
    _explain(warehouse, "complaints_count", directorate_id="logistics")
    assert warehouse.execute("select count(*) from information_schema.tables").fetchone() == before
