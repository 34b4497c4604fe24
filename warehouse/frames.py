"""Polars frames appended to the warehouse's tables without a catalog entry.

``con.register(name, frame)`` makes the frame a temporary view. ``unregister`` drops the view, but inside
a transaction DuckDB keeps the dropped entry, and the frame it holds, until the transaction ends
(duckdb/duckdb-python#469, still so in DuckDB 1.5.5). A loop that appends partition after partition in
one transaction then holds every partition's frame at once: staging the 3M bench's 6.5 million CRM case
events from nothing grew by about 0.12 GiB a partition of 243,000 records, 2 to 5 GiB for the entity
(bench's 3M history, ``OTKLIK_MEMORY_LIMIT=3GB``). A relation made from the frame is not a catalog entry,
and is gone with the statement.
"""

import duckdb
import polars as pl


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Append ``frame``'s rows to ``table``, matched by column name as ``insert into ... by name`` does.

    ``frame`` has every column of the table, in any order (a column the table lacks, or a table column
    the frame lacks, is an error rather than a silent null)."""
    if frame.is_empty():
        return
    columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
    if set(columns) != set(frame.columns):
        missing, extra = sorted(set(columns) - set(frame.columns)), sorted(set(frame.columns) - set(columns))
        raise ValueError(f"{table}: the frame lacks columns {missing} and has columns the table lacks {extra}")
    con.from_arrow(frame.select(columns)).insert_into(table)
