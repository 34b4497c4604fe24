"""The readers' copy brought up to date, instead of every table written again.

Rewriting the copy costs a write of every kept row at every build (1.5 GB at a million items), however
little the build changed; so does copying the file (3 GB at a million). There are therefore two copies
(warehouse/reader_copy.py): the one readers open, of the last build, and a spare, of the build before.
``publish_reader_copy`` first tries to bring the spare up to date where it lies (``in_place``), then, when a
reader still holds the spare open or it cannot catch up, a copy of the current one at a private path:

1. attach it (the spare: only when no reader holds it, DuckDB's file lock says so);
2. compare its tables and columns with the live file's kept ones; any difference (a migration, a new
   model) and it gives up: the copy is written from nothing, as before;
3. gather the changes it must catch up with (``_PENDING``): the last build's change log
   (``staging.stg__build_changes``), and for the spare, the log of the build before, which the current copy
   recorded (``COPY_CHANGES``: every copy records the change log of the build it holds);
4. for every kept table, compare the live table's fingerprint (its redacted rows, as the copy holds
   them) with the one ``COPY_CONTENTS`` recorded for the copy: an equal table is left alone; a table both
   logs changed by a common key has the rows of those keys replaced; any other changed table is replaced
   whole. A table whose rows are only ever added (``APPEND_ONLY``: checks' results, fingerprints, the
   published reviews) gets the live rows past the count the copy recorded, and is not read whole;
5. check that each table replaced by key now has the live table's fingerprint (else it is replaced
   whole), record the fingerprints and the change log, and give up when over half of the file is free
   blocks (a file written from nothing is then smaller). Its checkpoint compacts the copy's tables only
   when the copy's own deleted rows are due (warehouse/compaction.py).

The live rows of a table's changed keys are the rows the builds appended, when the table is a scoped model
replaced by its scope key: a scoped rebuild deletes every row of the keys it changes and appends their new
rows, and records how many (warehouse/scoped_build.py, ``APPENDED``; each copy records the count of the build
it holds, ``COPY_APPENDED``). DuckDB appends past a table's last stored row, and a checkpoint that drops or
compacts deleted rows keeps the stored rows in order, so those rows lie among the last rows stored, as many
as the builds appended: only that tail of the key column is searched (``_appended_from``), not the column of
every row the table ever kept. A count that is off leaves rows out, and the check below replaces the table
whole.

Neither side is read whole when it need not be: a live table's fingerprint is the one the completed build
just recorded (``build_fingerprints``; itself taken by difference for tables a scoped build left alone or
changed by key), and a table replaced by key is checked by difference too: what the copy held, minus the
hashes of the rows deleted, plus those of the rows inserted (sums of row hashes add). That check is what
makes the logs safe to trust: a key set that misses a change (a spare further behind than one build, after
a crash) leaves a difference that disagrees, and the table is replaced whole.

The rows a replacement deletes leave their bytes in the file's free blocks until they are reused:
older versions of rows that readers could already read (masked texts, keyed customers), never rows of
an excluded schema, which no copy ever held.
"""

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from transforms.incremental import KEY_NAMES, SCOPES
from warehouse import compaction
from warehouse.sql_text import quote_name, sql_literal

