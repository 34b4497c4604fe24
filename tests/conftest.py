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

from otklik.prefect_server import guard_temporary_servers
from warehouse import connect_memory

guard_temporary_servers()  # a killed test session leaves no Prefect server behind

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect_memory()
    yield connection
    connection.close()


@pytest.fixture
def real_samples() -> Path:
    """Channel payloads written by providers and client libraries, with their licences
    (tests/fixtures/real/README.md)."""
    return FIXTURES / "real"


@pytest.fixture
def documented_samples() -> Path:
    """Payloads we wrote from the providers' documentation where the real sample may not be
    redistributed (tests/fixtures/documented/README.md)."""
    return FIXTURES / "documented"
