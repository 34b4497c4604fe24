"""marts.owner_monthly: complaints and cases per department and manager, as the working meetings show them."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from tests.transforms.sql.marts.core_frames import OCT, case, clock, given_core, item, run_mart, scored

H = timedelta(hours=1)
OPENED = datetime(2026, 10, 14, 9, tzinfo=UTC)
KEY = ("report_month", "directorate_id", "department_id", "manager_id")


def test_items_and_cases_count_under_the_owner_on_the_fact(con: duckdb.DuckDBPyConnection) -> None:
    orlov = {"department_id": "stores_moscow", "manager_id": "m_orlov"}
    feedback = [
        item("complaint", **orlov),
        item("complaint", **orlov),
        item("thanks", **orlov),
        scored(10, directorate_id="retail", **orlov),
        scored(2, directorate_id="retail", **orlov),
        item("complaint", "logistics", department_id="delivery"),  # no manager on the item
        item("complaint", "logistics", department_id="delivery", manager_id="m_gone"),  # not in org.yaml
        item("wish", "unassigned"),
    ]
    cases = [
        case(OPENED, first_contact_after=0.5 * H, closed_after=5 * H, **orlov),
        case(OPENED, first_contact_after=2 * H, closed_after=20 * H, reopened=True, **orlov),
        case(OPENED, directorate_id="logistics", department_id="delivery", manager_id="m_fedorov"),
    ]
    sla = [clock("close_within_24h", "open_breached", case_id=cases[2]["case_id"], directorate_id="logistics")]
    given_core(con, feedback=feedback, cases=cases, sla=sla)
    rows = run_mart(con, "owner_monthly", *KEY)
    assert sorted(rows) == [
        (OCT, "logistics", "delivery", "m_fedorov"),
        (OCT, "logistics", "delivery", "unassigned"),
        (OCT, "retail", "stores_moscow", "m_orlov"),
        (OCT, "unassigned", "unassigned", "unassigned"),
    ]
    orlov_row = rows[(OCT, "retail", "stores_moscow", "m_orlov")]
    assert (orlov_row["manager_name"], orlov_row["department_name"]) == ("Орлов П. К.", "Магазины Москвы")
    # 5 items: 2 complaints, 1 thanks, 2 scored (kind 'thanks' by default) → complaint share 0.4
    assert (orlov_row["items_count"], orlov_row["complaints_count"], orlov_row["complaint_share"]) == (5, 2, 0.4)
    # NPS over 10 and 2: 100 × (1 − 1) / 2 = 0; CSI 1 high / 1 low = 1
    assert (orlov_row["nps_answers_count"], orlov_row["nps"], orlov_row["csi"]) == (2, 0.0, 1.0)
    assert (orlov_row["cases_count"], orlov_row["cases_closed_count"], orlov_row["reopen_rate"]) == (2, 2, 0.5)
    # first contact 0.5 and 2 h → median 1.25; close 5 and 20 h → median 12.5, p90 5 + 0.9 × 15 = 18.5
    assert orlov_row["first_contact_hours_median"] == 1.25
    assert (orlov_row["close_hours_median"], orlov_row["close_hours_p90"]) == (12.5, pytest.approx(18.5))
    assert orlov_row["cases_breached_count"] == 0
    # the manager missing from the item and the one not in org.yaml both count as 'unassigned'
    delivery = rows[(OCT, "logistics", "delivery", "unassigned")]
    assert (delivery["complaints_count"], delivery["cases_count"]) == (2, 0)
    fedorov = rows[(OCT, "logistics", "delivery", "m_fedorov")]
    assert (fedorov["items_count"], fedorov["cases_count"], fedorov["cases_breached_count"]) == (0, 1, 1)
    assert fedorov["close_hours_median"] is None  # still open


def test_repeats_are_shown_apart_and_owners_sum_to_every_item(con: duckdb.DuckDBPyConnection) -> None:
    first = item("complaint", department_id="stores_moscow", manager_id="m_orlov")
    repeat = item("complaint", conversation_id=first["feedback_id"], is_conversation_repeat=True)
    given_core(con, feedback=[first, repeat])
    rows = run_mart(con, "owner_monthly", *KEY)
    assert rows[(OCT, "retail", "stores_moscow", "m_orlov")]["items_count"] == 1
    assert rows[(OCT, "retail", "unassigned", "unassigned")]["conversation_repeats_count"] == 1
    assert sum(r["items_count"] + r["conversation_repeats_count"] for r in rows.values()) == 2