COPY_CONTENTS = "main.reader_copy_contents"  # in the copy: (table_name, row_count, content_hash) of each kept table
# in the copy: the change log (table_name, key_name, key_value) of the build it holds, as warehouse/scoped_build.py
# recorded it; ALL_TABLES as table_name: that build rebuilt every table whole
COPY_CHANGES = "main.reader_copy_changes"
# in the copy: how many rows each scoped rebuild of the build it holds appended (table_name, row_count), as
# warehouse/scoped_build.py recorded them
COPY_APPENDED = "main.reader_copy_appended_rows"
ALL_TABLES = "*"
_ALIAS = "otklik_reader_update"
_PREVIOUS = "otklik_reader_previous"
_PENDING = "temp.main.otklik_reader_pending"  # (build, table_name, key_name, key_value): what the copy catches up with
_CHANGES = "staging.stg__build_changes"
_APPENDED = "staging.stg__build_appended_rows"
_PENDING_APPENDED = "temp.main.otklik_reader_pending_appended"  # (build, table_name, row_count)
_HELD_IDS = "temp.main.otklik_reader_held_ids"  # the copy's row ids of the changed keys of one table
_LIVE_ROWS = "temp.main.otklik_reader_live_rows"  # the live rows of those keys, as the copy holds them
_STATE = "staging.stg__build_state"
# Tables whose rows are only ever added, never changed or deleted (the run ledger's checks and fingerprints, the
# configuration store, the published reviews, frozen): the copy appends their new rows (``_appended``).
APPEND_ONLY = frozenset(
    {
        "audit.config_versions",
        "audit.published_figure_items",
        "audit.published_items",
        "audit.published_reviews",
        "audit.published_table_rows",
        "audit.published_tables",
        "audit.table_fingerprints",
        "audit.validation_results",
    }
)
FREE_SHARE_LIMIT = 0.5
BOOKKEEPING_PREFIX = "staging.stg__"  # the build's bookkeeping tables (warehouse/staging.py, scoped_build.py)
# (the live database, schema.table) → the select of that table's rows as the copy holds them: one table,
# ``select ... from <database>.<schema>.<table>``, no where clause (a filter on row ids is appended to it)
SelectOf = Callable[[str, str], str]


# Tables of the kept schemas that the copy leaves out besides the bookkeeping: the SLA chain's working state.
# core.int_sla_clock_marks holds every clock cycle's marks with their positions in its calendar, from which
# core.fct_case_sla is computed; the clock moves the end mark of every open cycle at every build, so a scoped
# build writes again every mark of every case with an open cycle (146,475 rows at a +1,000 build on the
# bench's 1M history, against 24,447 on its 100k: the open cycles grow with the history), and the copy wrote
# them again after it. Readers find the same transitions with their moments in core.fct_sla_events, and each
# cycle's times and state in core.fct_case_sla.
LEFT_OUT = frozenset({"core.int_sla_clock_marks"})


def is_bookkeeping(table: str) -> bool:
    """A table of the build's own bookkeeping (``staging.stg__*``: which record came from which batch,
    what the last build changed, its state): not for readers, and the largest staging table at scale
    (the record index holds every record ever staged), so the copy leaves it out."""
    return table.startswith(BOOKKEEPING_PREFIX)


def is_left_out(table: str) -> bool:
    """A table (``schema.table``) of a kept schema that the copy leaves out: the build's bookkeeping
    (``is_bookkeeping``) and ``LEFT_OUT``."""
    return is_bookkeeping(table) or table in LEFT_OUT


def _kept_tables(con: duckdb.DuckDBPyConnection, database: str, schemas: frozenset[str]) -> dict[str, str]:
    """``schema.table`` → its columns and types, of the kept schemas of ``database`` (``is_left_out`` left out)."""
    rows = con.execute(
        "select schema_name || '.' || table_name, string_agg(column_name || ' ' || data_type, ', '"
        " order by column_index) from duckdb_columns() where database_name = ? and list_contains(?, schema_name)"
        " group by all",
        [database, sorted(schemas)],
    ).fetchall()
    own = (COPY_CONTENTS, COPY_CHANGES, COPY_APPENDED)  # the copy's own records, not tables of the warehouse
    return {name: columns for name, columns in rows if name not in own and not is_left_out(name)}


def _fingerprint(con: duckdb.DuckDBPyConnection, select: str) -> tuple[int, str]:
    count, digest = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint) % 18446744073709551616, 0)::varchar from ({select}) as t"
    ).fetchone()
    return count, f"{int(digest):016x}"


def _scoped(con: duckdb.DuckDBPyConnection, log: str) -> bool:
    """Whether the last build was a scoped build and left its ``log`` (a bookkeeping table)."""
    try:
        scoped = con.execute(f"select scoped from {_STATE}").fetchone()
        con.execute(f"select 1 from {log} limit 0")
    except duckdb.CatalogException:
        return False
    return bool(scoped and scoped[0])


