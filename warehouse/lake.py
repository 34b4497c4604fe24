"""The DuckLake backend: the warehouse as a DuckLake with a PostgreSQL catalog, for several hosts.

``OTKLIK_WAREHOUSE=ducklake:postgres:<libpq dsn>`` (e.g. ``ducklake:postgres:dbname=otklik
host=127.0.0.1 port=5544 user=otklik``) selects it; ``warehouse/connection.py`` dispatches here, and
everything else keeps writing the same SQL. Its data files live at ``OTKLIK_LAKE_DATA_PATH``: a folder
every host sees at the same path, or ``s3://bucket/prefix/`` with ``OTKLIK_S3_ENDPOINT``,
``OTKLIK_S3_KEY_ID``, ``OTKLIK_S3_SECRET`` (and ``OTKLIK_S3_REGION``, default us-east-1). The
catalog's password comes from the DSN, ``OTKLIK_LAKE_PASSWORD`` or ``PGPASSWORD``; no message of
this module shows it or the S3 secret (``redact``).

**Opening.** An in-memory DuckDB loads the extensions from the installed wheels by file path, with
``autoinstall_known_extensions`` off (nothing is downloaded): ``postgres_scanner`` before
``ducklake``'s ATTACH (else DuckLake tries to download it), ``httpfs`` only for S3. The lake is
attached as the catalog ``otklik_lake`` and made the default (``USE``), so the unqualified
``raw.x``, ``core.y`` of every SQL statement mean the lake's tables. An unreachable PostgreSQL, a
missing wheel or a bad setting is a ``LakeUnavailable`` with one clear, redacted line.

**Migrations.** DuckLake has no PRIMARY KEY / UNIQUE constraints, no sequences and no indexes.
``lake_ddl`` is the one place that translates a migration for the lake: it strips the constraints,
the ``create sequence`` statements and the ``default nextval(...)`` defaults; the DuckDB file keeps
them as written. What the keys guaranteed ("nothing counts twice") is kept by the code instead: every
insert that relied on a key is an ``insert ... where not exists`` (warehouse/runs.py, publish.py,
alerts.py), a ``merge`` (the channel cursor, warehouse/ingest.py), one insert of distinct rows under a
new id (a review's drill-through, publish.py; the DuckDB file dropped that key too, migration 0015) or a
commit that refuses a batch id already in the ledger (warehouse/ingest.py; the DuckDB file dropped
raw.batches' key too, migration 0016), and the writers that could insert the same key are serialized by
the locks below.

**Sequences** (``next_numbers``). A batch's load order (``raw.batches.batch_seq``) and a manual
label's number (``raw.manual_labels.label_seq``) come, on the lake, from real PostgreSQL sequences in
the catalog database (schema ``otklik``, made when a writer first opens the lake), through psycopg: PostgreSQL
hands concurrent writers on any host distinct numbers, and a rolled-back transaction leaves a gap,
never a repeat. On the DuckDB file they come as before (the file's sequence; the load order as the
largest so far plus one, its one writer being serialized by the file lock).

**Locks** (``lake_lock``). PostgreSQL session advisory locks on the catalog database, held on a
psycopg connection of their own for as long as the lock: the warehouse lock (exclusive for a build
and for every ordinary writer, shared for writers that land batches of named channels) and one
lock per channel folder (a landing or a pull of that channel). So a build still runs alone, while
separate processes ingest different channel groups at once: a batch id starts with its channel, so
writers of different channels never land the same batch. They still update the same tables (a
channel's cursor row, their run's row in audit.runs), which DuckLake sees as a conflict and does not
retry: ``retry_conflicts`` runs such a transaction again (it left nothing). A waiting process says
once who holds the lock (the holder's ``application_name`` says what it is), as warehouse/locking.py
does for the file.

**Snapshots.** Every commit is a DuckLake snapshot. ``current_snapshot`` names the one a connection
sees; ``open_lake(snapshot=n)`` attaches the lake READ_ONLY at snapshot ``n``: the readers and
``otklik replay`` read the snapshot a build recorded in audit.runs (migration 0013).

**Files a killed writer left** (``delete_orphaned_files``). A writer writes its Parquet files before its
commit names them in the catalog; killed in between (-9, a lost host), it leaves files that no snapshot
references and nothing would ever read or delete. A completed build, which holds the lake (no otklik
writer is mid-write meanwhile), deletes those older than ``ORPHAN_AGE``: the margin spares a write in
progress by anything that does not take otklik's locks (another tool on the same lake).
"""

