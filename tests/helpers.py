"""Helpers shared by test modules: given/expect for SQL models, in the shape of dbt unit tests
(docs/development.md); ``chromium_or_skip``, the browser the review tests drive; ``land_file``, a test's file
landed as the ingest lands one."""

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from transforms.channels import get_channel
from warehouse.ingest import BatchOutcome, land_batch
from warehouse.sql_models import render_model_sql, set_build_variables

if TYPE_CHECKING:
    from transforms.org import Org


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


ORG_DIMENSIONS = ("dim_directorates", "dim_departments", "dim_managers", "dim_stores")


def given_org(con: duckdb.DuckDBPyConnection, org: "Org | None" = None) -> None:
    """The org dimensions of core (directorates, departments, managers, stores, each with its missing
    member) built by their own SQL from org.yaml, or from ``org``."""
    from transforms import config_tables
    from transforms.org import load_org
    from warehouse.sql_models import materialize_sql

    org = load_org() if org is None else org
    given(con, "staging.stg_config__directorates", config_tables.directorates_frame(org))
    given(con, "staging.stg_config__departments", config_tables.departments_frame(org))
    given(con, "staging.stg_config__managers", config_tables.managers_frame(org))
    given(con, "staging.stg_config__stores", config_tables.stores_frame(org))
    set_build_variables(con, as_of=datetime(2026, 11, 1, tzinfo=UTC), reporting_timezone="Europe/Moscow")
    for name in ORG_DIMENSIONS:
        materialize_sql(con, "core", name)


def chromium_or_skip() -> str:
    """The browser the review tests drive (transforms.review.pdf.find_chromium: OTKLIK_CHROMIUM, then
    chromium on PATH). Missing: the test skips, unless OTKLIK_REQUIRE_CHROMIUM=1 (CI), where it fails."""
    import os

    import pytest

    from transforms.review.pdf import ChromiumNotFound, find_chromium

    try:
        return find_chromium()
    except ChromiumNotFound as error:
        if os.environ.get("OTKLIK_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{error} and OTKLIK_REQUIRE_CHROMIUM=1")
        pytest.skip(str(error))


def land_file(
    con: duckdb.DuckDBPyConnection, archive: Path, channel_id: str, name: str, data: bytes, *, run_id: str
) -> BatchOutcome:
    """``data`` landed as the file ``name`` of ``channel_id`` (warehouse.ingest.land_batch); its outcome."""
    return land_batch(
        con,
        channel_id,
        get_channel(channel_id),
        data,
        source_file=f"{channel_id}/{name}",
        source_uri=f"file:///landing/{channel_id}/{name}",
        archive_dir=archive,
        run_id=run_id,
    )