def _changes_of(con: duckdb.DuckDBPyConnection) -> str:
    """The select of the live warehouse's change log as a copy records it: the last build's changes when it
    was a scoped build (its log then holds every change since the build before), else one row that says
    every table changed whole (``ALL_TABLES``)."""
    if _scoped(con, _CHANGES):
        return f"select table_name, key_name, key_value from {_CHANGES}"
    return f"select '{ALL_TABLES}' as table_name, null::varchar as key_name, null::varchar as key_value"


def _appended_of(con: duckdb.DuckDBPyConnection) -> str:
    """The select of how many rows the last build's scoped rebuilds appended to each table (none when it was
    not a scoped build: it changed every table whole)."""
    if _scoped(con, _APPENDED):
        return f"select table_name, row_count from {_APPENDED}"
    return "select null::varchar as table_name, null::bigint as row_count where false"


PendingNames = dict[str, list[tuple[int, str, bool]]]  # table_name -> (build, key name or '', changed whole)


def _pending_names(con: duckdb.DuckDBPyConnection) -> PendingNames:
    """Of every table in ``_PENDING``, by which key names each build recorded its changes (or that it changed
    the table whole): one read of the log for every table, not one a table (the log holds every open SLA
    cycle's case of two builds: 49 reads took 0.2 s at a million items)."""
    names: PendingNames = {}
    rows = con.execute(
        f"select table_name, build, coalesce(key_name, ''), key_name is null from {_PENDING} group by all"
    ).fetchall()
    for table, build, name, whole in rows:
        names.setdefault(table, []).append((build, name, whole))
    return names


def _replace_key(pending: PendingNames, table: str, columns: str) -> str | None:
    """The key by which to replace ``table``'s changed rows in the copy: one that every build the copy must
    catch up with (``_PENDING``, read by ``_pending_names``) recorded each of its changes of the table by; None
    when one of them changed it whole, or when none recorded a change (the table differs for a reason no log
    holds: replace it whole)."""
    rows = [*pending.get(table, ()), *pending.get(ALL_TABLES, ())]
    if not rows or any(whole for _, _, whole in rows):
        return None
    names: dict[int, set[str]] = {}
    for build, name, _ in rows:
        names.setdefault(build, set()).add(name)
    column_names = {part.split(" ", 1)[0] for part in columns.split(", ")}
    preferred = [SCOPES[table].key] if table in SCOPES else list(KEY_NAMES)
    return next((k for k in preferred if k in column_names and all(k in n for n in names.values())), None)


def update_copy(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    path: Path,
    *,
    schemas: frozenset[str],
    select_of: SelectOf,
    recorded: dict[str, tuple[int, str]] | None = None,
    in_place: bool = False,
) -> bool:
    """Bring the copy at ``path`` up to date with the live warehouse (module docstring); False when it cannot.

    ``previous`` is the copy readers read now, of the build before this one. Without ``in_place`` it is
    copied to ``path`` first, and only the last build's changes need catching up with; ``path`` is removed
    when that fails, for a copy written from nothing. With ``in_place``, ``path`` is the other copy, of the
    build before ``previous``'s, and is changed where it lies: it catches up with the changes ``previous``
    recorded (``COPY_CHANGES``) and the last build's; False, with ``path`` as it was or brought part of the
    way, when a reader holds it open, ``previous`` recorded no changes, or the update gives up.

    ``select_of(source, table)`` is the select of a live table's rows as the copy holds them (redacted).
    ``recorded``: fingerprints the last build recorded of live tables the copy holds unredacted
    (``build_fingerprints``), used instead of reading them."""
    if not previous.exists() or (in_place and not path.exists()):
        return False
    if not in_place:
        shutil.copyfile(previous, path)
    source = con.execute("select current_database()").fetchone()[0]
    con.execute(
        f"create or replace temporary table {_PENDING}"
        " (build integer, table_name varchar, key_name varchar, key_value varchar)"
    )
    con.execute(
        f"create or replace temporary table {_PENDING_APPENDED} (build integer, table_name varchar, row_count bigint)"
    )
    try:
        if in_place and not _pending_from(con, previous):
            return False
        con.execute(f"insert into {_PENDING} select 2, * from ({_changes_of(con)})")
        con.execute(f"insert into {_PENDING_APPENDED} select 2, * from ({_appended_of(con)})")
        try:
            con.execute(f"attach {sql_literal(str(path))} as {_ALIAS}")
        except (duckdb.IOException, duckdb.BinderException):
            return False  # a reader holds it open (another process: its file lock; this one: DuckDB's own check)
        done = False
        try:
            done = _update(con, source, schemas, select_of, recorded or {})
        finally:
            con.execute(f"detach {_ALIAS}")
            if not done and not in_place:
                path.unlink(missing_ok=True)
        return done
    finally:
        con.execute(f"drop table if exists {_PENDING}; drop table if exists {_PENDING_APPENDED}")


