"""A readers' copy brought up to date from the previous one equals a copy written from nothing."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.golden import GOLDEN, golden_context
from transforms.channels import get_channel, load_channels
from warehouse import connect, reader_copy, reader_copy_update
from warehouse.build import CHECKED_LAYERS, build_layer, fingerprint, finish_build
from warehouse.ingest import ingest_landing, land_batch
from warehouse.reader_copy import connect_reader, publish_reader_copy, reader_copy_path
from warehouse.reader_copy_update import COPY_CONTENTS, build_fingerprints
from warehouse.runs import finish_run, new_run_id, record_fingerprints, start_run


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    names = [
        r[0]
        for r in con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
            " order by 1"
        ).fetchall()
    ]
    return {n: sorted(con.execute(f"select * from {n}").fetchall(), key=repr) for n in names if n != COPY_CONTENTS}


def _build(con: duckdb.DuckDBPyConnection, as_of: datetime, *, as_a_run: bool = False) -> None:
    """Every layer, without the checks (tests/warehouse/test_scoped_build.py covers a build with them);
    ``as_a_run``: recorded as the build flow does, with the fingerprints the copy then uses."""
    run_id = new_run_id()
    if as_a_run:
        start_run(con, run_id, "build-warehouse", {}, as_of=as_of)
    for layer in CHECKED_LAYERS[1:]:
        built = build_layer(con, layer, golden_context(as_of))
        if as_a_run:
            record_fingerprints(con, run_id, list(built))
    finish_build(con)
    if as_a_run:
        finish_run(con, run_id, "completed")


def _late_ticket(
    con: duckdb.DuckDBPyConnection,
    archive: Path,
    ticket_id: int = 77,
    text: str = "Верните деньги за заказ",
    updated_at: str = "2026-10-21T09:00:00Z",
) -> None:
    ticket = {
        "id": ticket_id,
        "created_at": "2026-10-20T09:00:00Z",
        "updated_at": updated_at,
        "subject": "Возврат",
        "description_text": text,
        "requester_id": 5,
        "requester": {"name": "Олег", "email": None, "phone": None},
    }
    land_batch(
        con,
        "freshdesk_tickets",
        get_channel("freshdesk_tickets"),
        json.dumps([ticket], ensure_ascii=False).encode(),
        source_file=f"freshdesk_tickets/late-{ticket_id}-{updated_at[:10]}.json",
        source_uri="file:///landing/freshdesk_tickets/late.json",
        archive_dir=archive,
        run_id="late",
    )


def _late_ticket_built(con: duckdb.DuckDBPyConnection, archive: Path, *, as_a_run: bool = True) -> None:
    """A late ticket, and a scoped build of it (as_of 2026-11-02)."""
    _late_ticket(con, archive)
    _build(con, datetime(2026, 11, 2, tzinfo=UTC), as_a_run=as_a_run)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the golden landing ingested, built as a run (as_of 2026-11-01) and its readers' copy
    written: built once for the module; each test works on a copy of it (``_copy_of``)."""
    folder = tmp_path_factory.mktemp("published")
    live = folder / "w.duckdb"
    with connect(live) as con:
        ingest_landing(con, GOLDEN, load_channels(), archive_dir=folder / "archive", run_id="golden")
        _build(con, datetime(2026, 11, 1, tzinfo=UTC), as_a_run=True)
        publish_reader_copy(con, live)
    return folder


def _copy_of(published: Path, tmp_path: Path) -> Path:
    """The module's published warehouse, its readers' copies (the link to the current one kept a link) and its
    archive, copied into the test's own folder; the warehouse file's path there."""
    shutil.copytree(published, tmp_path, symlinks=True, dirs_exist_ok=True)
    return tmp_path / "w.duckdb"


