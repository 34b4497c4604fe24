"""SQL models: ``transforms/sql/<layer>/<name>.sql`` (a single pure select) and their build variables.

A SQL model is one file ``transforms/sql/<layer>/<name>.sql`` holding a single pure select.
SQL models may read two build variables: ``getvariable('as_of')`` (TIMESTAMPTZ, the clock
against which open SLAs are judged, recorded in the run ledger so replays see the same clock)
and ``getvariable('reporting_timezone')`` (VARCHAR, the zone whose months and weeks reports use).
"""

from datetime import datetime
from pathlib import Path

import duckdb

from transforms.metrics import create_metric_macros

SQL_DIR = Path(__file__).resolve().parent.parent / "transforms" / "sql"


def model_path(layer: str, name: str) -> Path:
    return SQL_DIR / layer / f"{name}.sql"


def render_model_sql(layer: str, name: str) -> str:
    return model_path(layer, name).read_text(encoding="utf-8")


def set_build_variables(con: duckdb.DuckDBPyConnection, *, as_of: datetime, reporting_timezone: str) -> None:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    con.execute("set variable as_of = ?::timestamptz", [as_of])
    con.execute("set variable reporting_timezone = ?", [reporting_timezone])
    create_metric_macros(con)


def materialize_sql(con: duckdb.DuckDBPyConnection, layer: str, name: str) -> int:
    """Build one SQL model; return its row count."""
    sql = render_model_sql(layer, name).rstrip().rstrip(";")
    con.execute(f"create or replace table {layer}.{name} as {sql}")
    return con.execute(f"select count(*) from {layer}.{name}").fetchone()[0]
