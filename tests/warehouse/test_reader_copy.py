"""The readers' copy: readers never wait for a writer, never see half of a copy, nor personal data."""

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse import connect
from warehouse.reader_copy import (
    WITHHELD,
    connect_reader,
    publish_reader_copy,
    reader_copy_info,
    reader_copy_mode,
    reader_copy_path,
    reader_copy_slots,
)

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
    # nothing but the database, its lock, the copy and the name readers open: no temporary copy left behind
    names = ["w.duckdb", "w.duckdb.lock", "w.reader-1.duckdb", "w.reader.duckdb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


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


def _publish(live: Path, value: int) -> None:
    with connect(live) as con:
        con.execute("insert into main.facts values (?)", [value])
        publish_reader_copy(con, live)


def test_the_copies_alternate_and_the_spare_is_brought_up_to_date_where_it_lies(tmp_path: Path) -> None:
    live = _warehouse_with_copy(tmp_path, [1])
    first, second = reader_copy_slots(live)
    link = reader_copy_path(live)
    assert link.is_symlink() and link.resolve() == first
    _publish(live, 10)
    assert link.resolve() == second  # written from a copy of the first: there was no spare yet
    inode = first.stat().st_ino
    _publish(live, 100)
    assert link.resolve() == first and first.stat().st_ino == inode, "the spare was not changed where it lies"
    with connect_reader(live) as reader:
        assert reader.execute("select sum(n) from main.facts").fetchone() == (111,)
    _publish(live, 1000)
    with connect_reader(live) as reader:
        assert reader.execute("select sum(n) from main.facts").fetchone() == (1111,)


# Opens argv[1] read-only (as a BI tool would, through the name readers open), says so, holds it until stdin closes.
READ_AND_HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select sum(n) from main.facts").fetchone()[0], flush=True)
sys.stdin.read()
print(con.execute("select sum(n) from main.facts").fetchone()[0], flush=True)
"""


@pytest.mark.parametrize("where", ["this process", "another process"])
def test_a_spare_a_reader_still_holds_is_replaced_not_changed(tmp_path: Path, where: str) -> None:
    live = _warehouse_with_copy(tmp_path, [1])
    first, _ = reader_copy_slots(live)
    inode = first.stat().st_ino
    if where == "this process":
        with connect_reader(live) as held:
            _publish(live, 10)
            _publish(live, 100)  # the spare is the file `held` reads
            assert held.execute("select sum(n) from main.facts").fetchone() == (1,)
    else:
        holder = subprocess.Popen(
            [sys.executable, "-c", READ_AND_HOLD, str(reader_copy_path(live))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout.readline().strip() == "1"
        _publish(live, 10)
        _publish(live, 100)
        out, _ = holder.communicate("", timeout=60)
        assert out.strip() == "1", "the reader's file was changed under it"
    assert first.stat().st_ino != inode  # a new file took the spare's name; the reader kept the old one
    with connect_reader(live) as reader:
        assert reader.execute("select sum(n) from main.facts").fetchone() == (111,)


def test_a_copy_published_as_a_plain_file_becomes_the_first_of_two(tmp_path: Path) -> None:
    live = _warehouse_with_copy(tmp_path, [1])
    link = reader_copy_path(live)
    link.unlink()
    first, _ = reader_copy_slots(live)
    first.rename(link)  # as copies were published before they alternated
    with connect_reader(live) as old_reader:
        _publish(live, 10)
        assert old_reader.execute("select sum(n) from main.facts").fetchone() == (1,)
    assert link.is_symlink() and link.resolve() == first
    with connect_reader(live) as reader:
        assert reader.execute("select sum(n) from main.facts").fetchone() == (11,)


def test_without_a_copy_the_reader_is_told_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run one first"), connect_reader(tmp_path / "w.duckdb"):
        pass


# --- what the copy holds, and who may read it -------------------------------------------------------

PLANTED = "planted.reader@example.org +79161234567"


def _warehouse_with_personal_data(tmp_path: Path) -> Path:
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        con.execute("create table restricted.customer_contacts (customer_key varchar, email_normalized varchar)")
        con.execute("insert into restricted.customer_contacts values ('k1', ?)", [PLANTED])
        con.execute(
            "insert into raw.channel_payloads (channel_id, payload, _batch_id, _source_file, _record_index)"
            " values ('web_form', ?, 'b1', 'web_form/f.csv', 0)",
            [json.dumps({"email": PLANTED})],
        )
        con.execute(
            "insert into quarantine.records (batch_id, channel_id, source_file, record_index, raw_excerpt, reason,"
            " detail) values ('b1', 'web_form', 'web_form/f.csv', 1, ?, 'wrong_cell_count', '3 cells')",
            [f"1,{PLANTED},x"],
        )
        con.execute(
            "insert into quarantine.staging_rejects (channel_id, entity, reason, detail, source_item_id, _batch_id,"
            " _source_file, _record_index) values ('web_form', 'feedback', 'bad_score', ?, 'R1', 'b1', 'f.csv', 2)",
            [f"score '{PLANTED}' is not a number on the 0-10 scale"],
        )
        con.execute("create table core.facts as select 1 as n")
        con.execute("create table staging.stg__normalized_records as select 'b1' as batch_id")  # bookkeeping
        con.execute("create table core.int_sla_clock_marks as select 'c1' as case_id")  # the SLA chain's state
        publish_reader_copy(con, live)
    return live


def test_the_copy_holds_neither_raw_nor_restricted_nor_quoted_records(tmp_path: Path) -> None:
    live = _warehouse_with_personal_data(tmp_path)
    with connect_reader(live) as reader:
        schemas = {r[0] for r in reader.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert {"raw", "restricted"}.isdisjoint(schemas) and {"core", "quarantine", "audit", "main"} <= schemas
        assert reader.execute("select reason, raw_excerpt from quarantine.records").fetchall() == [
            ("wrong_cell_count", WITHHELD)  # counted and located, not quoted
        ]
        rejects = reader.execute("select reason, detail, source_item_id from quarantine.staging_rejects").fetchall()
        assert rejects == [("bad_score", WITHHELD, "R1")]
        assert reader.execute("select n from core.facts").fetchall() == [(1,)]
        assert reader.execute("select count(*) from main.schema_migrations").fetchone()[0] > 0
        tables = {
            r[0] for r in reader.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
        }
        assert "staging.stg__normalized_records" not in tables  # the build's bookkeeping is not for readers
        assert "core.int_sla_clock_marks" not in tables  # nor the SLA clock's marks (core.fct_sla_events has them)
    # written afresh, not copied and trimmed: not even the file's free blocks hold the planted value
    assert PLANTED.encode() in live.read_bytes()  # (the live file does, uncompressed: the check can see it)
    assert PLANTED.encode() not in reader_copy_path(live).read_bytes()


def test_the_copy_is_readable_by_its_owner_only_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTKLIK_READER_COPY_MODE", raising=False)
    live = _warehouse_with_copy(tmp_path, [1])
    assert stat.S_IMODE(reader_copy_path(live).stat().st_mode) == 0o600
    monkeypatch.setenv("OTKLIK_READER_COPY_MODE", "0640")  # a BI tool's group
    with connect(live) as con:
        publish_reader_copy(con, live)
    assert stat.S_IMODE(reader_copy_path(live).stat().st_mode) == 0o640
    with connect(live) as con:
        publish_reader_copy(con, live)  # the first copy, brought up to date where it lies, takes the mode too
    assert all(stat.S_IMODE(slot.stat().st_mode) == 0o640 for slot in reader_copy_slots(live))
    names = ["w.duckdb", "w.duckdb.lock", "w.reader-1.duckdb", "w.reader-2.duckdb", "w.reader.duckdb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.parametrize("value", ["rw-r-----", "0999", "1777"])
def test_a_mode_that_is_not_one_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OTKLIK_READER_COPY_MODE", value)
    with pytest.raises(ValueError, match="OTKLIK_READER_COPY_MODE"):
        reader_copy_mode()
    assert reader_copy_mode({"OTKLIK_READER_COPY_MODE": " 640 "}) == 0o640
    assert reader_copy_mode({}) == 0o600
