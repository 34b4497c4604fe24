"""core.fct_case_sla: one clock per (case, policy), judged against as_of (given/expect, tests/helpers.py)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.transforms.sql.core.sla_harness import build_case_sla, clocks_by_key, event
from transforms.alerts import escalate
from transforms.sla import Policy, due_at, elapsed_minutes, load_policies, parse_policies

CLOSE, CONTACT = "close_within_24h", "first_contact_within_1h"
OPENED = datetime(2026, 10, 1, 10, tzinfo=UTC)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def build(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    *,
    as_of: datetime = AS_OF,
    policies: tuple[Policy, ...] | None = None,
    owners: dict[str, dict[str, str]] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Given case events (owners on the events, as the CRM exports them), the first cycle of every clock."""
    rows = [r | (owners or {}).get(r["case_id"], {}) for r in rows]
    policies = tuple(p for p in load_policies() if p.id in (CLOSE, CONTACT)) if policies is None else policies
    return clocks_by_key(build_case_sla(con, rows, as_of=as_of, policies=policies))


@pytest.mark.parametrize(
    ("closed_at", "state", "elapsed", "is_breached"),
    [
        pytest.param(utc(2026, 10, 2, 9, 59), "achieved", 1439.0, False, id="closed-next-day-09:59"),
        pytest.param(utc(2026, 10, 2, 10, 0), "achieved", 1440.0, False, id="closed-exactly-at-due"),
        pytest.param(utc(2026, 10, 2, 10, 1), "breached", 1441.0, True, id="closed-next-day-10:01"),
    ],
)
def test_closed_case_is_achieved_within_target_and_breached_after(
    con: duckdb.DuckDBPyConnection, closed_at: datetime, state: str, elapsed: float, is_breached: bool
) -> None:
    clock = build(con, [event("c1", "opened", OPENED), event("c1", "closed", closed_at)])[("c1", CLOSE)]
    assert (clock["sla_state"], clock["elapsed_minutes"], clock["is_breached"], clock["is_measured"]) == (
        state,
        elapsed,
        is_breached,
        True,
    )
    assert (clock["started_at"], clock["due_at"], clock["achieved_at"]) == (
        OPENED,
        utc(2026, 10, 2, 10),
        closed_at,
    )


@pytest.mark.parametrize(
    ("as_of", "state", "is_breached"),
    [
        pytest.param(utc(2026, 10, 1, 10, 30), "open_ok", False, id="half-an-hour-in"),
        pytest.param(utc(2026, 10, 2, 5, 12), "open_ok", False, id="exactly-20pct-left-is-not-at-risk"),
        pytest.param(utc(2026, 10, 2, 5, 13), "at_risk", False, id="under-20pct-left"),
        pytest.param(utc(2026, 10, 2, 10, 0), "at_risk", False, id="due-now-not-yet-breached"),
        pytest.param(utc(2026, 10, 2, 10, 1), "open_breached", True, id="past-due-counts-as-breached"),
    ],
)
def test_open_case_is_judged_against_as_of(
    con: duckdb.DuckDBPyConnection, as_of: datetime, state: str, is_breached: bool
) -> None:
    clock = build(con, [event("c1", "opened", OPENED)], as_of=as_of)[("c1", CLOSE)]
    assert (clock["sla_state"], clock["is_breached"], clock["achieved_at"]) == (state, is_breached, None)
    assert clock["elapsed_minutes"] == (as_of - OPENED) / timedelta(minutes=1)


def test_each_case_gets_one_clock_per_policy_in_force(con: duckdb.DuckDBPyConnection) -> None:
    clocks = build(
        con,
        [
            event("c1", "opened", OPENED),
            event("c1", "first_contact", utc(2026, 10, 1, 11, 5)),
            event("c1", "closed", utc(2026, 10, 1, 15)),
            event("c2", "opened", OPENED),
        ],
    )
    assert sorted(clocks) == [("c1", CLOSE), ("c1", CONTACT), ("c2", CLOSE), ("c2", CONTACT)]
    contact = clocks[("c1", CONTACT)]
    assert (contact["target_minutes"], contact["achieved_at"], contact["sla_state"]) == (
        60,
        utc(2026, 10, 1, 11, 5),
        "breached",
    )


