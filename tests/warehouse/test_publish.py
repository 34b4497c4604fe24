"""Publishing freezes a review: late data never changes it; republishing makes version 2 with a restatement."""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.transforms.review.conftest import COMPANY, publish_october
from tests.transforms.review.review_warehouse import build, built_warehouse, land_batch
from transforms.review.config import load_review_settings
from transforms.review.periods import month_period
from transforms.review.publishing import write_review_files
from transforms.review.restatement import restatement_lines
from warehouse.publish import latest_review_id, load_snapshot

MART = "marts.management_monthly"


def _figure(table: str, key: str, column: str) -> str:
    return f"{table}|{key}|{column}"


def _items(snapshot, figure: str) -> list[str]:
    return [item_id for _, item_id in snapshot.drill.keys_of(figure)]


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return built_warehouse(con)


def test_a_published_review_is_frozen_with_the_items_behind_its_figures(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot = publish_october(warehouse)
    assert snapshot.review_id == "monthly:2026-10:all:v1" and snapshot.version == 1
    assert snapshot.build_run_id == "build-1" and snapshot.input_batch_count == 1
    # 13 months: October 2025 … October 2026 (3 months with rows), 8 mart rows in all
    assert snapshot.table(MART).height == 8
    assert _items(snapshot, _figure(MART, "2026-10-01|retail", "complaints_count")) == ["F1", "F2", "F3"]
    # the company row stands for every directorate; F6 repeats F5 and is counted apart
    assert _items(snapshot, _figure(MART, "2026-10-01|all", "complaints_count")) == ["F1", "F2", "F3", "F5"]
    assert _items(snapshot, _figure(MART, "2026-10-01|logistics", "conversation_repeats_count")) == ["F6"]
    assert _items(snapshot, _figure(MART, "2026-10-01|retail", "nps")) == ["F1", "F4"]
    # SLA figures lead to the clocks: C1 closed after its 24 hours
    assert _items(snapshot, _figure(MART, "2026-10-01|retail", "sla_close_24h_breached_count")) == [
        "C1|close_within_24h"
    ]
    clock = snapshot.drill.items("sla_clock", ["C1|close_within_24h"])["C1|close_within_24h"]
    assert clock["body_text"].startswith("<script>")
    # figures of earlier months are context (trends), not drilled
    assert not _items(snapshot, _figure(MART, "2026-09-01|retail", "complaints_count"))
    # orders are not feedback: no drill-through
    assert not _items(snapshot, _figure(MART, "2026-10-01|retail", "orders_count"))


def test_late_data_after_publication_changes_nothing_published(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    settings = load_review_settings()
    first = publish_october(warehouse)
    files = write_review_files(first, tmp_path / "a", company_name=COMPANY, settings=settings)
    land_batch(warehouse, "web_form:b2", "web_form/late.jsonl")
    build(warehouse, "build-2", late=True)  # F7, a retail complaint of 30 October, lands late

    live = warehouse.execute(
        f"select complaints_count from {MART} where report_month = '2026-10-01' and directorate_id = 'retail'"
    ).fetchone()[0]
    assert live == 4
    assert latest_review_id(warehouse, month_period("2026-10")) == first.review_id
    again = load_snapshot(warehouse, first.review_id)
    assert again.table(MART).equals(first.table(MART))
    assert again.drill.pairs().equals(first.drill.pairs())
    rerendered = write_review_files(again, tmp_path / "b", company_name=COMPANY, settings=settings)
    for name in ("html", "items_html"):
        assert Path(getattr(rerendered, name)).read_bytes() == Path(getattr(files, name)).read_bytes()


def test_republishing_makes_version_two_with_a_restatement(warehouse: duckdb.DuckDBPyConnection) -> None:
    first = publish_october(warehouse)
    land_batch(warehouse, "web_form:b2", "web_form/late.jsonl")
    build(warehouse, "build-2", late=True)
    second = publish_october(warehouse, "build-2", reason="поздняя выгрузка формы")

    assert second.review_id == "monthly:2026-10:all:v2" and second.version == 2
    assert load_snapshot(warehouse, first.review_id).table(MART).equals(first.table(MART))  # v1 stays
    restatement = second.restatement
    assert restatement is not None and restatement.previous_review_id == first.review_id
    changed = {(c.table, c.row_key, c.column): (c.old, c.new) for c in restatement.changes}
    assert changed[(MART, "2026-10-01|retail", "complaints_count")] == (3, 4)
    assert changed[(MART, "2026-10-01|all", "complaints_count")] == (4, 5)
    assert changed[(MART, "2026-10-01|retail", "complaints_per_1000_orders")] == (1.5, 2.0)
    assert (MART, "2026-10-01|logistics", "complaints_count") not in changed
    assert [b["batch_id"] for b in restatement.new_batches] == ["web_form:b2"]
    assert restatement.config_changes == () and restatement.code_change is None
    lines = restatement_lines(restatement)
    assert lines[0] == "Пересчёт относительно версии 1: поздняя выгрузка формы"
    assert "  marts.management_monthly [2026-10-01 · retail] Жалоб: 3 → 4" in lines
    assert any("web_form/late.jsonl" in line for line in lines)
    assert _items(second, _figure(MART, "2026-10-01|retail", "complaints_count")) == ["F1", "F2", "F3", "F7"]


def test_republishing_unchanged_figures_keeps_the_published_version(warehouse: duckdb.DuckDBPyConnection) -> None:
    first = publish_october(warehouse)
    second = publish_october(warehouse)  # same marts: nothing to restate
    assert (second.review_id, second.version) == (first.review_id, 1)
    assert warehouse.execute("select count(*) from audit.published_reviews").fetchone()[0] == 1
    # the version that stands, with its drill-through
    assert second.drill.pairs().equals(first.drill.pairs()) and second.drill.pairs().height > 0
    assert second.drill.ids("feedback") == first.drill.ids("feedback") and second.drill.ids("feedback")


def test_a_failed_publication_leaves_no_partial_version(warehouse: duckdb.DuckDBPyConnection) -> None:
    from transforms.review.sources import monthly_tables
    from warehouse.publish import publish_review

    period = month_period("2026-10")
    tables = monthly_tables(warehouse, period, load_review_settings())
    with pytest.raises(duckdb.Error):  # the drill-through query fails after the first table's rows are in
        publish_review(warehouse, period, tables, build_run_id="build-1", reporting_timezone="Not/AZone")
    assert latest_review_id(warehouse, period) is None
    for table in ("published_tables", "published_table_rows", "published_figure_items", "published_items"):
        assert warehouse.execute(f"select count(*) from audit.{table}").fetchone()[0] == 0


def test_weekly_review_tables_for_a_directorate(warehouse: duckdb.DuckDBPyConnection) -> None:
    from transforms.review.periods import week_period
    from transforms.review.sources import weekly_tables
    from warehouse.publish import publish_review

    period = week_period("2026-W41", "logistics")  # Monday 5 — Sunday 11 October 2026
    tables = weekly_tables(warehouse, period, load_review_settings())
    snapshot = publish_review(warehouse, period, tables, build_run_id="build-1", reporting_timezone="Europe/Moscow")
    summary = snapshot.table("weekly.summary").row(0, named=True)
    assert (summary["items_count"], summary["complaints_count"]) == (1, 1)  # F5 (F6 repeats it)
    assert snapshot.table("weekly.reopened_cases")["case_id"].to_list() == ["C2"]
    assert snapshot.table("weekly.sla_breaches").select("measured_count", "breached_count").row(0) == (1, 0)
    assert _items(snapshot, _figure("weekly.summary", "logistics", "complaints_count")) == ["F5"]
    assert snapshot.table("weekly.top_types").filter(pl.col("feedback_type_id") == "late_delivery").height == 1


def test_a_publication_writes_each_item_of_a_figure_once(warehouse: duckdb.DuckDBPyConnection) -> None:
    """The items found behind the figures are gathered, then written once each: twice found is once
    written (audit.published_figure_items has no key since migration 0015, as on a DuckLake)."""
    from warehouse.publish import _FOUND_FIGURE_ITEMS, _gather_figure_items, _write_figure_items

    snapshot = publish_october(warehouse)
    counts = warehouse.execute(
        "select count(*), count(distinct (review_id, figure_id, item_kind, item_id)) from audit.published_figure_items"
    ).fetchone()
    assert counts[0] == counts[1] > 0

    figure = _figure(MART, "2026-10-01|retail", "complaints_count")
    warehouse.execute("begin transaction")
    _gather_figure_items(warehouse, month_period("2026-11"), "Europe/Moscow")
    found = [("monthly:2026-11:all:v1", figure, "feedback", item) for item in ("F1", "F2", "F1", "F1")]
    warehouse.executemany(f"insert into {_FOUND_FIGURE_ITEMS} values (?, ?, ?, ?)", found)
    _write_figure_items(warehouse)
    warehouse.execute("commit")
    written = warehouse.execute(
        "select item_id from audit.published_figure_items where review_id = 'monthly:2026-11:all:v1' order by 1"
    ).fetchall()
    assert written == [("F1",), ("F2",)]
    assert len(_items(snapshot, figure)) == 3


def test_a_figures_items_are_looked_for_among_the_items_of_the_period_in_its_timezone(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """Publishing reads each source's rows of the period once (warehouse/publish.py, _PERIOD_SOURCES): the
    month's first and last minute in Moscow are in it, the minutes on either side are not."""
    from warehouse.publish import _PERIOD_SOURCES, _gather_figure_items

    edges = {  # UTC; Moscow is UTC+3
        "B-before": "2026-09-30 20:59:00+00",
        "B-first": "2026-09-30 21:00:00+00",
        "B-last": "2026-10-31 20:59:00+00",
        "B-after": "2026-10-31 21:00:00+00",
    }
    for item_id, at in edges.items():
        warehouse.execute("insert into core.fct_feedback (feedback_id, received_at) values (?, ?)", [item_id, at])
        warehouse.execute(
            "insert into core.fct_case_sla (case_id, sla_policy_id, started_at) values (?, 'p', ?)", [item_id, at]
        )
    _gather_figure_items(warehouse, month_period("2026-10"), "Europe/Moscow")
    for kind, column in (("feedback", "feedback_id"), ("sla_clock", "case_id")):
        found = warehouse.execute(
            f"select {column} from {_PERIOD_SOURCES[kind]} where {column} like 'B-%' order by 1"
        ).fetchall()
        assert found == [("B-first",), ("B-last",)], kind