from __future__ import annotations

import importlib.resources
import os
import re
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

PREFIX = "ducklake:"
CATALOG_PREFIX = "ducklake:postgres:"
CATALOG = "otklik_lake"
EXTENSION_VERSION = "v" + duckdb.__version__
# extension name → the wheel's package (the scanner wheels: their file name is the extension's own)
EXTENSIONS = {
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "ducklake": "duckdb_extension_ducklake",
    "httpfs": "duckdb_extension_httpfs",
}
DATA_PATH_VARIABLE = "OTKLIK_LAKE_DATA_PATH"
PASSWORD_VARIABLES = ("OTKLIK_LAKE_PASSWORD", "PGPASSWORD")
# PostgreSQL objects of otklik's own in the catalog database (beside DuckLake's ducklake_* tables)
PG_SCHEMA = "otklik"
SEQUENCES = {"raw.batch_seq_numbers": "batch_seq_numbers", "raw.manual_label_seq": "manual_label_seq"}
# Concurrent commits race for the next snapshot id and DuckLake retries them; many small commits
# from several hosts need more than the default 10 retries (measured: 8 writers lost 0.5% at 10).
MAX_COMMIT_RETRIES = 50
ORPHAN_AGE = timedelta(days=1)  # how old an unreferenced data file must be to be deleted (the module docstring)
# Logical conflicts (two writers updating or deleting in one table) are not retried by DuckLake.
CONFLICT_MARKERS = ("Transaction conflict", "Failed to commit DuckLake transaction")
WAREHOUSE_LOCK = "warehouse"


class LakeUnavailable(RuntimeError):
    """The lake cannot be opened: PostgreSQL unreachable, an extension missing, a bad setting."""


@dataclass(frozen=True)
class LakeTarget:
    """Where the lake is: its catalog (a libpq DSN without the password) and its data path."""

    dsn: str
    data_path: str | None
    password: str | None = field(default=None, repr=False)
    s3: Mapping[str, str] | None = field(default=None, repr=False)

    def __str__(self) -> str:
        where = f" (data {self.data_path})" if self.data_path else ""
        return f"{CATALOG_PREFIX}{self.dsn}{where}"

    @property
    def secrets(self) -> tuple[str, ...]:
        values = [self.password or ""]
        if self.s3:
            values += [self.s3.get("key_id", ""), self.s3.get("secret", "")]
        return tuple(v for v in values if v)

    def conninfo(self) -> str:
        """The DSN with the password, for libpq (psycopg, DuckDB's postgres extension): never shown."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.dsn, password=self.password) if self.password else self.dsn


def is_lake_setting(value: str) -> bool:
    return value.strip().startswith(PREFIX)


def parse_target(value: str, environ: Mapping[str, str] | None = None) -> LakeTarget:
    """The lake named by an ``OTKLIK_WAREHOUSE`` value ``ducklake:postgres:<dsn>``; ValueError if malformed."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    env = os.environ if environ is None else environ
    value = value.strip()
    if not value.startswith(CATALOG_PREFIX):
        raise ValueError(
            "OTKLIK_WAREHOUSE: a DuckLake warehouse is 'ducklake:postgres:<libpq dsn>' (a PostgreSQL catalog: "
            "DuckDB-file and SQLite catalogs do not take several writers), e.g. "
            "'ducklake:postgres:dbname=otklik host=127.0.0.1 port=5544 user=otklik'"
        )
    dsn = value.removeprefix(CATALOG_PREFIX).strip()
    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError as exc:
        raise ValueError(
            f"OTKLIK_WAREHOUSE: the catalog DSN is not a libpq connection string: {redact(str(exc), dsn)}"
        ) from None
    if "dbname" not in params:
        raise ValueError("OTKLIK_WAREHOUSE: the catalog DSN names no database (dbname=...)")
    password = params.pop("password", None) or next((env[v] for v in PASSWORD_VARIABLES if env.get(v)), None)
    return LakeTarget(
        dsn=make_conninfo(**{k: str(v) for k, v in params.items()}),
        data_path=_data_path(env.get(DATA_PATH_VARIABLE, "").strip()),
        password=str(password) if password else None,
        s3=_s3_settings(env),
    )


