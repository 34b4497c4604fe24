"""given/expect helpers for SQL models, in the shape of dbt unit tests (docs/development.md)."""

from datetime import UTC, datetime

import duckdb
import polars as pl

from warehouse.sql_models import render_model_sql, set_build_variables


def given(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create (or replace) ``schema.table`` holding exactly ``frame``."""
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_given_frame", frame)
    con.execute(f"create or replace table {table} as select * from _given_frame")
    con.unregister("_given_frame")


def run_model(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    name: str,
    *,
    as_of: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    reporting_timezone: str = "Europe/Moscow",
) -> pl.DataFrame:
    """Run one SQL model's select (without materializing it) and return the result."""
    set_build_variables(con, as_of=as_of, reporting_timezone=reporting_timezone)
    return con.sql(render_model_sql(layer, name)).pl()
