"""The readers' copy: a read-only snapshot of the warehouse that writers never block.

DuckDB lets one process hold the file read-write and nobody else open it meanwhile, so a BI tool,
an analyst's notebook or a review that opened the live file would wait behind every hourly build
(warehouse/locking.py), or block the build while it reads. After every completed build the build
flow therefore publishes a copy beside the warehouse, ``<name>.reader.duckdb``:

- it is written while the writer holds the exclusive lock, through the writer's connection (one
  consistent snapshot of every committed change), into a private directory first (mode 0700, so
  nobody opens it half-written), then swapped in with ``os.replace``: a reader sees the previous
  copy or the new one, never half of one;
- a reader that has the old copy open keeps reading it (the old inode lives until it closes);
- readers open it read-only with no lock at all, so any number of them read while a build runs.

What it holds (``READER_SCHEMAS``): the analytical layers ``staging``, ``core``, ``marts``, the run
ledger and checks in ``audit``, ``quarantine`` and ``main`` (the schema version). Never ``restricted``
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
The copy costs one rewrite of the kept tables per build (about a second for 5 million rows); at
DuckLake scale-out (a PostgreSQL catalog) readers attach the catalog's snapshots instead.
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

from warehouse.connection import open_duckdb, require_current_schema, session_defaults, warehouse_path

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


def publish_reader_copy(con: duckdb.DuckDBPyConnection, target: Path | str | None = None) -> Path:
    """Replace the readers' copy with the warehouse as ``con`` (a read-write open of it) sees it now.

    The caller must hold the warehouse read-write (``warehouse.connect()``): that is what keeps
    other writers out while the tables are copied.
    """
    live = Path(target) if target is not None else warehouse_path()
    copy = reader_copy_path(live)
    mode = reader_copy_mode()
    private = Path(tempfile.mkdtemp(prefix=f".{copy.name}.", suffix=".tmp", dir=copy.parent))  # mode 0700
    try:
        staging = private / copy.name
        _write_copy(con, staging)
        os.chmod(staging, mode)
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, copy)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return copy


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
    source = _quote(con.execute("select current_database()").fetchone()[0])
    con.execute(f"attach {_literal(str(path))} as {_COPY_ALIAS}")
    try:
        # Every table, constraint and comment as the live file declares it, then only the kept
        # schemas' rows: the excluded schemas' tables exist in the new file only empty, then not at all.
        con.execute(f"copy from database {source} to {_COPY_ALIAS} (schema)")
        schemas = con.execute(
            "select schema_name from duckdb_schemas() where database_name = ? and not internal", [_COPY_ALIAS]
        ).fetchall()
        for (schema,) in schemas:
            if schema not in READER_SCHEMAS:
                con.execute(f"drop schema {_COPY_ALIAS}.{_quote(schema)} cascade")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ? order by all", [_COPY_ALIAS]
        ).fetchall()
        con.execute("begin transaction")  # one commit for all the rows: much faster than one per table
        try:
            for schema, table in tables:
                name = f"{_quote(schema)}.{_quote(table)}"
                redacted = REDACTED_COLUMNS.get(f"{schema}.{table}", ())
                withheld = ", ".join(f"{_literal(WITHHELD)} as {_quote(c)}" for c in redacted)
                replace = f" replace ({withheld})" if redacted else ""
                con.execute(f"insert into {_COPY_ALIAS}.{name} by name select *{replace} from {source}.{name}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute(f"detach {_COPY_ALIAS}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def connect_reader(target: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the readers' copy read-only, without waiting for any writer."""
    copy = reader_copy_path(target)
    if not copy.exists():
        raise FileNotFoundError(
            f"no readers' copy at {copy}: it is written by every completed `otklik build`; run one first"
        )
    con = open_duckdb(copy, read_only=True)
    try:
        session_defaults(con)
        require_current_schema(con, copy)
        yield con
    finally:
        con.close()


def reader_copy_info(con: duckdb.DuckDBPyConnection, path: Path) -> ReaderCopyInfo:
    row = con.execute(
        "select run_id, ended_at from audit.runs"
        " where flow = 'build-warehouse' and state = 'completed' order by started_at desc limit 1"
    ).fetchone()
    return ReaderCopyInfo(path=path, build_run_id=row[0] if row else None, built_at=row[1] if row else None)
