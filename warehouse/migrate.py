"""Apply pending forward-only migrations from warehouse/migrations, in order, each in a transaction.

The same files migrate a DuckDB file and a DuckLake; on the lake each goes through
``warehouse.lake.lake_ddl`` first (DuckLake has no keys, unique constraints or sequences: that module
says what keeps their promises there).
"""

import re
from pathlib import Path

import duckdb

from warehouse.lake import CATALOG, is_lake, lake_ddl
from warehouse.sql_text import sql_literal

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration {path.name} does not follow NNNN_name.sql")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration numbers must run 1..n without gaps, got {versions}")
    return found


def apply_migrations(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is pending; return the names applied (empty when up to date)."""
    on_lake = is_lake(con)

    def dialect(sql: str) -> str:
        return lake_ddl(sql) if on_lake else sql

    con.execute(
        dialect(
            "create table if not exists main.schema_migrations ("
            " version integer primary key, name varchar not null,"
            " applied_at timestamptz not null default current_timestamp)"
        )
    )
    done = {row[0] for row in con.execute("select version from main.schema_migrations").fetchall()}
    in_memory = (
        con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
        is None
    )
    applied = []
    for version, path in migration_files(directory):
        if version in done:
            continue
        con.execute("begin transaction")
        try:
            con.execute(dialect(path.read_text(encoding="utf-8")))
            # literals, not parameters: a prepared insert costs ~3 ms here against ~0.5 ms (15 of them a migration
            # from nothing, at every in-memory warehouse a test opens); _NAME admits no quote
            con.execute(
                f"insert into main.schema_migrations (version, name) values ({version}, {sql_literal(path.name)})"
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        # Write the new schema into the database file at once. DuckDB 1.5.5 cannot replay an
        # ALTER TABLE ... ADD COLUMN from the WAL when the table has a function default
        # (current_timestamp): after a kill -9 the file would not open again
        # (tests/warehouse/test_crash_recovery.py). With a checkpoint, DDL never waits in the WAL.
        # A DuckLake commits to its catalog (its CHECKPOINT would run its maintenance); a database in memory has
        # no WAL to replay.
        if not on_lake and not in_memory:
            con.execute("checkpoint")
        applied.append(path.name)
    if on_lake and applied:
        # DuckLake writes an insert of up to 10 rows into the catalog itself; a configuration text (the
        # classifier model is megabytes) would then travel as one SQL literal inside a long commit that
        # loses the race for the next snapshot to other writers' short ones. Its rows go to data files.
        con.execute(
            f"call {CATALOG}.set_option('data_inlining_row_limit', 0, schema => 'audit',"
            " table_name => 'config_versions')"
        )
    return applied