def test_close_clock_stops_at_the_first_close_even_after_reopening(con: duckdb.DuckDBPyConnection) -> None:
    clock = build(
        con,
        [
            event("c1", "opened", OPENED),
            event("c1", "closed", utc(2026, 10, 1, 12)),
            event("c1", "reopened", utc(2026, 10, 3, 9)),
            event("c1", "closed", utc(2026, 10, 5, 9)),
        ],
    )[("c1", CLOSE)]
    assert (clock["achieved_at"], clock["sla_state"]) == (utc(2026, 10, 1, 12), "achieved")


def test_case_without_start_event_is_kept_as_not_started(con: duckdb.DuckDBPyConnection) -> None:
    clock = build(con, [event("c1", "closed", utc(2026, 10, 31, 21, 30))])[("c1", CLOSE)]
    assert (clock["sla_state"], clock["is_measured"], clock["is_breached"], clock["started_at"]) == (
        "not_started",
        False,
        False,
        None,
    )
    assert (clock["due_at"], clock["elapsed_minutes"], clock["clock_violation"]) == (None, None, None)
    assert clock["report_month"] == date(2026, 11, 1)  # the first event's month in Moscow


def test_stop_before_start_is_flagged_and_the_row_kept(con: duckdb.DuckDBPyConnection) -> None:
    clocks = build(
        con,
        [
            event("c1", "first_contact", utc(2026, 10, 1, 9, 50)),
            event("c1", "opened", OPENED),
            event("c1", "first_contact", utc(2026, 10, 1, 10, 40)),
            event("c2", "first_contact", utc(2026, 10, 1, 9, 50)),
            event("c2", "opened", OPENED),
        ],
        as_of=utc(2026, 10, 1, 10, 30),
    )
    later_stop, only_stop = clocks[("c1", CONTACT)], clocks[("c2", CONTACT)]
    assert (later_stop["clock_violation"], later_stop["achieved_at"], later_stop["sla_state"]) == (
        "stop_before_start",
        utc(2026, 10, 1, 10, 40),
        "achieved",
    )
    assert (only_stop["clock_violation"], only_stop["achieved_at"], only_stop["sla_state"]) == (
        "stop_before_start",
        None,
        "open_ok",
    )
    assert clocks[("c1", CLOSE)]["clock_violation"] is None


def versioned_policies() -> tuple[Policy, ...]:
    text = """
calendars: [{id: "24x7", kind: "24x7", label: Круглосуточно}]
policies:
  - id: close_within_24h
    label: Закрытие
    rules:
      - {valid_from: 2026-01-01, start_event: opened, stop_event: closed, target_minutes: 1440,
         calendar: "24x7", at_risk_share: 0.2}
      - {valid_from: 2026-10-15, start_event: opened, stop_event: closed, target_minutes: 720,
         calendar: "24x7", at_risk_share: 0.2}
"""
    return tuple(parse_policies(text).policies)


def test_case_is_judged_by_the_rule_in_force_on_its_opening_day_in_moscow(
    con: duckdb.DuckDBPyConnection,
) -> None:
    clocks = build(
        con,
        [
            event("before", "opened", utc(2025, 12, 31, 20, 59)),  # 23:59 Moscow, before any rule
            event("old", "opened", utc(2026, 10, 14, 20, 59)),  # 23:59 Moscow on the 14th
            event("new", "opened", utc(2026, 10, 14, 21, 0)),  # 00:00 Moscow on the 15th
        ],
        policies=versioned_policies(),
    )
    assert sorted(clocks) == [("new", CLOSE), ("old", CLOSE)]
    assert clocks[("old", CLOSE)]["target_minutes"] == 1440
    assert (clocks[("new", CLOSE)]["target_minutes"], clocks[("new", CLOSE)]["rule_valid_from"]) == (
        720,
        date(2026, 10, 15),
    )


def test_report_month_is_the_start_month_in_the_reporting_timezone(con: duckdb.DuckDBPyConnection) -> None:
    clock = build(con, [event("c1", "opened", utc(2026, 10, 31, 21, 30))])[("c1", CLOSE)]
    assert clock["report_month"] == date(2026, 11, 1)


