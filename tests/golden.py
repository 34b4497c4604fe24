"""The golden landing folder through ingest and every layer: shared by the end-to-end and gate tests."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from transforms.channels import load_channels
from transforms.dag import BuildContext
from transforms.org import load_org
from transforms.sla import load_policies
from transforms.taxonomy import load_feedback_types
from warehouse import connect_memory
from warehouse.build import build_all
from warehouse.ingest import ingest_landing

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden_landing"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def golden_context(as_of: datetime = AS_OF) -> BuildContext:
    return BuildContext(
        as_of=as_of,
        reporting_timezone="Europe/Moscow",
        channels=load_channels(),
        org=load_org(),
        feedback_types=load_feedback_types(),
        sla_policies=load_policies(),
        pii_key=b"golden-test-key-0123456789abcdef",
    )


def golden_ingested(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the golden landing folder ingested (nothing built yet)."""
    landing = tmp_path / "landing"
    shutil.copytree(GOLDEN, landing)
    con = connect_memory()
    ingest_landing(con, landing, load_channels(), run_id="golden")
    return con


def golden_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """The golden landing folder ingested, built and checked (raises if a check fails)."""
    con = golden_ingested(tmp_path)
    build_all(con, golden_context(), run_id="golden")
    return con
