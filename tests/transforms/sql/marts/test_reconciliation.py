"""Every metric mart reconciles with core: its suite and assert_*.sql pass on a mixed month, and
losing or doubling a core row makes the mart's reconciliation check fail (and name the month)."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from expectations import DataQualityError, validate_layer
from tests.helpers import run_model
from tests.transforms.sql.marts.core_frames import NOV, OCT, build_core, case, clock, cost, given_core, item, scored

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
MARTS = (
    "management_monthly",
    "sla_compliance_monthly",
    "owner_monthly",
    "store_monthly",
    "channel_monthly",
    "feedback_type_monthly",
)
H = timedelta(hours=1)


def month_of_data() -> dict:
    opened = datetime(2026, 10, 14, 9, tzinfo=UTC)
    first = item("complaint", "logistics", feedback_type_id="delivery_late", department_id="delivery")
    repeat = item("complaint", "logistics", channel_id="telegram_bot", conversation_id=first["feedback_id"]) | {
        "is_conversation_repeat": True
    }
    cases = [
        case(
            opened, first_contact_after=0.5 * H, closed_after=3 * H, department_id="stores_moscow", manager_id="m_orlov"
        ),
        case(opened, closed_after=H, directorate_id="logistics"),
        case(opened + timedelta(days=20), first_contact_after=2 * H, reopened=True, closed_after=30 * H),
    ]
    return {
        "feedback": [
            first,
            repeat,
            item("complaint", store_id="MSK-001", feedback_type_id="store_staff", manager_id="m_orlov"),
            item("thanks", store_id="NOWHERE-1"),
            scored(10, store_id="MSK-001"),
            scored(2, question_type="enps", channel_id="employee_pulse_survey"),  # an employee's: not a customer item
            item(
                "question", channel_id="self_service_sessions", self_service_outcome="resolved"
            ),  # an issue, not an item
            item("wish", "unassigned", NOV, channel_id="call_centre_notes"),
        ],
        "cases": cases,
        "sla": [
            clock("close_within_24h", "achieved", case_id=cases[0]["case_id"], elapsed_minutes=180.0),
            clock("close_within_24h", "achieved", "logistics", case_id=cases[1]["case_id"], elapsed_minutes=60.0),
            clock("close_within_24h", "breached", month=NOV, case_id=cases[2]["case_id"], elapsed_minutes=1800.0),
            clock("first_contact_within_1h", "not_started", "logistics", case_id=cases[1]["case_id"]),
        ],
        "orders": [(OCT, "retail", 1000)],
        "costs": [cost("web_form", date(2026, 1, 1), 10_000)],
    }


@pytest.fixture
def built(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given_core(con, **month_of_data())
    build_core(con)
    for mart in MARTS:
        frame = run_model(con, "marts", mart)
        con.register("_mart", frame)
        con.execute(f"create or replace table marts.{mart} as select * from _mart")
        con.unregister("_mart")
    return con


def test_every_mart_passes_its_suite_and_reconciles(built: duckdb.DuckDBPyConnection) -> None:
    report = validate_layer(built, "marts", run_id="recon", as_of=AS_OF, tables={f"marts.{m}" for m in MARTS})
    assert report.success, [r.describe() for r in report.critical_failures]
    checks = {r.expectation for r in report.results if r.expectation.startswith("assert_")}
    assert {c.split("_", 1)[1].split("_monthly")[0] + "_monthly" for c in checks} == set(MARTS)


BREAKS = [
    ("an item lost", "delete from core.fct_feedback where store_id = 'MSK-001' and kind = 'complaint'",
     {"management_monthly", "owner_monthly", "store_monthly", "channel_monthly", "feedback_type_monthly"}),
    ("a repeat counted as an item", "update core.fct_feedback set is_conversation_repeat = false",
     {"management_monthly", "channel_monthly", "feedback_type_monthly"}),
    ("a case lost", "delete from core.fct_cases where directorate_id = 'logistics'",
     {"management_monthly", "owner_monthly"}),
    ("an SLA clock doubled", "insert into core.fct_case_sla select * from core.fct_case_sla limit 1",
     {"sla_compliance_monthly"}),
]  # fmt: skip


@pytest.mark.parametrize(("statement", "marts"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS])
def test_a_core_change_the_marts_did_not_see_fails_their_reconciliation(
    built: duckdb.DuckDBPyConnection, statement: str, marts: set[str]
) -> None:
    built.execute(statement)
    with pytest.raises(DataQualityError) as caught:
        validate_layer(built, "marts", run_id="recon-bad", as_of=AS_OF, tables={f"marts.{m}" for m in MARTS})
    failures = caught.value.report.critical_failures
    assert {f.suite.removeprefix("marts.") for f in failures} == marts
    assert all(f.expectation.startswith("assert_") for f in failures)
    assert all("report_month" in f.sample[0] for f in failures)