def _pending_from(con: duckdb.DuckDBPyConnection, previous: Path) -> bool:
    """Add the change log ``previous`` (a copy) recorded of the build it holds to what the other copy must catch
    up with; False when it recorded none (a copy from before change logs were kept)."""
    con.execute(f"attach {sql_literal(str(previous))} as {_PREVIOUS} (read_only)")
    try:
        con.execute(f"insert into {_PENDING} select 1, * from {_PREVIOUS}.{COPY_CHANGES}")
        # none from a copy of before appended rows were counted: its tables' key columns are searched whole
        with contextlib.suppress(duckdb.CatalogException):
            con.execute(f"insert into {_PENDING_APPENDED} select 1, * from {_PREVIOUS}.{COPY_APPENDED}")
    except duckdb.CatalogException:
        return False
    finally:
        con.execute(f"detach {_PREVIOUS}")
    return True


def build_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    """The fingerprints the last build-warehouse run recorded (audit.table_fingerprints), if it completed:
    the live tables as that build left them, taken by difference where it could (warehouse/scoped_build.py).
    Only tables whose row count still agrees; nothing when the last build did not complete."""
    last = con.execute(
        "select run_id, state from audit.runs where flow = 'build-warehouse' order by started_at desc limit 1"
    ).fetchone()
    if last is None or last[1] != "completed":
        return {}
    found = {
        table: (rows, digest)
        for table, rows, digest in con.execute(
            "select table_name, row_count, content_hash from audit.table_fingerprints where run_id = ?", [last[0]]
        ).fetchall()
    }
    # a table changed since it was fingerprinted (not by a build) is read again: its row count tells
    return {table: fp for table, fp in found.items() if _row_count(con, table) == fp[0]}


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    except duckdb.CatalogException:  # dropped since
        return None


def _update(
    con: duckdb.DuckDBPyConnection,
    source: str,
    schemas: frozenset[str],
    select_of: SelectOf,
    known: dict[str, tuple[int, str]],
) -> bool:
    live = _kept_tables(con, source, schemas)
    held = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = ?", [_ALIAS]
    ).fetchall()
    if _kept_tables(con, _ALIAS, schemas) != live or any(is_left_out(name) for (name,) in held):
        return False  # another shape, or a copy from before a table was left out: written from nothing
    try:
        recorded = {
            name: (rows, digest)
            for name, rows, digest in con.execute(f"select * from {_ALIAS}.{COPY_CONTENTS}").fetchall()
        }
    except duckdb.CatalogException:
        return False
    vacuuming = con.execute("select current_setting('max_vacuum_tasks')").fetchone()[0]
    compaction.vacuum_when_due(con, _ALIAS)  # the copy's checkpoint compacts it when its own rows are due
    try:
        _catch_up(con, source, live, select_of, known, recorded)
        con.execute(f"checkpoint {_ALIAS}")
    finally:
        con.execute(f"set max_vacuum_tasks = {int(vacuuming)}")  # the live file's own setting again
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = ?", [_ALIAS]
    ).fetchone()
    return free <= FREE_SHARE_LIMIT * total