def _copies_written(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths of the copies the next publishes write from nothing (``_write_copy``), which still runs."""
    written: list[Path] = []
    real = reader_copy._write_copy
    monkeypatch.setattr(reader_copy, "_write_copy", lambda c, p: (written.append(p), real(c, p))[1])
    return written


def _by_key_replacements(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[int, str]]:
    """table → its fingerprint by difference after a by-key replacement, for each the next publish makes."""
    by_key: dict[str, tuple[int, str]] = {}
    replace = reader_copy_update._replace_by_key
    monkeypatch.setattr(
        reader_copy_update,
        "_replace_by_key",
        lambda c, source, table, *a: by_key.setdefault(table, replace(c, source, table, *a)),
    )
    return by_key


def _tails(monkeypatch: pytest.MonkeyPatch) -> dict[str, int | None]:
    """table → the first row id of the live rows searched for its changed keys (None: the whole key column),
    for each table the next publish replaces by key."""
    tails: dict[str, int | None] = {}
    appended_from = reader_copy_update._appended_from
    monkeypatch.setattr(
        reader_copy_update,
        "_appended_from",
        lambda found, table, key: tails.setdefault(table, appended_from(found, table, key)),
    )
    return tails


@pytest.mark.parametrize("as_a_run", [False, True], ids=["tables-read", "build-fingerprints"])
def test_an_updated_copy_equals_one_written_from_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_a_run: bool, published: Path
) -> None:
    # the golden landing built and its readers' copy written (by the module's fixture when the builds are runs)
    live = _copy_of(published, tmp_path) if as_a_run else tmp_path / "w.duckdb"
    with connect(live) as con:
        if not as_a_run:
            ingest_landing(con, GOLDEN, load_channels(), archive_dir=tmp_path / "archive", run_id="golden")
            _build(con, datetime(2026, 11, 1, tzinfo=UTC))
            publish_reader_copy(con, live)
        _late_ticket_built(con, tmp_path / "archive", as_a_run=as_a_run)
        assert bool(build_fingerprints(con)) == as_a_run
        written = _copies_written(monkeypatch)
        by_key = _by_key_replacements(monkeypatch)
        tails = _tails(monkeypatch)
        publish_reader_copy(con, live)
        assert written == [], "the copy was written from nothing, not brought up to date"
        # the live rows of a scoped model's changed keys were looked up among the rows the build appended
        assert tails["core.fct_feedback"] is not None and tails["core.fct_feedback"] > 0
        with connect_reader(live) as reader:
            updated = _tables(reader)
            contents = reader.execute(f"select table_name, row_count, content_hash from {COPY_CONTENTS}").fetchall()
            # what the copy says it holds (partly worked out by difference) is what it holds
            assert contents and all(fingerprint(reader, t) == (rows, digest) for t, rows, digest in contents)
            assert "core.fct_feedback" in by_key  # changed by key, so replaced by key
            assert {t: fingerprint(reader, t) for t in by_key} == by_key, "a by-key replacement's difference is off"
        monkeypatch.setattr(reader_copy, "update_copy", lambda *a, **k: False)
        reader_copy_path(live).unlink()
        publish_reader_copy(con, live)
        assert written, "the second copy was written from nothing"
    with connect_reader(live) as reader:
        fresh = _tables(reader)
    assert updated.keys() == fresh.keys()
    assert [t for t in fresh if updated[t] != fresh[t]] == []
    assert any(r[2] == "77" for r in updated["staging.stg_channels__feedback"])  # the late ticket is in it


def test_a_copy_that_holds_a_table_now_left_out_is_written_from_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, published: Path
) -> None:
    """A copy written before the SLA clock's marks were left out still holds them: brought up to date, it would
    keep them as they were, stale; it is written from nothing instead, without them."""
    live = _copy_of(published, tmp_path)
    current = reader_copy_path(live).resolve()
    with duckdb.connect(str(current)) as old:
        old.execute(f"attach '{live}' as live (read_only)")
        old.execute("create table core.int_sla_clock_marks as select * from live.core.int_sla_clock_marks")
    with connect(live) as con:
        _late_ticket_built(con, tmp_path / "archive")
        assert con.execute("select count(*) from core.int_sla_clock_marks").fetchone()[0] > 0  # the live file has it
        written = _copies_written(monkeypatch)
        publish_reader_copy(con, live)
    assert len(written) == 1
    with connect_reader(live) as reader:
        tables = {
            r[0] for r in reader.execute("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
        }
    assert "core.int_sla_clock_marks" not in tables
    assert {"core.fct_case_sla", "core.fct_sla_events"} <= tables  # what readers read of the clocks instead


def test_a_copy_of_another_shape_is_written_from_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        con.execute("create table main.facts (n int)")
        publish_reader_copy(con, live)
        con.execute("alter table main.facts add column m int")  # as a migration would
        written = _copies_written(monkeypatch)
        publish_reader_copy(con, live)
    assert len(written) == 1
    with connect_reader(live) as reader:
        assert [r[0] for r in reader.execute("describe main.facts").fetchall()] == ["n", "m"]


def test_the_spare_copy_catches_up_with_two_builds_where_it_lies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, published: Path
) -> None:
    """Three scoped builds: the first copy is written from nothing, the second from a copy of it, and the third
    brings the first up to date where it lies, with the changes of the second build (recorded in the second
    copy) and of the third, replaced by key; it equals a copy written from nothing."""
    live = _copy_of(published, tmp_path)  # the first build, its copy written from nothing
    first, second = reader_copy.reader_copy_slots(live)
    archive = tmp_path / "archive"
    with connect(live) as con:
        assert reader_copy_path(live).resolve() == first
        _late_ticket_built(con, archive)
        publish_reader_copy(con, live)
        assert reader_copy_path(live).resolve() == second
        # the third build: ticket 77 edited, ticket 78 new (the first copy holds neither)
        _late_ticket(con, archive, text="Верните деньги, прошла неделя", updated_at="2026-10-25T09:00:00Z")
        _late_ticket(con, archive, ticket_id=78, text="Спасибо за быструю доставку")
        _build(con, datetime(2026, 11, 3, tzinfo=UTC), as_a_run=True)
        inode = first.stat().st_ino
        written: list[Path] = []
        monkeypatch.setattr(reader_copy, "_write_copy", lambda c, p: written.append(p))
        monkeypatch.setattr(reader_copy_update.shutil, "copyfile", lambda *a: written.append(a[1]))
        by_key = _by_key_replacements(monkeypatch)
        tails = _tails(monkeypatch)
        publish_reader_copy(con, live)
        assert written == [] and first.stat().st_ino == inode, "the spare was not brought up to date where it lay"
        # both builds' appended rows: the second build's counts came from the second copy
        assert tails["core.fct_feedback"] is not None
        assert tails["staging.stg_channels__feedback"] is None  # merged by staging, not a scoped rebuild
        assert reader_copy_path(live).resolve() == first
        with connect_reader(live) as reader:
            caught_up = _tables(reader)
            assert {"core.fct_feedback", "staging.stg_channels__feedback"} <= by_key.keys()
            assert {t: fingerprint(reader, t) for t in by_key} == by_key, "a by-key replacement's difference is off"
        monkeypatch.undo()
        monkeypatch.setattr(reader_copy, "update_copy", lambda *a, **k: False)
        publish_reader_copy(con, live)  # written from nothing, into the other file
    assert reader_copy_path(live).resolve() == second
    with connect_reader(live) as reader:
        fresh = _tables(reader)
    assert caught_up.keys() == fresh.keys()
    assert [t for t in fresh if caught_up[t] != fresh[t]] == []
    texts = {r[2]: r for r in caught_up["staging.stg_channels__feedback"] if r[2] in ("77", "78")}
    assert texts.keys() == {"77", "78"} and "неделя" in repr(texts["77"])  # the edit and the new ticket are in it


def test_rows_only_added_are_appended_and_a_deleted_one_is_noticed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, published: Path
) -> None:
    """The run ledger's fingerprints gain rows at every build: the copy appends them without reading the
    table whole, and still equals a copy written from nothing. A row deleted from such a table (which its
    contract forbids) leaves a gap in the row ids: the table is then compared and replaced whole."""
    live = _copy_of(published, tmp_path)  # built at 2026-11-01, its copy written
    archive = tmp_path / "archive"
    appended: list[tuple[str, bool]] = []
    real = reader_copy_update._appended
    monkeypatch.setattr(
        reader_copy_update, "_appended", lambda c, s, t, *a: appended.append((t, r := real(c, s, t, *a))) or r
    )
    with connect(live) as con:
        for number, day in enumerate((2, 3)):
            _late_ticket(con, archive, ticket_id=90 + number)
            _build(con, datetime(2026, 11, day, tzinfo=UTC), as_a_run=True)
            if number == 1:  # against the table's contract: one row gone, and the count made up by the build's
                con.execute("delete from audit.table_fingerprints where rowid = 0")
            appended.clear()
            publish_reader_copy(con, live)
            assert ("audit.table_fingerprints", number == 0) in appended
            with connect_reader(live) as reader:
                updated = _tables(reader)
                contents = reader.execute(f"select table_name, row_count, content_hash from {COPY_CONTENTS}").fetchall()
                assert all(fingerprint(reader, t) == (rows, digest) for t, rows, digest in contents)
            assert updated["audit.table_fingerprints"] == sorted(
                con.execute("select * from audit.table_fingerprints").fetchall(), key=repr
            )


def test_a_wrong_count_of_appended_rows_is_caught_and_the_table_replaced_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, published: Path
) -> None:
    """The copy looks for the live rows of a scoped model's changed keys among the rows the build says it
    appended; told it appended none, it finds none, its check by difference disagrees, and the table is
    replaced whole: the copy still equals one written from nothing."""
    live = _copy_of(published, tmp_path)
    with connect(live) as con:
        _late_ticket_built(con, tmp_path / "archive")
        con.execute("update staging.stg__build_appended_rows set row_count = 0 where table_name = 'core.fct_feedback'")
        by_key = _by_key_replacements(monkeypatch)
        tails = _tails(monkeypatch)
        publish_reader_copy(con, live)
        assert (
            tails["core.fct_feedback"]
            == con.execute(
                "select estimated_size from duckdb_tables() where schema_name = 'core' and table_name = 'fct_feedback'"
                " and database_name = current_database()"
            ).fetchone()[0]
        )
        with connect_reader(live) as reader:
            updated = _tables(reader)
            assert by_key["core.fct_feedback"] != fingerprint(reader, "core.fct_feedback"), "the check missed it"
        monkeypatch.undo()
        monkeypatch.setattr(reader_copy, "update_copy", lambda *a, **k: False)
        publish_reader_copy(con, live)
    with connect_reader(live) as reader:
        fresh = _tables(reader)
    assert [t for t in fresh if updated.get(t) != fresh[t]] == []
