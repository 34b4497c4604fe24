"""core.fct_case_sla: one clock per (case, policy), judged against as_of (given/expect, STYLE.md B7)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.helpers import given, run_model
from transforms.schemas import CASE_EVENT
from transforms.sla import due_at, elapsed_minutes, load_policies, parse_policies, policies_frame

CLOSE, CONTACT = "close_within_24h", "first_contact_within_1h"
OPENED = datetime(2026, 10, 1, 10, tzinfo=UTC)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)

CASE_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "feedback_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "priority": pl.String(),
    "opened_at": pl.Datetime("us", "UTC"),
    "first_contact_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
    "last_closed_at": pl.Datetime("us", "UTC"),
    "reopened_count": pl.Int64(),
    "is_open": pl.Boolean(),
    "is_under_additional_control": pl.Boolean(),
    "opened_month": pl.Date(),
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def event(case_id: str, event_type: str, event_at: datetime) -> dict[str, Any]:
    return {"case_id": case_id, "event_type": event_type, "event_at": event_at}


def build(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    *,
    as_of: datetime = AS_OF,
    policies: pl.DataFrame | None = None,
    owners: dict[str, dict[str, str]] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Given case events (fct_cases derived from them by hand: owners and opened_at only)."""
    defaults = {name: None for name in CASE_EVENT.columns} | {"_batch_id": "b1", "_source_file": "crm.csv"}
    frame = pl.DataFrame([defaults | {"_record_index": i} | r for i, r in enumerate(rows)], schema=CASE_EVENT.columns)
    cases = [
        {
            "case_id": case_id,
            "directorate_id": "retail",
            "department_id": "stores_moscow",
            "manager_id": "m_orlov",
            "priority": "normal",
            "opened_at": min(
                (r["event_at"] for r in rows if r["case_id"] == case_id and r["event_type"] == "opened"),
                default=None,
            ),
            "reopened_count": 0,
        }
        | (owners or {}).get(case_id, {})
        for case_id in dict.fromkeys(r["case_id"] for r in rows)
    ]
    given(con, "staging.stg_crm__case_events", frame)
    given(con, "core.fct_cases", pl.DataFrame(cases, schema=CASE_COLUMNS))
    given(
        con,
        "staging.stg_config__sla_policies",
        policies if policies is not None else policies_frame(load_policies()),
    )
    actual = run_model(con, "core", "fct_case_sla", as_of=as_of)
    return {(r["case_id"], r["sla_policy_id"]): r for r in actual.to_dicts()}


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


def versioned_policies() -> pl.DataFrame:
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
    return policies_frame(parse_policies(text).policies)


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


def test_columns(con: duckdb.DuckDBPyConnection) -> None:
    given(con, "staging.stg_crm__case_events", pl.DataFrame(schema=CASE_EVENT.columns))
    given(con, "core.fct_cases", pl.DataFrame(schema=CASE_COLUMNS))
    given(con, "staging.stg_config__sla_policies", policies_frame(load_policies()))
    assert run_model(con, "core", "fct_case_sla").columns == [
        "case_id",
        "sla_policy_id",
        "rule_valid_from",
        "directorate_id",
        "department_id",
        "manager_id",
        "priority",
        "started_at",
        "due_at",
        "achieved_at",
        "calendar_id",
        "target_minutes",
        "elapsed_minutes",
        "sla_state",
        "is_measured",
        "is_breached",
        "clock_violation",
        "report_month",
    ]