def _catch_up(
    con: duckdb.DuckDBPyConnection,
    source: str,
    live: dict[str, str],
    select_of: SelectOf,
    known: dict[str, tuple[int, str]],
    recorded: dict[str, tuple[int, str]],
) -> None:
    """In one transaction: each kept table of the copy whose fingerprint is not the live one's replaced by key
    or whole (module docstring), the fingerprints and the change log recorded."""
    con.execute("begin transaction")
    try:
        tails = _appended_tails(con, source)
        pending = _pending_names(con)
        for table, columns in sorted(live.items()):
            select = select_of(source, table)
            if table in APPEND_ONLY and table not in known and _appended(con, source, table, select, recorded):
                continue
            now = known.get(table) or _fingerprint(con, select)
            if recorded.get(table) == now:
                continue
            key = _replace_key(pending, table, columns)
            if (
                key is None
                or recorded.get(table) is None
                or _replace_by_key(con, source, table, key, select, recorded[table], _appended_from(tails, table, key))
                != now
            ):
                con.execute(f"delete from {_ALIAS}.{table}")
                con.execute(f"insert into {_ALIAS}.{table} by name {select}")
            con.execute(f"delete from {_ALIAS}.{COPY_CONTENTS} where table_name = ?", [table])
            con.execute(f"insert into {_ALIAS}.{COPY_CONTENTS} values (?, ?, ?)", [table, *now])
        record_changes(con, _ALIAS)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _appended(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    select: str,
    recorded: dict[str, tuple[int, str]],
) -> bool:
    """Bring an ``APPEND_ONLY`` table of the copy up to date by its new rows alone; False when it cannot tell
    (nothing recorded, fewer live rows than the copy holds, a gap in the live row ids: a row was deleted, which
    the table's contract forbids) and the table is to be compared whole.

    Rows only ever added keep their places, so the live rows past the count the copy recorded are the new
    ones, and the fingerprint follows by difference (sums of row hashes add). The live table is not read
    whole: at a million items one published month alone is 3.2 M drill-through rows, fingerprinted whole at
    every build before, and every build adds its checks' results, which were written into the copy whole."""
    held = recorded.get(table)
    if held is None:
        return False
    rows, last = con.execute(f"select count(*), coalesce(max(rowid), -1) from {_qualified(source, table)}").fetchone()
    if rows < held[0] or last != rows - 1:  # a deleted row leaves a gap in the row ids (until a vacuum)
        return False
    if rows > held[0]:
        new_rows = f"{select} where rowid >= {held[0]}"
        added = _fingerprint(con, new_rows)
        con.execute(f"insert into {_ALIAS}.{table} by name {new_rows}")
        digest = (int(held[1], 16) + int(added[1], 16)) % 2**64
        con.execute(f"delete from {_ALIAS}.{COPY_CONTENTS} where table_name = ?", [table])
        con.execute(f"insert into {_ALIAS}.{COPY_CONTENTS} values (?, ?, ?)", [table, rows, f"{digest:016x}"])
    return True


