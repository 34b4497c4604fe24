"""Checkpoints compact the warehouse's tables only when deleted rows are due (warehouse/compaction.py), and
rows deleted but not yet compacted are never read."""

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.golden import GOLDEN, golden_context
from tests.warehouse.test_reader_copy_update import _build, _late_ticket
from transforms.channels import load_channels
from warehouse import compaction, connect
from warehouse.build import build_layer
from warehouse.ingest import ingest_landing
from warehouse.reader_copy import connect_reader, publish_reader_copy

ROWS = 300_000  # a little over two row groups; the sum of id % 7 over them is 42,857 × 21 = 899,997


def _table(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    compaction.vacuum_off(con)
    con.execute(f"create table t as select range as id, range % 7 as v from range({ROWS})")
    con.execute("checkpoint")
    return con


def _replace(con: duckdb.DuckDBPyConnection, part: int) -> None:
    """Delete the rows of ``id % 20 = part`` (5 %, scattered over every row group of the original rows) and insert
    them again (a scoped rebuild of new keys)."""
    con.execute("begin")
    con.execute(f"create or replace temp table old as select * from t where id % 20 = {part}")
    con.execute(f"delete from t where id % 20 = {part}")
    con.execute("insert into t select * from old")
    con.execute("commit")
    con.execute("checkpoint")


def _stored(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select estimated_size from duckdb_tables() where table_name = 't'").fetchone()[0]


def test_deleted_rows_stay_in_the_file_until_due_and_are_never_read(tmp_path: Path) -> None:
    con = _table(tmp_path / "t.duckdb")
    _replace(con, 0)
    assert _stored(con) == ROWS + ROWS // 20  # the deleted rows are still stored
    assert con.execute("select count(*), sum(v), count(distinct id) from t").fetchone() == (ROWS, 899_997, ROWS)
    assert compaction.dead_shares(con) == {"main.t": pytest.approx((ROWS // 20) / (ROWS + ROWS // 20))}
    assert compaction.vacuum_when_due(con) is False
    _replace(con, 0)  # the same rows again: they lie together at the end now, and their old copies are dropped
    assert _stored(con) == ROWS + ROWS // 20
    for part in range(1, 5):  # 5 % more of other rows at each build, never compacted
        _replace(con, part)
    assert compaction.dead_shares(con)["main.t"] >= compaction.DEAD_SHARE_LIMIT
    assert compaction.vacuum_when_due(con) is True
    assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == compaction.VACUUM_TASKS
    _replace(con, 5)  # the next build's checkpoint compacts
    assert _stored(con) == ROWS
    assert compaction.dead_shares(con) == {"main.t": 0.0}
    assert compaction.vacuum_when_due(con) is False
    assert con.execute("select count(*), sum(v), count(distinct id) from t").fetchone() == (ROWS, 899_997, ROWS)


def test_a_small_table_is_not_counted(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    compaction.vacuum_off(con)
    con.execute("create table s as select range as id from range(1000)")
    con.execute("delete from s where id < 900")
    con.execute("checkpoint")
    assert compaction.dead_shares(con) == {}
    assert compaction.vacuum_when_due(con) is False


def test_a_warehouse_connection_checkpoints_without_vacuuming(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == 0


@pytest.mark.parametrize("limit", [0.0, 1.1], ids=["due", "not-due"])
def test_the_readers_copy_is_compacted_when_its_own_rows_are_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: float
) -> None:
    monkeypatch.setattr(compaction, "ROW_GROUP", 1)  # every table counts, however small
    monkeypatch.setattr(compaction, "DEAD_SHARE_LIMIT", limit)
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        ingest_landing(con, GOLDEN, load_channels(), archive_dir=tmp_path / "archive", run_id="golden")
        _build(con, datetime(2026, 11, 1, tzinfo=UTC))
        publish_reader_copy(con, live)
        publish_reader_copy(con, live)  # both files exist: the next publish updates the spare where it lies
        _late_ticket(con, tmp_path / "archive")
        _build(con, datetime(2026, 11, 2, tzinfo=UTC))
        compaction.vacuum_off(con)  # what the copy does is its own decision
        publish_reader_copy(con, live)
        assert con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0] == 0  # as it was
    with connect_reader(live) as reader:
        dead = {t: share for t, share in compaction.dead_shares(reader).items() if share > 0}
    # (a table of one row group that changed is written again whole at a checkpoint; its record of
    # fingerprints, one row per table replaced at each publish, keeps the old ones until due)
    assert (dead == {}) is (limit == 0.0), dead


@pytest.mark.parametrize("limit", [0.0, 1.1], ids=["due", "not-due"])
def test_a_build_turns_vacuuming_on_when_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: float) -> None:
    monkeypatch.setattr(compaction, "ROW_GROUP", 1)
    monkeypatch.setattr(compaction, "DEAD_SHARE_LIMIT", limit)
    with connect(tmp_path / "w.duckdb") as con:
        ingest_landing(con, GOLDEN, load_channels(), archive_dir=tmp_path / "archive", run_id="golden")
        build_layer(con, "staging", golden_context(datetime(2026, 11, 1, tzinfo=UTC)))
        vacuuming = con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0]
    assert vacuuming == (compaction.VACUUM_TASKS if limit == 0.0 else 0)
