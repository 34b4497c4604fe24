"""The readers' copy brought up to date from the previous copy, instead of every table written again.

Rewriting the copy costs a write of every kept row at every build (1.5 GB at a million items), however
little the build changed. So ``publish_reader_copy`` (warehouse/reader_copy.py) first tries this:

1. copy the previous copy's file (it never held anything but the kept schemas, redacted) to the new
   private path, and attach it;
2. compare its tables and columns with the live file's kept ones; any difference (a migration, a new
   model) and it gives up: the copy is written from nothing, as before;
3. for every kept table, compare the live table's fingerprint (its redacted rows, as the copy holds
   them) with the one ``COPY_CONTENTS`` recorded when the copy was written: an equal table is left
   alone; a table the last build changed by key (``staging.stg__build_changes``) has the rows of those
   keys replaced; any other changed table is replaced whole;
4. check that each table replaced by key now has the live table's fingerprint (else it is replaced
   whole), record the fingerprints, and give up when over half of the file is free blocks (a file
   written from nothing is then smaller).

Neither side is read whole when it need not be: a live table's fingerprint is the one the completed build
just recorded (``build_fingerprints``; itself taken by difference for tables a scoped build left alone or
changed by key), and a table replaced by key is checked by difference too: what the copy held, minus the
hashes of the rows deleted, plus those of the rows inserted (sums of row hashes add).

The rows a replacement deletes leave their bytes in the file's free blocks until they are reused:
older versions of rows that readers could already read (masked texts, keyed customers), never rows of
an excluded schema, which no copy ever held.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from transforms.incremental import KEY_NAMES, SCOPES

COPY_CONTENTS = "main.reader_copy_contents"  # in the copy: (table_name, row_count, content_hash) of each kept table
_ALIAS = "otklik_reader_update"
_CHANGES = "staging.stg__build_changes"
_STATE = "staging.stg__build_state"
FREE_SHARE_LIMIT = 0.5
BOOKKEEPING_PREFIX = "staging.stg__"  # the build's bookkeeping tables (warehouse/staging.py, scoped_build.py)
# (the live database, schema.table) → the select of that table's rows as the copy holds them
SelectOf = Callable[[str, str], str]


def is_bookkeeping(table: str) -> bool:
    """A table of the build's own bookkeeping (``staging.stg__*``: which record came from which batch,
    what the last build changed, its state): not for readers, and the largest staging table at scale
    (the record index holds every record ever staged), so the copy leaves it out."""
    return table.startswith(BOOKKEEPING_PREFIX)


def _kept_tables(con: duckdb.DuckDBPyConnection, database: str, schemas: frozenset[str]) -> dict[str, str]:
    """``schema.table`` → its columns and types, of the kept schemas of ``database`` (bookkeeping left out)."""
    rows = con.execute(
        "select schema_name || '.' || table_name, string_agg(column_name || ' ' || data_type, ', '"
        " order by column_index) from duckdb_columns() where database_name = ? and list_contains(?, schema_name)"
        " group by all",
        [database, sorted(schemas)],
    ).fetchall()
    return {name: columns for name, columns in rows if name != COPY_CONTENTS and not is_bookkeeping(name)}


def _fingerprint(con: duckdb.DuckDBPyConnection, select: str) -> tuple[int, str]:
    count, digest = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint) % 18446744073709551616, 0)::varchar from ({select}) as t"
    ).fetchone()
    return count, f"{int(digest):016x}"


def _changed_key(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> str | None:
    """The key by which the last build recorded every change of ``table``, if it was a scoped build."""
    try:
        scoped = con.execute(f"select scoped from {_STATE}").fetchone()
        names = {
            name: whole
            for name, whole in con.execute(
                f"select coalesce(key_name, ''), key_name is null from {_CHANGES} where table_name = ? group by all",
                [table],
            ).fetchall()
        }
    except duckdb.CatalogException:
        return None
    if not scoped or not scoped[0] or not names or any(names.values()):
        return None
    column_names = {part.split(" ", 1)[0] for part in columns.split(", ")}
    preferred = [SCOPES[table].key] if table in SCOPES else [k for k in KEY_NAMES if k in names]
    return next((k for k in preferred if k in names and k in column_names), None)


def update_copy(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    path: Path,
    *,
    schemas: frozenset[str],
    select_of: SelectOf,
    recorded: dict[str, tuple[int, str]] | None = None,
) -> bool:
    """Write the new copy at ``path`` from ``previous`` (module docstring); False when it cannot, and
    ``path`` is then removed for a copy written from nothing. ``select_of(source, table)`` is the select of
    a live table's rows as the copy holds them (redacted). ``recorded``: fingerprints the last build
    recorded of live tables the copy holds unredacted (``build_fingerprints``), used instead of reading them."""
    if not previous.exists():
        return False
    shutil.copyfile(previous, path)
    source = con.execute("select current_database()").fetchone()[0]
    con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {_ALIAS}")
    done = False
    try:
        done = _update(con, source, schemas, select_of, recorded or {})
    finally:
        con.execute(f"detach {_ALIAS}")
        if not done:
            path.unlink(missing_ok=True)
    return done


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
    if _kept_tables(con, _ALIAS, schemas) != live or any(is_bookkeeping(name) for (name,) in held):
        return False  # another shape, or a copy from before bookkeeping was left out: written from nothing
    try:
        recorded = {
            name: (rows, digest)
            for name, rows, digest in con.execute(f"select * from {_ALIAS}.{COPY_CONTENTS}").fetchall()
        }
    except duckdb.CatalogException:
        return False
    con.execute("begin transaction")
    try:
        for table, columns in sorted(live.items()):
            select = select_of(source, table)
            now = known.get(table) or _fingerprint(con, select)
            if recorded.get(table) == now:
                continue
            key = _changed_key(con, table, columns)
            if (
                key is None
                or recorded.get(table) is None
                or _replace_by_key(con, table, key, select, recorded[table]) != now
            ):
                con.execute(f"delete from {_ALIAS}.{table}")
                con.execute(f"insert into {_ALIAS}.{table} by name {select}")
            con.execute(f"delete from {_ALIAS}.{COPY_CONTENTS} where table_name = ?", [table])
            con.execute(f"insert into {_ALIAS}.{COPY_CONTENTS} values (?, ?, ?)", [table, *now])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute(f"checkpoint {_ALIAS}")
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = ?", [_ALIAS]
    ).fetchone()
    return free <= FREE_SHARE_LIMIT * total


def _replace_by_key(
    con: duckdb.DuckDBPyConnection, table: str, key: str, select: str, held: tuple[int, str]
) -> tuple[int, str]:
    """Replace the copy's rows of ``table`` whose ``key`` the last build changed with the live ones; return
    the copy's fingerprint after, by difference from ``held`` (what it held): minus the rows deleted, plus
    those inserted. Sums of row hashes add, so this is the fingerprint of the whole table, read or not."""
    keys = f"(select key_value from {_CHANGES} where table_name = '{table}' and key_name = '{key}')"
    removed = _fingerprint(con, f"select * from {_ALIAS}.{table} where {key}::varchar in {keys}")
    con.execute(f"delete from {_ALIAS}.{table} where {key}::varchar in {keys}")
    inserted = f"select * from ({select}) where {key}::varchar in {keys}"
    added = _fingerprint(con, inserted)
    con.execute(f"insert into {_ALIAS}.{table} by name {inserted}")
    rows = held[0] - removed[0] + added[0]
    digest = (int(held[1], 16) - int(removed[1], 16) + int(added[1], 16)) % 2**64
    return rows, f"{digest:016x}"


def record_contents(con: duckdb.DuckDBPyConnection, alias: str, schemas: frozenset[str], select_of: SelectOf) -> None:
    """After a copy written from nothing: the fingerprint of each kept table, in the copy."""
    source = con.execute("select current_database()").fetchone()[0]
    con.execute(f"create table {alias}.{COPY_CONTENTS} (table_name varchar, row_count bigint, content_hash varchar)")
    for table in sorted(_kept_tables(con, source, schemas)):
        con.execute(
            f"insert into {alias}.{COPY_CONTENTS} values (?, ?, ?)",
            [table, *_fingerprint(con, select_of(source, table))],
        )
