"""The one place the warehouse is opened: a DuckDB file, or a DuckLake, as OTKLIK_WAREHOUSE says.

Every writer goes through ``connect()``; readers that must never write use
``connect(read_only=True)``. Migrations are applied on every read-write open, so a new or
old warehouse is always at the current schema.

``OTKLIK_WAREHOUSE`` is a file path (default warehouse/otklik.duckdb), or
``ducklake:postgres:<libpq dsn>`` for a DuckLake with a PostgreSQL catalog, which several processes
and hosts write at once (warehouse/lake.py). On the lake the same SQL runs unchanged (the lake is the
connection's default catalog); the file lock becomes PostgreSQL advisory locks, and readers need no
lock at all (each query reads one committed snapshot).
"""

import os
import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import duckdb

from warehouse import lake
from warehouse.compaction import vacuum_off
from warehouse.lake import LakeTarget, LakeUnavailable  # noqa: F401 (re-exported: the error an operator reads)
from warehouse.locking import warehouse_lock
from warehouse.migrate import apply_migrations, migration_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "otklik.duckdb"
# A full build of a large month can take minutes; a scheduled run rather waits than fails.
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800


def warehouse_setting() -> str:
    return os.environ.get("OTKLIK_WAREHOUSE", str(DEFAULT_WAREHOUSE))


def warehouse_path() -> Path:
    """The warehouse file; a ValueError when OTKLIK_WAREHOUSE names a DuckLake (it has no one file)."""
    setting = warehouse_setting()
    if lake.is_lake_setting(setting):
        raise ValueError(f"the warehouse is a DuckLake ({lake_target()}), not a file")
    return Path(setting).expanduser().resolve()


def lake_target(setting: str | None = None) -> LakeTarget | None:
    """The DuckLake that OTKLIK_WAREHOUSE (or ``setting``) names; None when it names a file."""
    setting = warehouse_setting() if setting is None else setting
    return lake.parse_target(setting) if lake.is_lake_setting(setting) else None


def warehouse_label() -> str:
    """The warehouse as an operator reads it: the file's path, or the lake's catalog (no password)."""
    target = lake_target()
    return str(target) if target is not None else str(warehouse_path())


def _resolve(path: Path | str | LakeTarget | None) -> Path | LakeTarget:
    if isinstance(path, LakeTarget):
        return path
    if path is None:
        return lake_target() or warehouse_path()
    if isinstance(path, str) and lake.is_lake_setting(path):
        return lake.parse_target(path)
    return Path(path)


MEMORY_LIMIT_VARIABLE = "OTKLIK_MEMORY_LIMIT"
ROW_ID_FILTER_VALUES = 4096  # session_defaults: DuckDB's dynamic_or_filter_threshold
_MEMORY_SIZE = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$", re.IGNORECASE)


def session_defaults(con: duckdb.DuckDBPyConnection) -> None:
    # Timestamps are stored in UTC; month boundaries use the reporting zone explicitly in SQL,
    # never the session zone, so results do not depend on the machine's locale.
    con.execute("set TimeZone = 'UTC'")
    vacuum_off(con)  # a build turns it on when it is due (warehouse/compaction.py)
    # A join whose build side holds up to this many values hands them to the other side's scan as a filter.
    # Scoped builds, staging and the readers' copy pick rows by row id (``rowid in (select ...)``) a few
    # thousand at a time: with DuckDB's default (50) such a select scanned the whole table and hashed every
    # row id; with this one the scan fetches the rows picked. Steady +1,000 at 1M, four pairs: 23.5-26.1 s
    # wall against 26.0-29.0 s, peak RSS 3.3-3.4 GiB against 4.1-4.3 GiB; the same tables either way.
    con.execute(f"set dynamic_or_filter_threshold = {ROW_ID_FILTER_VALUES}")
    limit = memory_limit()
    if limit is not None:  # past it DuckDB's joins, aggregates and sorts spill to its temp directory
        con.execute(f"set memory_limit = '{limit}'")


def memory_limit(environ: Mapping[str, str] | None = None) -> str | None:
    """``OTKLIK_MEMORY_LIMIT`` (e.g. ``4GB``, ``1.5GiB``): how much memory DuckDB may use per connection
    before it works out of core. None: DuckDB's default (80 % of the machine's memory)."""
    text = (os.environ if environ is None else environ).get(MEMORY_LIMIT_VARIABLE, "").strip()
    if not text:
        return None
    if not _MEMORY_SIZE.match(text):
        raise ValueError(f"{MEMORY_LIMIT_VARIABLE}={text!r} is not a memory size: write e.g. 4GB, 1.5GiB or 512MB")
    return text


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50}


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """The memory DuckDB may use on ``con`` (``OTKLIK_MEMORY_LIMIT``, else its default), in bytes, read back
    from the setting as DuckDB writes it ("2.7 GiB", "488.2 MiB")."""
    text = con.execute("select current_setting('memory_limit')").fetchone()[0]
    number, _, unit = text.strip().partition(" ")
    if unit not in _UNITS:
        raise ValueError(f"DuckDB's memory_limit {text!r} is not in a unit this reader knows")
    return int(float(number) * _UNITS[unit])


