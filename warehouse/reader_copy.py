"""The readers' copy: a read-only snapshot of the warehouse that writers never block.

DuckDB lets one process hold the file read-write and nobody else open it meanwhile, so a BI tool,
an analyst's notebook or a review that opened the live file would wait behind every hourly build
(warehouse/locking.py), or block the build while it reads. After every completed build the build
flow therefore publishes a copy beside the warehouse, ``<name>.reader.duckdb``:

- it is written while the writer holds the exclusive lock, through the writer's connection (one
  consistent snapshot of every committed change);
- ``<name>.reader.duckdb`` is a link to one of two files, ``<name>.reader-1.duckdb`` and ``-2``: the copy
  of the last build, and the spare, of the build before. A build brings the spare up to date where it
  lies (warehouse/reader_copy_update.py: only the rows the last two builds changed are written), then
  points the link at it with ``os.replace`` of a new link: a reader opens the previous copy or the new
  one, never half of one;
- a reader that has a copy open keeps reading it. When it still holds the spare, DuckDB's file lock
  (another process) or its own check (this process) refuses the build's write: the new copy is then
  written at a private path (a directory of mode 0700, so nobody opens it half-written) and renamed
  over the spare's name, and the reader keeps the old file (its inode lives until it closes);
- readers open it read-only, so any number of them read while a build runs.

What it holds (``READER_SCHEMAS``): the analytical layers ``staging``, ``core``, ``marts``, the run
ledger and checks in ``audit``, ``quarantine`` and ``main`` (the schema version), less the build's
bookkeeping tables (``staging.stg__*``: the staged-record index, the change log) and the SLA chain's
working state (``core.int_sla_clock_marks``, whose every open cycle each build writes again; its
transitions are in ``core.fct_sla_events``: warehouse/reader_copy_update.py ``LEFT_OUT``). Never ``restricted``
(customer contacts beside their key: with them anyone could undo the keyed hash) nor ``raw`` (the
payloads as landed, contacts and texts unmasked; the QA reviewers' and labellers' names), nor any
schema added later until it is listed here. Two quarantine columns quote what a customer wrote,
unmasked, and are replaced by ``WITHHELD`` (``REDACTED_COLUMNS``): ``quarantine.records.raw_excerpt``
(the first characters of a record that could not be parsed) and ``quarantine.staging_rejects.detail``
(the rejected field's raw value: a phone typed into the score field reads "score '+7 916 ...' is not
a number"). The tables keep their shape, rows, reasons and positions; the texts stay in the live
file for operators (``otklik quarantine list``). staging and core carry no contact
(transforms/schemas.py): body texts are masked, customers are keyed hashes (without ``restricted``
they cannot be undone). The copy is written table by table into a fresh file, not copied byte for
byte: a dropped table's bytes would otherwise survive in the file's free blocks.

The copy's mode is 0600 (owner only) unless ``OTKLIK_READER_COPY_MODE`` says otherwise (octal, e.g.
``0640`` for a BI tool's group).

``reader_copy_info`` says which build a copy holds, so a reader knows how fresh its figures are.
Brought up to date, the copy costs what the build changed (a few seconds at a million items); written from
nothing, a rewrite of the kept tables (about a minute at a million items).

**On a DuckLake** (warehouse/lake.py) there is no copy: every commit is a snapshot that no later
writer changes, so ``publish_reader_copy`` records the snapshot the completed build left its tables at
(audit.runs.output_snapshot), and ``connect_reader`` attaches the lake read-only, pinned to the last
completed build's snapshot: a reader sees that build's tables whatever lands or builds meanwhile, and
waits for nobody. What a reader may see there is up to the catalog's and the data path's permissions
(a reader's PostgreSQL role and storage keys), not to this module: the lake's readers see every schema.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse import lake
from warehouse.connection import (
    connect,
    lake_session,
    lake_target,
    open_duckdb,
    require_current_schema,
    session_defaults,
    warehouse_path,
)
from warehouse.reader_copy_update import (
    build_fingerprints,
    is_left_out,
    record_contents,
    update_copy,
)
from warehouse.sql_text import quote_name, sql_literal

# What the copy holds: every other schema (restricted, raw, any added later) stays in the live file.
READER_SCHEMAS = frozenset({"main", "staging", "core", "marts", "audit", "quarantine"})
# Columns of kept tables that quote customers' data unmasked: copied as WITHHELD.
REDACTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "quarantine.records": ("raw_excerpt",),
    "quarantine.staging_rejects": ("detail",),
}
WITHHELD = "(withheld from the readers' copy: it may quote personal data)"
MODE_VARIABLE = "OTKLIK_READER_COPY_MODE"
DEFAULT_MODE = 0o600
_COPY_ALIAS = "otklik_readers_copy"


def reader_copy_path(target: Path | str | None = None) -> Path:
    """``<warehouse>.reader.duckdb`` beside the warehouse file (``OTKLIK_WAREHOUSE`` by default)."""
    live = Path(target) if target is not None else warehouse_path()
    return live.with_name(f"{live.stem}.reader{live.suffix or '.duckdb'}")


@dataclass(frozen=True)
class ReaderCopyInfo:
    path: Path
    build_run_id: str | None  # the last completed build-warehouse run the copy holds
    built_at: datetime | None


def publish_reader_copy(con: duckdb.DuckDBPyConnection, target: Path | str | None = None) -> Path | None:
    """Replace the readers' copy with the warehouse as ``con`` (a read-write open of it) sees it now.

    The caller must hold the warehouse read-write (``warehouse.connect()``): that is what keeps
    other writers out while the tables are copied. On a DuckLake: record the snapshot instead (the
    module's docstring) and return None.
    """
    if lake.target_of(con) is not None:
        record_build_snapshot(con)
        return None
    live = Path(target) if target is not None else warehouse_path()
    link = reader_copy_path(live)
    current = _current_copy(link)
    spare = next(slot for slot in reader_copy_slots(live) if slot != current)
    mode = reader_copy_mode()
    # the build's fingerprints are of the live rows; a redacted table's rows differ in the copy
    known = {t: fp for t, fp in build_fingerprints(con).items() if t not in REDACTED_COLUMNS}
    kept = {"schemas": READER_SCHEMAS, "select_of": _select_of, "recorded": known}
    if current is not None and update_copy(con, current, spare, in_place=True, **kept):
        os.chmod(spare, mode)
        _fsync(spare)
    else:
        private = Path(tempfile.mkdtemp(prefix=f".{link.name}.", suffix=".tmp", dir=link.parent))  # mode 0700
        try:
            staging = private / spare.name
            if current is None or not update_copy(con, current, staging, **kept):
                _write_copy(con, staging)
            os.chmod(staging, mode)
            _fsync(staging)
            os.replace(staging, spare)  # a reader that holds the old file keeps it (its inode lives on)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    _point_at(link, spare)
    return link


def reader_copy_slots(target: Path | str | None = None) -> tuple[Path, Path]:
    """The two files the readers' copy alternates between: ``<warehouse>.reader-1.duckdb`` and ``-2``."""
    link = reader_copy_path(target)
    return tuple(link.with_name(f"{link.stem}-{n}{link.suffix}") for n in (1, 2))  # type: ignore[return-value]


def _current_copy(link: Path) -> Path | None:
    """The file readers open now: the slot ``link`` points at, the file itself when it is one (a copy
    published before copies alternated), None when there is none."""
    if link.is_symlink():
        found = link.parent / os.readlink(link)
        return found if found.exists() else None
    return link if link.exists() else None


def _point_at(link: Path, slot: Path) -> None:
    """Make ``link`` name ``slot`` in one step (a new link renamed over it): a reader opening the copy opens
    the previous file or the new one. Where links cannot be made, the slot's bytes are copied to the name."""
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.symlink(slot.name, temporary)  # relative: the folder may move
    except OSError:
        shutil.copyfile(slot, temporary)
        os.chmod(temporary, slot.stat().st_mode)
    os.replace(temporary, link)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def record_build_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """On a DuckLake: the snapshot ``con`` sees now, as the output of the last completed build (the one
    readers are pinned to); return it (None when no build completed)."""
    snapshot = lake.current_snapshot(con)
    row = con.execute(
        "select run_id from audit.runs where flow = 'build-warehouse' and state = 'completed'"
        " order by started_at desc limit 1"
    ).fetchone()
    if row is None or snapshot is None:
        return None
    con.execute("update audit.runs set output_snapshot = ? where run_id = ?", [snapshot, row[0]])
    return snapshot


def reader_copy_mode(environ: Mapping[str, str] | None = None) -> int:
    """The copy's permission bits: ``OTKLIK_READER_COPY_MODE`` (octal, e.g. 0640), else 0600."""
    text = (os.environ if environ is None else environ).get(MODE_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MODE
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise ValueError(f"{MODE_VARIABLE}={text!r} is not a permission mode in octal, e.g. 0600 or 0640")
    return mode


def _write_copy(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The kept schemas' tables (``REDACTED_COLUMNS`` as ``WITHHELD``) into a new DuckDB file at ``path``."""
    source = quote_name(con.execute("select current_database()").fetchone()[0])
    con.execute(f"attach {sql_literal(str(path))} as {_COPY_ALIAS}")
    try:
        # Every table, constraint and comment as the live file declares it, then only the kept
        # schemas' rows: the excluded schemas' tables exist in the new file only empty, then not at all.
        con.execute(f"copy from database {source} to {_COPY_ALIAS} (schema)")
        schemas = con.execute(
            "select schema_name from duckdb_schemas() where database_name = ? and not internal", [_COPY_ALIAS]
        ).fetchall()
        for (schema,) in schemas:
            if schema not in READER_SCHEMAS:
                con.execute(f"drop schema {_COPY_ALIAS}.{quote_name(schema)} cascade")
        for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?", [_COPY_ALIAS]
        ).fetchall():
            if is_left_out(f"{schema}.{table}"):
                con.execute(f"drop table {_COPY_ALIAS}.{quote_name(schema)}.{quote_name(table)}")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ? order by all", [_COPY_ALIAS]
        ).fetchall()
        con.execute("begin transaction")  # one commit for all the rows: much faster than one per table
        try:
            for schema, table in tables:
                name = f"{quote_name(schema)}.{quote_name(table)}"
                con.execute(f"insert into {_COPY_ALIAS}.{name} by name {_select_of(source, f'{schema}.{table}')}")
            record_contents(con, _COPY_ALIAS, READER_SCHEMAS, _select_of)  # what the next copy starts from
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute(f"detach {_COPY_ALIAS}")


def _select_of(source: str, table: str) -> str:
    """The rows of the live ``table`` (``schema.table``) as the copy holds them: ``REDACTED_COLUMNS`` withheld."""
    schema, name = table.split(".", 1)
    redacted = REDACTED_COLUMNS.get(table, ())
    withheld = ", ".join(f"{sql_literal(WITHHELD)} as {quote_name(c)}" for c in redacted)
    replace = f" replace ({withheld})" if redacted else ""
    return f"select *{replace} from {quote_name(source.strip(chr(34)))}.{quote_name(schema)}.{quote_name(name)}"


@contextmanager
def connect_reader(target: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the readers' copy read-only, without waiting for any writer (on a DuckLake: the lake at
    the last completed build's snapshot)."""
    lake_target = _lake_target(target)
    if lake_target is not None:
        with _connect_lake_reader(lake_target) as con:
            yield con
        return
    copy = reader_copy_path(target)
    if not copy.exists():
        raise FileNotFoundError(
            f"no readers' copy at {copy}: it is written by every completed `otklik build`; run one first"
        )
    # the file the link names now, by its own name: DuckDB then knows this process reads it (a build in this
    # process will not change it under this connection) and the connection keeps it however the link moves
    con = open_duckdb(copy.resolve(), read_only=True)
    try:
        session_defaults(con)
        require_current_schema(con, copy)
        yield con
    finally:
        con.close()


def _lake_target(target: Path | str | lake.LakeTarget | None) -> lake.LakeTarget | None:
    if isinstance(target, lake.LakeTarget):
        return target
    if target is None:
        return lake_target()
    return lake.parse_target(target) if isinstance(target, str) and lake.is_lake_setting(target) else None


def last_build_snapshot(target: lake.LakeTarget) -> int | None:
    """The snapshot the last completed build of the lake left its tables at (None: no build yet)."""
    with connect(target, read_only=True) as con:
        row = con.execute(
            "select output_snapshot from audit.runs where flow = 'build-warehouse' and state = 'completed'"
            " and output_snapshot is not null order by started_at desc limit 1"
        ).fetchone()
    return row[0] if row else None


@contextmanager
def _connect_lake_reader(target: lake.LakeTarget) -> Iterator[duckdb.DuckDBPyConnection]:
    snapshot = last_build_snapshot(target)
    if snapshot is None:
        raise FileNotFoundError(
            f"no completed build in the DuckLake warehouse {target}: every completed `otklik build` records "
            "the snapshot readers read; run one first"
        )
    with lake_session(target, snapshot=snapshot) as con:
        yield con


def reader_copy_info(con: duckdb.DuckDBPyConnection, path: Path) -> ReaderCopyInfo:
    row = con.execute(
        "select run_id, ended_at from audit.runs"
        " where flow = 'build-warehouse' and state = 'completed' order by started_at desc limit 1"
    ).fetchone()
    return ReaderCopyInfo(path=path, build_run_id=row[0] if row else None, built_at=row[1] if row else None)