def test_owner_columns_come_from_fct_cases(con: duckdb.DuckDBPyConnection) -> None:
    owners = {
        "directorate_id": "logistics",
        "department_id": "delivery",
        "manager_id": "m_fedorov",
        "priority": "high",
    }
    clock = build(con, [event("c1", "opened", OPENED)], owners={"c1": owners})[("c1", CLOSE)]
    assert {k: clock[k] for k in owners} == owners


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(OPENED, id="instant"),
        pytest.param(utc(2026, 10, 1, 10, 0, 30), id="thirty-seconds"),
        pytest.param(utc(2026, 10, 31, 21, 30), id="a-month-later"),
    ],
)
def test_sql_clock_agrees_with_the_python_reference(con: duckdb.DuckDBPyConnection, stop: datetime) -> None:
    clock = build(con, [event("c1", "opened", OPENED), event("c1", "closed", stop)])[("c1", CLOSE)]
    assert clock["elapsed_minutes"] == elapsed_minutes(OPENED, stop, clock["calendar_id"])
    assert clock["due_at"] == due_at(OPENED, clock["target_minutes"], clock["calendar_id"])


def test_an_open_clock_turns_at_risk_when_less_than_its_share_is_left(con: duckdb.DuckDBPyConnection) -> None:
    # close within 24 h on 24x7, at_risk_share 0.2: at risk from 80% of 1,440 minutes = 1,152 min = 19h12m
    clock = build(con, [event("c1", "opened", OPENED)])[("c1", CLOSE)]
    assert clock["at_risk_at"] == OPENED + timedelta(minutes=1152)
    assert clock["due_at"] == OPENED + timedelta(hours=24)


def test_columns(con: duckdb.DuckDBPyConnection) -> None:
    """The columns the marts and the alerts read keep their names; the cycle columns come after the key."""
    assert build_case_sla(con, [event("c1", "opened", OPENED)]).columns == [
        "case_id",
        "sla_policy_id",
        "cycle_number",
        "rule_valid_from",
        "directorate_id",
        "department_id",
        "manager_id",
        "priority",
        "feedback_id",
        "started_at",
        "due_at",
        "at_risk_at",
        "achieved_at",
        "calendar_id",
        "target_minutes",
        "elapsed_minutes",
        "calendar_elapsed_minutes",
        "paused_minutes",
        "is_paused",
        "sla_state",
        "is_measured",
        "is_breached",
        "clock_violation",
        "report_month",
    ]


@pytest.mark.parametrize(
    ("priority", "feedback_type_id", "target"),
    [
        pytest.param("normal", "fraud", 120, id="urgent-class"),
        pytest.param("vip", "store_queue", 480, id="vip-priority-before-low-class"),
        pytest.param("normal", "store_queue", 1920, id="low-class"),
        pytest.param("normal", "delivery_late", 960, id="standard-class-takes-the-rule-target"),
        pytest.param("normal", None, 960, id="no-feedback-item"),
    ],
)
def test_reaction_target_by_sla_class_and_priority(
    con: duckdb.DuckDBPyConnection, priority: str, feedback_type_id: str | None, target: int
) -> None:
    feedback = [
        {
            "feedback_id": "web_form:1",
            "channel_id": "web_form",
            "received_at": OPENED,
            "has_contact_request": False,
            "feedback_type_id": feedback_type_id,
        }
    ]
    rows = [event("c1", "opened", OPENED, priority=priority, feedback_id="web_form:1" if feedback_type_id else None)]
    reaction = tuple(p for p in load_policies() if p.id == "reaction_by_type")
    frame = build_case_sla(con, rows, policies=reaction, feedback=feedback)
    assert frame["target_minutes"].to_list() == [target]


# The boundary rule (docs/sla.md): within target while the elapsed time in the policy's calendar is at
# most the target; due_at is the last such instant. A one-hour office clock (Mon-Fri 09-13, 14-18 Moscow)
# started Friday 17:00 uses its hour up at Friday 18:00 and stays there, at its target, until Monday 09:00.
MSK = ZoneInfo("Europe/Moscow")
OFFICE_HOUR = "reaction_1h_office"


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


FRIDAY_17 = msk(2026, 10, 2, 17)  # Friday 2 October 2026; Monday 5 October is a working day
MONDAY_09 = msk(2026, 10, 5, 9)
AT_RISK_AT = msk(2026, 10, 2, 17, 48)  # 48 of 60 minutes run, 20% left: the last instant not at risk
ONE_SECOND = timedelta(seconds=1)


