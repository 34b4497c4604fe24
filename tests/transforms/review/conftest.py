"""A published October 2026 review of the small review warehouse (tests/transforms/review/review_warehouse.py)."""

from pathlib import Path

import duckdb
import pytest

from tests.transforms.review.review_warehouse import built_warehouse
from transforms.review.config import load_review_settings
from transforms.review.periods import month_period
from transforms.review.publishing import ReviewFiles, write_review_files
from transforms.review.snapshot import Snapshot
from transforms.review.sources import monthly_tables
from warehouse.publish import publish_review

COMPANY = "ООО «Инструмент-Маркет»"


def publish_october(con: duckdb.DuckDBPyConnection, run_id: str = "build-1", reason: str | None = None) -> Snapshot:
    period = month_period("2026-10")
    tables = monthly_tables(con, period, load_review_settings())
    return publish_review(con, period, tables, build_run_id=run_id, reporting_timezone="Europe/Moscow", reason=reason)


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return built_warehouse(con)


@pytest.fixture
def snapshot(warehouse: duckdb.DuckDBPyConnection) -> Snapshot:
    return publish_october(warehouse)


@pytest.fixture
def files(snapshot: Snapshot, tmp_path: Path) -> ReviewFiles:
    return write_review_files(snapshot, tmp_path / "reports", company_name=COMPANY, settings=load_review_settings())
