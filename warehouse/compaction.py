"""When a checkpoint compacts the warehouse's tables: once in several builds, not at every one.

DuckDB marks a deleted row, and at a checkpoint it *vacuums* the tables that changed since the last one:
it rewrites runs of row groups that hold deleted rows into fewer row groups. A scoped build deletes and
inserts again the rows of every key it rebuilds (warehouse/scoped_build.py) -- every open SLA cycle at every
build, because the clock moves them: about 19,000 cases at a million items, a few per cent of the SLA tables'
rows, scattered over all their row groups -- and the readers' copy replaces the same rows
(warehouse/reader_copy_update.py). With vacuuming on, every checkpoint of every build rewrote most of those
tables. Measured on a copy of the 1M bench warehouse's readers' copy: replacing the rows of the 19,282 open
cases in core.fct_case_sla and core.int_sla_clock_marks, then checkpointing, took 2.05 s of checkpoint with
vacuuming and 0.49 s without.

So every connection checkpoints without vacuuming (``max_vacuum_tasks = 0``: ``vacuum_off``), and a build
turns it on (``vacuum_when_due``) when a table of at least a row group holds ``DEAD_SHARE_LIMIT`` or more of
deleted rows: scans then read at most that share of dead rows, and the rewrite comes once in several builds.
The readers' copy does the same for its own file. Deleted rows are never visible, vacuumed or not: this
changes where rows lie in the file, not what any query returns.
"""

import duckdb

from warehouse.sql_text import quote_name

VACUUM_TASKS = 100  # DuckDB's default number of vacuum tasks a checkpoint may schedule
DEAD_SHARE_LIMIT = 0.2  # deleted rows of a table (share of its stored rows) past which a build vacuums
ROW_GROUP = 122_880  # DuckDB's rows per row group: smaller tables are rewritten whole at a checkpoint anyway


def vacuum_off(con: duckdb.DuckDBPyConnection) -> None:
    """Checkpoints of this connection's database instance (every attached file) do not vacuum."""
    con.execute("set max_vacuum_tasks = 0")


def dead_shares(con: duckdb.DuckDBPyConnection, database: str | None = None) -> dict[str, float]:
    """The share of deleted rows among the stored rows of each table of ``database`` (the current one by
    default) that stores at least a row group: DuckDB's ``estimated_size`` counts the rows stored, deleted
    ones included, until a vacuum drops them."""
    database = database or con.execute("select current_database()").fetchone()[0]
    stored = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables()"
        " where database_name = ? and not temporary and estimated_size >= ?",
        [database, ROW_GROUP],
    ).fetchall()
    shares = {}
    for schema, table, size in stored:
        name = ".".join(quote_name(part) for part in (database, schema, table))
        live = con.execute(f"select count(*) from {name}").fetchone()[0]
        shares[f"{schema}.{table}"] = max(size - live, 0) / size
    return shares


def vacuum_when_due(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """Turn vacuuming on for the checkpoints to come when a table of ``database`` is due (module docstring),
    off otherwise; return whether it is on."""
    due = any(share >= DEAD_SHARE_LIMIT for share in dead_shares(con, database).values())
    con.execute(f"set max_vacuum_tasks = {VACUUM_TASKS if due else 0}")
    return due
