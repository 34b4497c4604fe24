"""The metric macros of ``transforms/sql/metrics.sql``: their statements, and their constants for Python.

The SQL file is the one definition of every shared formula and of the small-sample threshold; the
build creates the macros on its connection (``warehouse.sql_models``), and Python code that must agree
with the marts (the review's footnote, tests) reads a constant by evaluating its macro.
"""

from functools import cache
from pathlib import Path

import duckdb

METRICS_SQL = Path(__file__).resolve().parent / "sql" / "metrics.sql"


def metric_macros() -> list[str]:
    """The ``create macro`` statements of transforms/sql/metrics.sql, in file order."""
    lines = METRICS_SQL.read_text(encoding="utf-8").splitlines()
    code = "\n".join(line for line in lines if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


def create_metric_macros(con: duckdb.DuckDBPyConnection) -> None:
    for statement in metric_macros():
        con.execute(statement)


@cache
def metric_constant(name: str) -> object:
    """The value of a constant macro of metrics.sql, e.g. ``small_sample_answers``."""
    con = duckdb.connect()
    try:
        create_metric_macros(con)
        return con.execute(f"select {name}()").fetchone()[0]
    finally:
        con.close()
