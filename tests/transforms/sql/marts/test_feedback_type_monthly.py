"""marts.feedback_type_monthly: counts per type, month-on-month and year-on-year change, growth points."""

from datetime import date

import duckdb
import pytest

from tests.transforms.sql.marts.core_frames import given_core, item, run_mart

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
OCT_2025 = date(2025, 10, 1)
LATE, STAFF = "delivery_late", "store_staff"


def complaints(n: int, type_id: str, month: date) -> list[dict]:
    directorate = {"delivery_late": "logistics", "store_staff": "retail"}[type_id]
    return [item("complaint", directorate, month, feedback_type_id=type_id) for _ in range(n)]


def build(con: duckdb.DuckDBPyConnection, feedback: list[dict]) -> dict[tuple, dict]:
    given_core(con, feedback=feedback)
    return run_mart(con, "feedback_type_monthly", "report_month", "feedback_type_id", "directorate_id")


def test_month_on_month_change_and_the_growth_point_rule(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        *complaints(2, LATE, SEP),
        *complaints(8, LATE, OCT),  # +6 and ×4 with 8 ≥ 5 complaints: a growth point
        *complaints(10, STAFF, SEP),
        *complaints(11, STAFF, OCT),  # +1: not one
        item("wish", "retail", OCT, feedback_type_id=STAFF),
    ]
    rows = build(con, feedback)
    late, staff = rows[(OCT, LATE, "logistics")], rows[(OCT, STAFF, "retail")]
    assert (late["complaints_count"], late["complaints_prev_month_count"], late["complaints_mom_change"]) == (8, 2, 6)
    assert late["complaints_mom_growth_rate"] == 3.0  # (8 − 2) / 2
    # shares of all complaints: September 2 of 12, October 8 of 19
    assert late["complaint_share_of_month"] == pytest.approx(8 / 19)
    assert late["complaint_share_mom_change"] == pytest.approx(8 / 19 - 2 / 12)
    assert (late["is_growth_point"], late["growth_basis"], late["growth_rank"]) == (True, "mom", 1)
    assert (staff["items_count"], staff["complaints_mom_change"], staff["is_growth_point"]) == (12, 1, False)
    assert staff["growth_rank"] is None
    # no data before September: the first month has nothing to compare with (null, not 0)
    first = rows[(SEP, LATE, "logistics")]
    assert (first["complaints_prev_month_count"], first["complaints_mom_change"], first["is_growth_point"]) == (
        None,
        None,
        False,
    )
    # no data a year back either
    assert late["complaints_prev_year_count"] is None


def test_year_on_year_growth_and_the_evidence_floor(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        *complaints(1, LATE, OCT_2025),
        *complaints(6, LATE, SEP),
        *complaints(6, LATE, OCT),  # flat on September, +5 and ×6 on October 2025: a growth point (yoy)
        *complaints(4, STAFF, OCT),  # from 0 to 4: below the floor of 5
    ]
    rows = build(con, feedback)
    late, staff = rows[(OCT, LATE, "logistics")], rows[(OCT, STAFF, "retail")]
    assert (late["complaints_prev_year_count"], late["complaints_yoy_change"], late["complaints_yoy_growth_rate"]) == (
        1,
        5,
        5.0,
    )
    # September's share 6/6 = 1, October's 6/10: the share fell month on month
    assert late["complaint_share_mom_change"] == pytest.approx(-0.4)
    assert (late["is_growth_point"], late["growth_basis"]) == (True, "yoy")
    assert (staff["complaints_prev_month_count"], staff["complaints_mom_growth_rate"]) == (0, None)
    assert staff["is_growth_point"] is False
    # months without any items of a pair, between the first and the last month of data, have no row
    # unless the month before had items: November 2025 shows the type falling silent, December does not
    assert (date(2025, 11, 1), LATE, "logistics") in rows
    assert (date(2025, 12, 1), LATE, "logistics") not in rows


def test_a_type_missing_from_the_taxonomy_counts_as_unclassified(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(
        con, [item("complaint", "unassigned", OCT, feedback_type_id="retired_type"), item("wish", "unassigned")]
    )
    row = rows[(OCT, "unclassified", "unassigned")]
    assert (row["items_count"], row["complaints_count"], row["label"]) == (2, 1, "Не классифицировано")
