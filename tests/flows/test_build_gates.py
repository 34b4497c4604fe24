"""A mart that fails its checks fails the build flow, and the review then refuses to publish."""

from pathlib import Path

import duckdb
import pytest

import warehouse.build
from flows.build_warehouse import build_warehouse
from flows.ingest import ingest_channels
from flows.review import monthly_review, review_path
from warehouse.runs import NotPublishable

AS_OF = "2026-11-01T00:00:00+00:00"


def test_a_failed_mart_check_fails_the_flow_and_blocks_the_review(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_channels(landing=str(workspace / "landing"))
    real = warehouse.build.materialize_sql

    def nps_out_of_range(con: duckdb.DuckDBPyConnection, layer: str, name: str) -> int:
        rows = real(con, layer, name)
        if name == "management_monthly":  # a bug in the mart's arithmetic
            con.execute("update marts.management_monthly set nps = 150 where nps is not null")
        return rows

    monkeypatch.setattr(warehouse.build, "materialize_sql", nps_out_of_range)
    with pytest.raises(Exception, match=r"marts\.management_monthly spec_score"):
        build_warehouse(as_of=AS_OF)

    with duckdb.connect(str(workspace / "w.duckdb"), read_only=True) as con:
        state, message = con.execute(
            "select state, message from audit.runs where flow = 'build-warehouse' order by started_at desc limit 1"
        ).fetchone()
    assert state == "failed" and '"broken_columns": "nps"' in message

    with pytest.raises(NotPublishable, match="not published until a build passes its checks"):
        monthly_review("2026-10")
    assert not review_path("2026-10").exists()

    monkeypatch.setattr(warehouse.build, "materialize_sql", real)
    build_warehouse(as_of=AS_OF)
    assert Path(monthly_review("2026-10")).is_file()
