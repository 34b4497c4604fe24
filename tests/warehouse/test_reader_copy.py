"""The readers' copy: readers never wait for a writer, and never see half of a copy."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse import connect
from warehouse.reader_copy import connect_reader, publish_reader_copy, reader_copy_info, reader_copy_path

ROOT = Path(__file__).resolve().parent.parent.parent

# Holds the live warehouse read-write (and its lock) for argv[2] seconds, then adds a row.
HOLD = """
import sys, time
from warehouse import connect
with connect(sys.argv[1]) as con:
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("insert into main.facts values (99)")
"""


def _warehouse_with_copy(tmp_path: Path, values: list[int]) -> Path:
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        con.execute("create table if not exists main.facts (n int)")
        con.executemany("insert into main.facts values (?)", [[v] for v in values])
        con.execute(
            "insert into audit.runs (run_id, flow, state, started_at, ended_at, parameters)"
            " values ('run-1', 'build-warehouse', 'completed', now(), now(), '{}')"
        )
        publish_reader_copy(con, live)
    return live


def test_the_copy_sits_beside_the_warehouse(tmp_path: Path) -> None:
    assert reader_copy_path(tmp_path / "otklik.duckdb") == tmp_path / "otklik.reader.duckdb"


def test_a_reader_sees_what_was_committed_when_the_copy_was_published(tmp_path: Path) -> None:
    live = _warehouse_with_copy(tmp_path, [1, 2, 3])
    with connect_reader(live) as reader:
        assert reader.execute("select sum(n) from main.facts").fetchone() == (6,)
        info = reader_copy_info(reader, reader_copy_path(live))
        assert info.build_run_id == "run-1"
    # nothing but the two database files (and the lock): no temporary copy left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock", "w.reader.duckdb"]


def test_a_reader_does_not_wait_for_a_writer_holding_the_warehouse(tmp_path: Path) -> None:
    live = _warehouse_with_copy(tmp_path, [1])
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(live), "5"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with connect_reader(live) as reader:
            assert reader.execute("select count(*) from main.facts").fetchone() == (1,)
        assert time.monotonic() - started < 3  # the writer holds the live file for 5 s
        assert holder.poll() is None  # and it was still holding it while we read
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0


def test_an_open_reader_keeps_its_copy_while_a_new_one_is_published(tmp_path: Path) -> None:
    live = _warehouse_with_copy(tmp_path, [1])
    with connect_reader(live) as old_reader:
        with connect(live) as con:
            con.execute("insert into main.facts values (10)")
            publish_reader_copy(con, live)
        assert old_reader.execute("select sum(n) from main.facts").fetchone() == (1,)
    with connect_reader(live) as new_reader:
        assert new_reader.execute("select sum(n) from main.facts").fetchone() == (11,)


def test_without_a_copy_the_reader_is_told_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run one first"), connect_reader(tmp_path / "w.duckdb"):
        pass
