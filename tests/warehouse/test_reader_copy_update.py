"""A readers' copy brought up to date from the previous one equals a copy written from nothing."""

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.golden import GOLDEN, golden_context
from transforms.channels import get_channel, load_channels
from warehouse import connect, reader_copy
from warehouse.build import CHECKED_LAYERS, build_layer, finish_build
from warehouse.ingest import ingest_landing, land_batch
from warehouse.reader_copy import connect_reader, publish_reader_copy, reader_copy_path
from warehouse.reader_copy_update import COPY_CONTENTS


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    names = [
        r[0]
        for r in con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database()"
            " order by 1"
        ).fetchall()
    ]
    return {n: sorted(con.execute(f"select * from {n}").fetchall(), key=repr) for n in names if n != COPY_CONTENTS}


def _build(con: duckdb.DuckDBPyConnection, as_of: datetime) -> None:
    """Every layer, without the checks (tests/warehouse/test_scoped_build.py covers a build with them)."""
    for layer in CHECKED_LAYERS[1:]:
        build_layer(con, layer, golden_context(as_of))
    finish_build(con)


def _late_ticket(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
    ticket = {
        "id": 77,
        "created_at": "2026-10-20T09:00:00Z",
        "updated_at": "2026-10-21T09:00:00Z",
        "subject": "Возврат",
        "description_text": "Верните деньги за заказ",
        "requester_id": 5,
        "requester": {"name": "Олег", "email": None, "phone": None},
    }
    land_batch(
        con,
        "freshdesk_tickets",
        get_channel("freshdesk_tickets"),
        json.dumps([ticket], ensure_ascii=False).encode(),
        source_file="freshdesk_tickets/late.json",
        source_uri="file:///landing/freshdesk_tickets/late.json",
        archive_dir=archive,
        run_id="late",
    )


def test_an_updated_copy_equals_one_written_from_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        ingest_landing(con, GOLDEN, load_channels(), archive_dir=tmp_path / "archive", run_id="golden")
        _build(con, datetime(2026, 11, 1, tzinfo=UTC))
        publish_reader_copy(con, live)
        _late_ticket(con, tmp_path / "archive")
        _build(con, datetime(2026, 11, 2, tzinfo=UTC))
        written: list[Path] = []
        real = reader_copy._write_copy
        monkeypatch.setattr(reader_copy, "_write_copy", lambda c, p: (written.append(p), real(c, p))[1])
        publish_reader_copy(con, live)
        assert written == [], "the copy was written from nothing, not brought up to date"
        with connect_reader(live) as reader:
            updated = _tables(reader)
        monkeypatch.setattr(reader_copy, "update_copy", lambda *a, **k: False)
        reader_copy_path(live).unlink()
        publish_reader_copy(con, live)
        assert written, "the second copy was written from nothing"
    with connect_reader(live) as reader:
        fresh = _tables(reader)
    assert updated.keys() == fresh.keys()
    assert [t for t in fresh if updated[t] != fresh[t]] == []
    assert any(r[2] == "77" for r in updated["staging.stg_channels__feedback"])  # the late ticket is in it


def test_a_copy_of_another_shape_is_written_from_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = tmp_path / "w.duckdb"
    with connect(live) as con:
        con.execute("create table main.facts (n int)")
        publish_reader_copy(con, live)
        con.execute("alter table main.facts add column m int")  # as a migration would
        written: list[Path] = []
        real = reader_copy._write_copy
        monkeypatch.setattr(reader_copy, "_write_copy", lambda c, p: (written.append(p), real(c, p))[1])
        publish_reader_copy(con, live)
    assert len(written) == 1
    with connect_reader(live) as reader:
        assert [r[0] for r in reader.execute("describe main.facts").fetchall()] == ["n", "m"]
