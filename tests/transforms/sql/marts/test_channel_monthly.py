"""marts.channel_monthly: contacts, share of the month and cost per contact of every channel."""

from datetime import date
from decimal import Decimal

import duckdb

from tests.transforms.sql.marts.core_frames import NOV, OCT, cost, given_core, item, run_mart


def test_volume_share_and_cost_per_contact(con: duckdb.DuckDBPyConnection) -> None:
    web = [item("complaint"), item("complaint"), item("wish")]
    chat = item("complaint", channel_id="telegram_bot")
    repeat = item("complaint", channel_id="telegram_bot", conversation_id=web[0]["feedback_id"])
    repeat["is_conversation_repeat"] = True
    forum = item("thanks", channel_id="old_forum")  # a disabled channel that still delivered
    costs = [
        cost("web_form", date(2026, 1, 1), 3000, valid_to=NOV),
        cost("web_form", NOV, 5000),
        cost("telegram_bot", date(2026, 1, 1), 1000),
    ]
    given_core(con, feedback=[*web, chat, repeat, forum, item("thanks", month=NOV)], costs=costs)
    rows = run_mart(con, "channel_monthly", "report_month", "channel_id")
    # enabled channels every month, old_forum only where it has items; 'unknown' (disabled) never empty
    enabled = sorted(
        ["self_service_sessions", "call_centre_notes", "employee_pulse_survey", "telegram_bot", "web_form"]
    )
    assert sorted(k[1] for k in rows if k[0] == OCT) == sorted([*enabled, "old_forum"])
    assert sorted(k[1] for k in rows if k[0] == NOV) == enabled
    web_oct, chat_oct = rows[(OCT, "web_form")], rows[(OCT, "telegram_bot")]
    # October: 6 contacts — web 3, telegram 2 (one a repeat), forum 1
    assert (web_oct["contacts_count"], web_oct["complaints_count"], web_oct["contact_share"]) == (3, 2, 0.5)
    assert (chat_oct["contacts_count"], chat_oct["items_count"], chat_oct["conversation_repeats_count"]) == (2, 1, 1)
    assert chat_oct["contact_share"] == 2 / 6
    # cost per contact: web 3,000 / 3 = 1,000; telegram 1,000 / 2 = 500 (the repeat cost as much)
    assert (web_oct["monthly_cost_rub"], web_oct["cost_per_contact_rub"]) == (Decimal("3000.00"), 1000.0)
    assert chat_oct["cost_per_contact_rub"] == 500.0
    # November: the new price is in force, over 1 contact; telegram has a cost and no contacts
    assert (rows[(NOV, "web_form")]["cost_valid_from"], rows[(NOV, "web_form")]["cost_per_contact_rub"]) == (
        NOV,
        5000.0,
    )
    assert (rows[(NOV, "telegram_bot")]["contacts_count"], rows[(NOV, "telegram_bot")]["cost_per_contact_rub"]) == (
        0,
        None,
    )
    assert rows[(OCT, "call_centre_notes")]["monthly_cost_rub"] is None  # no cost configured


def test_an_item_from_an_unregistered_channel_counts_under_its_id(con: duckdb.DuckDBPyConnection) -> None:
    given_core(con, feedback=[item(channel_id="unknown")])
    rows = run_mart(con, "channel_monthly", "report_month", "channel_id")
    assert rows[(OCT, "unknown")]["contacts_count"] == 1
    assert sum(r["contact_share"] for r in rows.values()) == 1.0


def test_employees_answers_and_self_service_sessions_are_contacts_not_items(con: duckdb.DuckDBPyConnection) -> None:
    pulse = [
        item("complaint", channel_id="employee_pulse_survey", question_type="enps", score_scale="0-10", score_raw=2.0)
    ]
    sessions = [
        item("question", channel_id="self_service_sessions", self_service_outcome=o) for o in ("resolved", "escalated")
    ]
    given_core(con, feedback=[*pulse, *sessions, item("complaint")], costs=[cost("self_service_sessions", OCT, 100)])
    rows = run_mart(con, "channel_monthly", "report_month", "channel_id")
    employees, bot = rows[(OCT, "employee_pulse_survey")], rows[(OCT, "self_service_sessions")]
    assert (employees["audience"], employees["contacts_count"], employees["items_count"]) == ("employee", 1, 0)
    assert employees["complaints_count"] == 0  # an employee's complaint is no customer complaint
    assert (bot["contacts_count"], bot["items_count"], bot["self_service_sessions_count"]) == (2, 0, 2)
    assert (bot["self_service_resolved_count"], bot["cost_per_contact_rub"]) == (1, 50.0)
    assert rows[(OCT, "web_form")]["items_count"] == 1