def _replace_by_key(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    key: str,
    select: str,
    held: tuple[int, str],
    first: int | None = None,
) -> tuple[int, str]:
    """Replace the copy's rows of ``table`` whose ``key`` the last build changed with the live ones; return
    the copy's fingerprint after, by difference from ``held`` (what it held): minus the rows deleted, plus
    those inserted. Sums of row hashes add, so this is the fingerprint of the whole table, read or not.

    Rows are picked by row id: the key column alone is scanned for the changed keys, and only the rows
    found are read whole (DuckDB fetches them by id). A filter on the key over every column would read
    every column of every row (texts included) to keep a few hundred: ten times slower at a million. Each
    side is searched once: the copy's row ids serve its fingerprint and its delete, and the live rows, read
    into a temporary table, serve their fingerprint and the insert."""
    keys = f"(select key_value from {_PENDING} where table_name = '{table}' and key_name = '{key}')"
    con.execute(
        f"create or replace temporary table {_HELD_IDS} as"
        f" select rowid as id from {_ALIAS}.{table} where {key}::varchar in {keys}"
    )
    held_rows = f"(select id from {_HELD_IDS})"
    removed = _fingerprint(con, f"select * from {_ALIAS}.{table} where rowid in {held_rows}")
    con.execute(f"delete from {_ALIAS}.{table} where rowid in {held_rows}")
    live = _qualified(source, table)
    tail = "" if first is None else f"rowid >= {first} and "  # the live rows the builds appended (_appended_from)
    con.execute(
        f"create or replace temporary table {_LIVE_ROWS} as"
        f" {select} where rowid in (select rowid from {live} where {tail}{key}::varchar in {keys})"
    )
    added = _fingerprint(con, f"select * from {_LIVE_ROWS}")
    con.execute(f"insert into {_ALIAS}.{table} by name select * from {_LIVE_ROWS}")
    con.execute(f"drop table {_HELD_IDS}; drop table {_LIVE_ROWS}")
    rows = held[0] - removed[0] + added[0]
    digest = (int(held[1], 16) - int(removed[1], 16) + int(added[1], 16)) % 2**64
    return rows, f"{digest:016x}"


def _appended_tails(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """Scoped model → the first row id of its last stored rows in the live file, as many as the builds the copy
    catches up with appended to it, for each model every one of whose changing builds recorded that count."""
    changed = dict(
        con.execute(f"select table_name, list(distinct build) from {_PENDING} group by table_name").fetchall()
    )
    appended: dict[str, dict[int, int]] = {}
    for table, build, rows in con.execute(
        f"select table_name, build, sum(row_count)::bigint from {_PENDING_APPENDED} group by all"
    ).fetchall():
        appended.setdefault(table, {})[build] = rows
    stored = dict(
        con.execute(
            "select schema_name || '.' || table_name, estimated_size from duckdb_tables() where database_name = ?",
            [source],
        ).fetchall()
    )
    return {
        table: max(stored[table] - sum(appended[table].values()), 0)
        for table in SCOPES
        if table in changed and table in appended and table in stored and set(changed[table]) <= appended[table].keys()
    }


def _appended_from(tails: dict[str, int], table: str, key: str) -> int | None:
    """The first row id of the live ``table``'s rows that hold every live row of the keys the builds changed
    (module docstring): its tail (``_appended_tails``) when the copy replaces it by its scope key (a scoped
    rebuild deletes every row of the keys it changes and appends their new rows); None: search the whole
    key column."""
    if table not in tails or SCOPES[table].key != key:
        return None
    return tails[table]


def _qualified(database: str, table: str) -> str:
    """``database.schema.table``, quoted, of ``table`` (``schema.table``)."""
    return ".".join(quote_name(part) for part in (database, *table.split(".", 1)))


def record_contents(con: duckdb.DuckDBPyConnection, alias: str, schemas: frozenset[str], select_of: SelectOf) -> None:
    """After a copy written from nothing: each kept table's fingerprint and the build's change log, in the copy."""
    source = con.execute("select current_database()").fetchone()[0]
    con.execute(f"create table {alias}.{COPY_CONTENTS} (table_name varchar, row_count bigint, content_hash varchar)")
    for table in sorted(_kept_tables(con, source, schemas)):
        con.execute(
            f"insert into {alias}.{COPY_CONTENTS} values (?, ?, ?)",
            [table, *_fingerprint(con, select_of(source, table))],
        )
    record_changes(con, alias)


def record_changes(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """The live build's change log (``COPY_CHANGES``) into the copy attached as ``alias``: what the other copy,
    a build behind, must catch up with at the next build."""
    con.execute(
        f"create or replace table {alias}.{COPY_CHANGES} (table_name varchar, key_name varchar, key_value varchar)"
    )
    con.execute(f"insert into {alias}.{COPY_CHANGES} {_changes_of(con)}")
    con.execute(f"create or replace table {alias}.{COPY_APPENDED} (table_name varchar, row_count bigint)")
    con.execute(f"insert into {alias}.{COPY_APPENDED} {_appended_of(con)}")
