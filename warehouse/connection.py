"""The one place the warehouse file is opened. Path from OTKLIK_WAREHOUSE.

Every writer goes through ``connect()``; readers that must never write use
``connect(read_only=True)``. Migrations are applied on every read-write open, so a new or
old file is always at the current schema.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.locking import warehouse_lock
from warehouse.migrate import apply_migrations, migration_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "otklik.duckdb"
# A full build of a large month can take minutes; a scheduled run rather waits than fails.
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800


def warehouse_path() -> Path:
    return Path(os.environ.get("OTKLIK_WAREHOUSE", DEFAULT_WAREHOUSE)).expanduser().resolve()


def session_defaults(con: duckdb.DuckDBPyConnection) -> None:
    # Timestamps are stored in UTC; month boundaries use the reporting zone explicitly in SQL,
    # never the session zone, so results do not depend on the machine's locale.
    con.execute("set TimeZone = 'UTC'")


def lock_timeout_seconds() -> float:
    return float(os.environ.get("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_SECONDS))


@contextmanager
def connect(path: Path | str | None = None, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (migrated when read-write) and close it on exit.

    Other processes queue behind it (warehouse/locking.py): writers one at a time, readers
    together, for up to OTKLIK_WAREHOUSE_LOCK_TIMEOUT seconds.
    """
    target = Path(path) if path is not None else warehouse_path()
    if read_only and not target.exists():
        raise FileNotFoundError(f"no warehouse at {target}: run `otklik ingest` and `otklik build` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = warehouse_lock(target, exclusive=not read_only, timeout_seconds=lock_timeout_seconds())
    with lock, _open(target, read_only=read_only) as con:
        yield con


@contextmanager
def hold_warehouse(what: str, path: Path | str | None = None) -> Iterator[None]:
    """Hold the warehouse for a whole run (``what``: the flow and its run id, shown to whoever waits).

    Every ``connect()`` of this process inside it nests in the held lock, and no other process opens
    the warehouse until it ends: a build reads the same batches in every layer as it records as its
    inputs, so a replay of it sees what it saw.
    """
    target = Path(path) if path is not None else warehouse_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(target, exclusive=True, timeout_seconds=lock_timeout_seconds(), holder=what):
        yield


class WarehouseUnreadable(RuntimeError):
    """DuckDB cannot open a warehouse file: it is damaged, not a DuckDB file, or held by another program."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot open the warehouse {path}: {reason}")
        self.path = path
        self.reason = reason


def open_duckdb(target: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that names the file in a WarehouseUnreadable when it cannot be opened."""
    try:
        return duckdb.connect(str(target), read_only=read_only)
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseUnreadable(target, reason.removeprefix("IO Error: ")) from exc


def owner_only(target: Path) -> None:
    """The live warehouse holds raw payloads and customers' contacts: only its owner reads it (and its
    write-ahead log). Readers get the readers' copy, which holds neither."""
    for path in (target, target.with_name(target.name + ".wal")):
        try:
            if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
                path.chmod(0o600)
        except FileNotFoundError:
            pass


@contextmanager
def _open(target: Path, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_duckdb(target, read_only=read_only)
    try:
        if not read_only:
            owner_only(target)
        session_defaults(con)
        if not read_only:
            apply_migrations(con)
        else:
            require_current_schema(con, target)
        yield con
    finally:
        con.close()
        if not read_only:
            owner_only(target)  # the WAL DuckDB may have created meanwhile


class OutdatedWarehouse(RuntimeError):
    """A read-only open of a warehouse whose schema is older than the code."""


def require_current_schema(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    expected = len(migration_files())
    try:
        current = con.execute("select coalesce(max(version), 0) from main.schema_migrations").fetchone()[0]
    except duckdb.CatalogException:
        current = 0
    if current < expected:
        con.close()
        raise OutdatedWarehouse(
            f"the warehouse {target} is at schema version {current}, this code needs {expected}: "
            "run a command that writes (`otklik ingest` or `otklik build`) to migrate it"
        )


def connect_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse at the current schema (tests, scratch replays)."""
    con = duckdb.connect(":memory:")
    session_defaults(con)
    apply_migrations(con)
    return con