def lock_timeout_seconds() -> float:
    return float(os.environ.get("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT_SECONDS))


@contextmanager
def connect(
    path: Path | str | LakeTarget | None = None,
    *,
    read_only: bool = False,
    channels: Collection[str] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (migrated when read-write) and close it on exit.

    Other processes queue behind it (warehouse/locking.py): writers one at a time, readers
    together, for up to OTKLIK_WAREHOUSE_LOCK_TIMEOUT seconds. ``channels``: a writer that lands
    batches of these channels only (a schedule group's ingest, one channel's pull); on a DuckLake it
    writes beside other such writers, each channel held by one of them at a time, while a build waits
    for all of them (and they for it). On a file it is an ordinary writer.
    """
    target = _resolve(path)
    if isinstance(target, LakeTarget):
        with _connect_lake(target, read_only=read_only, channels=channels) as con:
            yield con
        return
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
    target = _resolve(path)
    if isinstance(target, LakeTarget):
        with lake.lake_lock(
            target, [lake.WAREHOUSE_LOCK], exclusive=True, timeout_seconds=lock_timeout_seconds(), holder=what
        ):
            yield
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(target, exclusive=True, timeout_seconds=lock_timeout_seconds(), holder=what):
        yield


@contextmanager
def hold_channels(con: duckdb.DuckDBPyConnection, channels: Collection[str]) -> Iterator[None]:
    """On a DuckLake, hold ``channels`` (folders an ingest lands, e.g. unregistered ones it quarantines)
    besides those its ``connect(channels=...)`` holds; on a file nothing more is needed (one writer)."""
    target = lake.target_of(con)
    if target is None or not channels:
        yield
        return
    names = [f"channel:{c}" for c in channels]
    with lake.lake_lock(target, names, exclusive=True, timeout_seconds=lock_timeout_seconds(), holder="ingest"):
        yield


_lakes_ready: set[str] = set()  # lakes this process found (or made) current: schema and sequences


@contextmanager
def _connect_lake(
    target: LakeTarget, *, read_only: bool, channels: Collection[str] | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake: readers without a lock; writers migrate it under the exclusive lock if it is behind,
    then hold it exclusively (or shared, with their channels, for an ingest)."""
    timeout = lock_timeout_seconds()
    if not read_only:
        _migrate_lake(target, timeout)
    locks: AbstractContextManager
    if read_only:
        locks = nullcontext()
    elif channels is None:
        locks = lake.lake_lock(target, [lake.WAREHOUSE_LOCK], exclusive=True, timeout_seconds=timeout)
    else:
        locks = _ingest_locks(target, channels, timeout)
    with locks, lake_session(target, read_only=read_only) as con:
        yield con


@contextmanager
def lake_session(
    target: LakeTarget, *, read_only: bool = False, snapshot: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open of the lake at the current schema (pinned to ``snapshot`` when given), closed on exit."""
    con = lake.open_lake(target, read_only=read_only, snapshot=snapshot)
    lake.register(con, target)
    try:
        session_defaults(con)
        require_current_schema(con, target)
        yield con
    finally:
        lake.unregister(con)
        con.close()


@contextmanager
def _ingest_locks(target: LakeTarget, channels: Collection[str], timeout: float) -> Iterator[None]:
    with lake.lake_lock(target, [lake.WAREHOUSE_LOCK], exclusive=False, timeout_seconds=timeout, holder="ingest"):
        names = [f"channel:{c}" for c in channels]
        with lake.lake_lock(target, names, exclusive=True, timeout_seconds=timeout, holder="ingest"):
            yield


def _migrate_lake(target: LakeTarget, timeout: float) -> None:
    if target.dsn in _lakes_ready:  # migrations only go forward, and this process's code does not change
        return
    con = lake.open_lake(target)
    try:
        if _schema_version(con) < len(migration_files()):
            with lake.lake_lock(target, [lake.WAREHOUSE_LOCK], exclusive=True, timeout_seconds=timeout):
                session_defaults(con)
                apply_migrations(con)
        lake.create_sequences(target)
        _lakes_ready.add(target.dsn)
    finally:
        con.close()


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


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        return con.execute("select coalesce(max(version), 0) from main.schema_migrations").fetchone()[0]
    except duckdb.CatalogException:
        return 0


def require_current_schema(con: duckdb.DuckDBPyConnection, target: Path | LakeTarget) -> None:
    expected = len(migration_files())
    current = _schema_version(con)
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
