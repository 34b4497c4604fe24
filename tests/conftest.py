"""Fast fixtures for every test: an in-memory warehouse at the current schema."""

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

# Prefect must never write to the user's ~/.prefect or phone home from tests.
os.environ.setdefault("PREFECT_HOME", str(Path(__file__).resolve().parent.parent / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from warehouse import connect_memory

# ../shared beside the checkout, as CI has it; OTKLIK_SHARED_DIR for a clone made somewhere else.
SHARED = Path(os.environ.get("OTKLIK_SHARED_DIR", Path(__file__).resolve().parent.parent.parent / "shared"))


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect_memory()
    yield connection
    connection.close()


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the checkout (CI has it there too)."""
    if not SHARED.is_dir():
        pytest.fail(
            f"../shared not found at {SHARED}; CI and developers have it beside the checkout "
            "(or set OTKLIK_SHARED_DIR to it)"
        )
    return SHARED