def office_hour_policy() -> tuple[Policy, ...]:
    rule = {
        "valid_from": "2026-01-01",
        "start_event": "opened",
        "stop_event": "first_contact",
        "target_minutes": 60,
        "calendar": "office_msk",
        "at_risk_share": 0.2,
    }
    return (Policy.model_validate({"id": OFFICE_HOUR, "label": "Реакция за час рабочего времени", "rules": [rule]}),)


@pytest.mark.parametrize(
    ("stopped_at", "state", "elapsed"),
    [
        pytest.param(msk(2026, 10, 2, 17, 59), "achieved", 59.0, id="friday-17:59"),
        pytest.param(msk(2026, 10, 2, 18), "achieved", 60.0, id="friday-18:00-target-used-up"),
        pytest.param(msk(2026, 10, 2, 20), "achieved", 60.0, id="friday-20:00-elapsed-equals-target"),
        pytest.param(msk(2026, 10, 4, 12), "achieved", 60.0, id="sunday"),
        pytest.param(MONDAY_09, "achieved", 60.0, id="monday-09:00-the-due-time"),
        pytest.param(MONDAY_09 + ONE_SECOND, "breached", 3601 / 60, id="monday-09:00:01"),
    ],
)
def test_a_target_used_up_at_the_close_of_work_is_due_when_work_resumes(
    con: duckdb.DuckDBPyConnection, stopped_at: datetime, state: str, elapsed: float
) -> None:
    rows = [event("c1", "opened", FRIDAY_17), event("c1", "first_contact", stopped_at)]
    clock = build(con, rows, policies=office_hour_policy())[("c1", OFFICE_HOUR)]
    assert (clock["sla_state"], clock["elapsed_minutes"], clock["target_minutes"]) == (state, elapsed, 60)
    assert (clock["due_at"], clock["at_risk_at"], clock["achieved_at"]) == (MONDAY_09, AT_RISK_AT, stopped_at)
    assert clock["is_breached"] == (state == "breached")


@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        pytest.param(msk(2026, 10, 2, 17, 30), "open_ok", id="friday-17:30"),
        pytest.param(AT_RISK_AT, "open_ok", id="friday-17:48-exactly-20pct-left"),
        pytest.param(msk(2026, 10, 2, 17, 49), "at_risk", id="friday-17:49"),
        pytest.param(msk(2026, 10, 3, 12), "at_risk", id="saturday-nothing-left-yet-not-breached"),
        pytest.param(MONDAY_09, "at_risk", id="monday-09:00-the-due-time"),
        pytest.param(MONDAY_09 + ONE_SECOND, "open_breached", id="monday-09:00:01"),
    ],
)
def test_an_open_clock_at_its_target_over_the_weekend_breaches_only_when_work_resumes(
    con: duckdb.DuckDBPyConnection, as_of: datetime, state: str
) -> None:
    clock = build(con, [event("c1", "opened", FRIDAY_17)], as_of=as_of, policies=office_hour_policy())[
        ("c1", OFFICE_HOUR)
    ]
    assert (clock["sla_state"], clock["is_breached"]) == (state, state == "open_breached")
    assert (clock["due_at"], clock["at_risk_at"]) == (MONDAY_09, AT_RISK_AT)
    assert (clock["sla_state"] == "open_breached") == (clock["elapsed_minutes"] > clock["target_minutes"])


def test_the_watch_between_builds_breaches_the_clock_only_after_its_due_time(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """sla_watch moves the build's row forward with the build's due_at / at_risk_at, by the same rule."""
    built = build_case_sla(
        con, [event("c1", "opened", FRIDAY_17)], as_of=msk(2026, 10, 2, 17, 30), policies=office_hour_policy()
    )
    assert built["sla_state"].to_list() == ["open_ok"]
    states = {
        as_of: escalate(built, as_of=as_of.astimezone(UTC))["sla_state"].to_list()
        for as_of in (AT_RISK_AT, msk(2026, 10, 3, 12), MONDAY_09, MONDAY_09 + ONE_SECOND)
    }
    assert states == {
        AT_RISK_AT: ["open_ok"],
        msk(2026, 10, 3, 12): ["at_risk"],
        MONDAY_09: ["at_risk"],
        MONDAY_09 + ONE_SECOND: ["open_breached"],
    }