def _data_path(text: str) -> str | None:
    if not text:
        return None
    if "://" in text:
        return text if text.endswith("/") else text + "/"
    folder = Path(text).expanduser().resolve()
    return str(folder) + "/"


def _s3_settings(env: Mapping[str, str]) -> dict[str, str] | None:
    endpoint = env.get("OTKLIK_S3_ENDPOINT", "").strip()
    if not endpoint and not env.get("OTKLIK_S3_KEY_ID"):
        return None
    return {
        "endpoint": endpoint,
        "key_id": env.get("OTKLIK_S3_KEY_ID", ""),
        "secret": env.get("OTKLIK_S3_SECRET", ""),
        "region": env.get("OTKLIK_S3_REGION", "us-east-1"),
    }


def redact(text: str, *secrets_or_dsn: str) -> str:
    """``text`` without any password (``password=...`` in a DSN or URL) or any of the given secrets."""
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
    for secret in secrets_or_dsn:
        if secret and "=" not in secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def _first_line(exc: BaseException, target: LakeTarget) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact(text, *target.secrets)


def _reason(exc: BaseException, target: LakeTarget) -> str:
    """Why opening failed, in one redacted line: libpq's own words when PostgreSQL refused or was not there."""
    text = _first_line(exc, target)
    if "connect to Postgres" in text:
        return "PostgreSQL is unreachable or refused the login: " + text.rsplit('": ', 1)[-1]
    return text


def extension_file(name: str) -> Path:
    """The ``.duckdb_extension`` file of ``name`` in its installed wheel; LakeUnavailable when absent."""
    package = EXTENSIONS[name]
    try:
        path = Path(str(importlib.resources.files(package))) / "extensions" / EXTENSION_VERSION
    except ModuleNotFoundError:
        path = None
    found = path / f"{name}.duckdb_extension" if path is not None else None
    if found is None or not found.is_file():
        raise LakeUnavailable(
            f"the DuckDB extension {name!r} for DuckDB {duckdb.__version__} is not installed (Python package "
            f"{package.replace('_', '-')}): run `make setup`"
        )
    return found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_extensions(con: duckdb.DuckDBPyConnection, target: LakeTarget) -> None:
    names = ["postgres_scanner", "ducklake"]  # postgres_scanner first: else ATTACH wants to download it
    if (target.data_path or "").startswith("s3://") or target.s3:
        names.append("httpfs")
    for name in names:
        con.execute(f"load {_literal(str(extension_file(name)))}")


def _s3_secret(con: duckdb.DuckDBPyConnection, target: LakeTarget) -> None:
    if not target.s3:
        return
    endpoint = target.s3["endpoint"]
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}") if endpoint else None
    options = [
        "type s3",
        f"key_id {_literal(target.s3['key_id'])}",
        f"secret {_literal(target.s3['secret'])}",
        f"region {_literal(target.s3['region'])}",
    ]
    if parts is not None:
        options += [
            f"endpoint {_literal(parts.netloc)}",
            "url_style 'path'",
            f"use_ssl {'true' if parts.scheme == 'https' else 'false'}",
        ]
    con.execute(f"create or replace temporary secret otklik_lake_s3 ({', '.join(options)})")


def _catalog_secret(con: duckdb.DuckDBPyConnection, target: LakeTarget) -> None:
    """The catalog's password as the session's PostgreSQL secret: DuckDB's postgres extension adds it to
    the DSN when it connects, so the attached path (``duckdb_databases()``) never holds it."""
    if target.password:
        con.execute(f"create or replace temporary secret (type postgres, password {_literal(target.password)})")


