"""The month range of `otklik backfill` (pure; the flow itself is tested in test_backfill.py)."""

import pytest

from flows.backfill import month_range


def test_a_range_is_inclusive_and_crosses_years() -> None:
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert month_range("2026-10", "2026-10") == ["2026-10"]
    assert len(month_range("2025-01", "2025-12")) == 12


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-10", "2026-09", "ends before it starts"),
        ("2026-13", "2026-12", "month must look like"),
        ("October", "2026-12", "month must look like"),
    ],
)
def test_a_bad_range_is_a_clear_error(first: str, last: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        month_range(first, last)
