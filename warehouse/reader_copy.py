"""The readers' copy: a read-only snapshot of the warehouse that writers never block.

DuckDB lets one process hold the file read-write and nobody else open it meanwhile, so a BI tool,
an analyst's notebook or a review that opened the live file would wait behind every hourly build
(warehouse/locking.py), or block the build while it reads. After every completed build the build
flow therefore publishes a copy beside the warehouse, ``<name>.reader.duckdb``:

- it is written while the writer holds the exclusive lock, after a checkpoint (so the file holds
  every committed change and the WAL is empty), to a temporary name first, then swapped in with
  ``os.replace``: a reader sees the previous copy or the new one, never half of one;
- a reader that has the old copy open keeps reading it (the old inode lives until it closes);
- readers open it read-only with no lock at all, so any number of them read while a build runs.

``reader_copy_info`` says which build a copy holds, so a reader knows how fresh its figures are.
The copy costs one sequential file copy per build (about the file size at disk speed); at DuckLake
scale-out (a PostgreSQL catalog) readers attach the catalog's snapshots instead.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.connection import require_current_schema, session_defaults, warehouse_path


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
    other writers out while the file is copied.
    """
    live = Path(target) if target is not None else warehouse_path()
    copy = reader_copy_path(live)
    con.execute("checkpoint")  # every committed change into the file; nothing left in the WAL
    staging = copy.with_name(f".{copy.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(live, staging)
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, copy)
    finally:
        staging.unlink(missing_ok=True)
    return copy


@contextmanager
def connect_reader(target: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the readers' copy read-only, without waiting for any writer."""
    copy = reader_copy_path(target)
    if not copy.exists():
        raise FileNotFoundError(
            f"no readers' copy at {copy}: it is written by every completed `otklik build`; run one first"
        )
    con = duckdb.connect(str(copy), read_only=True)
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