def open_lake(target: LakeTarget, *, read_only: bool = False, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose default catalog is the lake (at ``snapshot``: read-only, pinned)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
    try:
        _load_extensions(con, target)
        _s3_secret(con, target)
        _catalog_secret(con, target)
        options = []
        if target.data_path:
            if "://" not in target.data_path:
                Path(target.data_path).mkdir(parents=True, exist_ok=True)
            options.append(f"data_path {_literal(target.data_path)}")
        if read_only or snapshot is not None:
            options.append("read_only")
        if snapshot is not None:
            options.append(f"snapshot_version {int(snapshot)}")
        attach = f"attach {_literal(CATALOG_PREFIX + target.dsn)} as {CATALOG}"
        con.execute(attach + (f" ({', '.join(options)})" if options else ""))
        con.execute(f"use {CATALOG}")
        if not read_only and snapshot is None:
            con.execute(f"set ducklake_max_retry_count = {MAX_COMMIT_RETRIES}")
    except LakeUnavailable:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise LakeUnavailable(f"cannot open the DuckLake warehouse {target}: {_reason(exc, target)}") from None
    return con


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s default catalog is a DuckLake."""
    row = con.execute("select type from duckdb_databases() where database_name = current_database()").fetchone()
    return row is not None and row[0] == "ducklake"


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The DuckLake snapshot ``con`` sees now; None on a DuckDB file."""
    if not is_lake(con):
        return None
    return con.execute(f"select id from {CATALOG}.current_snapshot()").fetchone()[0]


def delete_orphaned_files(con: duckdb.DuckDBPyConnection, *, older_than: datetime | None = None) -> list[str]:
    """Delete the lake's data files that no snapshot references and that were last written before
    ``older_than`` (default: ``ORPHAN_AGE`` ago); return their paths. Nothing on a DuckDB file.

    DuckLake's own ``ducklake_delete_orphaned_files``: it lists the data path and keeps every file the
    catalog names (data and delete files, files scheduled for deletion)."""
    if not is_lake(con):
        return []
    cutoff = older_than if older_than is not None else datetime.now(UTC) - ORPHAN_AGE
    rows = con.execute(
        f"select * from ducklake_delete_orphaned_files({_literal(CATALOG)}, older_than => ?)", [cutoff]
    ).fetchall()
    return [row[0] for row in rows]


# --- migrations -----------------------------------------------------------------------------------

_TABLE_CONSTRAINT = re.compile(r",(?:\s*--[^\n]*)?\s*(?:primary\s+key|unique)\s*\([^)]*\)", re.IGNORECASE)
_COLUMN_KEY = re.compile(r"\s+primary\s+key\b", re.IGNORECASE)
_NEXTVAL_DEFAULT = re.compile(r"\s+default\s+nextval\(\s*'[^']*'\s*\)", re.IGNORECASE)
_SEQUENCE = re.compile(r"create\s+sequence\b[^;]*;", re.IGNORECASE)


def lake_ddl(sql: str) -> str:
    """A migration's SQL as DuckLake takes it: no keys, unique constraints, sequences or nextval defaults."""
    for pattern in (_TABLE_CONSTRAINT, _COLUMN_KEY, _NEXTVAL_DEFAULT, _SEQUENCE):
        sql = pattern.sub("", sql)
    return sql


# --- the catalog database: sequences and advisory locks --------------------------------------------

_targets: dict[int, LakeTarget] = {}  # id(connection) → its lake, while open_lake's caller holds it


def register(con: duckdb.DuckDBPyConnection, target: LakeTarget) -> None:
    _targets[id(con)] = target


def unregister(con: duckdb.DuckDBPyConnection) -> None:
    _targets.pop(id(con), None)


def target_of(con: duckdb.DuckDBPyConnection) -> LakeTarget | None:
    """The lake an open connection of ``connection.connect`` reaches; None for a DuckDB file."""
    return _targets.get(id(con))


def _catalog(target: LakeTarget, *, application_name: str | None = None):
    import psycopg

    try:
        return psycopg.connect(
            target.conninfo(), autocommit=True, application_name=(application_name or "otklik")[:63], connect_timeout=10
        )
    except psycopg.Error as exc:
        raise LakeUnavailable(f"cannot reach the DuckLake catalog {target}: {_first_line(exc, target)}") from None


def create_sequences(target: LakeTarget) -> None:
    """The PostgreSQL sequences that stand in for the DuckDB file's (``SEQUENCES``), if absent."""
    with _catalog(target) as pg:
        pg.execute(f"create schema if not exists {PG_SCHEMA}")
        for name in SEQUENCES.values():
            pg.execute(f"create sequence if not exists {PG_SCHEMA}.{name} start 1")


def next_numbers(con: duckdb.DuckDBPyConnection, sequence: str, count: int) -> list[int]:
    """``count`` fresh numbers of ``sequence`` (a DuckDB sequence name, e.g. ``raw.manual_label_seq``)."""
    if count <= 0:
        return []
    target = target_of(con)
    if target is None:
        rows = con.execute(f"select nextval('{sequence}') from range(?)", [count]).fetchall()
        return [r[0] for r in rows]
    with _catalog(target) as pg:
        rows = pg.execute(
            f"select nextval('{PG_SCHEMA}.{SEQUENCES[sequence]}') from generate_series(1, %s)", [count]
        ).fetchall()
    return [r[0] for r in rows]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name`` (``warehouse``, ``channel:<id>``)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"otklik:{name}".encode()).digest()[:8], "big", signed=True)


