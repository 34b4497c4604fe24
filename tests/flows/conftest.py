"""One Prefect test harness for the whole session (about 15 s to start), flows tests only."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(autouse=True, scope="session")
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_landing"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A landing folder with the golden fixture and a warehouse, reports and key of the test's own."""
    shutil.copytree(GOLDEN, tmp_path / "landing")
    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("OTKLIK_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("OTKLIK_ARCHIVE", str(tmp_path / "archive"))
    monkeypatch.setenv("OTKLIK_PII_KEY", "test-key-not-a-secret-0123456789")
    # Printing the monthly review's PDF takes ~2 s a review: off here; tests/flows/test_review.py turns
    # it on, tests/transforms/review/test_pdf.py tests the PDF itself.
    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "off")
    return tmp_path