_held: dict[tuple[str, str], tuple[str, int]] = {}  # (dsn, lock name) → (mode, depth) in this process


@contextmanager
def lake_lock(
    target: LakeTarget, names: Collection[str], *, exclusive: bool, timeout_seconds: float, holder: str | None = None
) -> Iterator[None]:
    """Hold the advisory locks ``names`` on one catalog session, taken in sorted order (so no two writers
    wait for each other in a cycle). Locks this process holds already nest (an exclusive one covers a
    shared request); the session's end releases them, also when the process dies."""
    mode = "exclusive" if exclusive else "shared"
    fresh, nested = [], []
    for name in sorted(set(names)):
        held = _held.get((target.dsn, name))
        if held is None:
            fresh.append(name)
        elif held[0] == "exclusive" or not exclusive:
            nested.append(name)
        else:
            raise RuntimeError(f"lock {name}: this process holds it shared and asked for it exclusive")
    for name in nested:
        slot = (target.dsn, name)
        _held[slot] = (_held[slot][0], _held[slot][1] + 1)
    pg = None
    try:
        if fresh:
            pg = _catalog(target, application_name=f"otklik {holder or 'writer'} (pid {os.getpid()})")
            for name in fresh:
                _acquire(pg, name, exclusive=exclusive, timeout_seconds=timeout_seconds)
                _held[(target.dsn, name)] = (mode, 1)
        yield
    finally:
        for name in nested:
            slot = (target.dsn, name)
            _held[slot] = (_held[slot][0], _held[slot][1] - 1)
        for name in fresh:
            _held.pop((target.dsn, name), None)
        if pg is not None:
            pg.close()  # ends the session: PostgreSQL releases its advisory locks


def _acquire(pg, name: str, *, exclusive: bool, timeout_seconds: float) -> None:
    from warehouse.locking import WarehouseBusy, say_waiting

    function = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
    key = lock_key(name)
    deadline = time.monotonic() + timeout_seconds
    told = False
    while not pg.execute(f"select {function}(%s)", [key]).fetchone()[0]:
        if not told:
            say_waiting(f"waiting for the {_what(name)}: it is held by {_holders(pg, key)}")
            told = True
        if time.monotonic() >= deadline:
            raise WarehouseBusy(
                f"the {_what(name)} stayed locked for {timeout_seconds:.0f} s by another process "
                f"({_holders(pg, key)}); it may be a long build: try again later, or raise "
                "OTKLIK_WAREHOUSE_LOCK_TIMEOUT"
            )
        time.sleep(0.1)


def _what(name: str) -> str:
    return "warehouse" if name == WAREHOUSE_LOCK else f"warehouse's {name.replace(':', ' ')}"


def _holders(pg, key: int) -> str:
    """Who holds advisory lock ``key``: the holders' application names (what and pid) and since when."""
    rows = pg.execute(
        "select a.application_name, a.client_addr, a.backend_start from pg_locks l"
        " join pg_stat_activity a on a.pid = l.pid"
        " where l.locktype = 'advisory' and l.granted"
        " and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = %s",
        [key],
    ).fetchall()
    if not rows:
        return "holder unknown"
    return "; ".join(f"{app or '?'} from {addr or 'local'} since {start.isoformat()}" for app, addr, start in rows)


def retry_conflicts(action, *, attempts: int = 8, wait_seconds: float = 0.05):
    """Run ``action()`` again when a DuckLake commit lost a logical conflict (two writers updating or
    deleting in one table), which DuckLake does not retry itself; ``action`` must be a whole
    transaction (or one statement), so that a failed attempt left nothing."""
    for attempt in range(attempts):
        try:
            return action()
        except duckdb.TransactionException as exc:
            if attempt == attempts - 1 or not any(m in str(exc) for m in CONFLICT_MARKERS):
                raise
            time.sleep(wait_seconds * (2**attempt))
    return None
