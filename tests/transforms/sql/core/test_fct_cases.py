"""core.fct_cases: one row per case, folded from its CRM events (given/expect, tests/helpers.py)."""

from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.helpers import given, given_org, run_model
from transforms.schemas import CASE_EVENT
from warehouse.sql_models import materialize_sql


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def events(*rows: dict[str, Any]) -> pl.DataFrame:
    defaults = {name: None for name in CASE_EVENT.columns} | {"_batch_id": "b1", "_source_file": "crm.csv"}
    return pl.DataFrame(
        [defaults | {"_record_index": i} | row for i, row in enumerate(rows)], schema=CASE_EVENT.columns
    )


def directorates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "directorate_id": ["retail", "logistics", "unassigned"],
            "directorate_name": ["Розничная сеть", "Логистика и доставка", "Не распределено"],
            "head_name": ["Соколов А. В.", "Петрова Е. Н.", None],
        }
    )


def build(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, **kwargs: Any) -> dict[str, dict[str, Any]]:
    given(con, "staging.stg_crm__case_events", frame)
    given_org(con)  # departments and managers of org.yaml
    given(con, "core.dim_directorates", directorates())
    return {row["case_id"]: row for row in run_model(con, "core", "fct_cases", **kwargs).to_dicts()}


def test_one_row_per_case_with_its_milestones(con: duckdb.DuckDBPyConnection) -> None:
    cases = build(
        con,
        events(
            {
                "case_id": "c1",
                "event_type": "opened",
                "event_at": utc(2026, 10, 1, 10),
                "feedback_id": "web:1",
            },
            {"case_id": "c1", "event_type": "first_contact", "event_at": utc(2026, 10, 1, 10, 20)},
            {"case_id": "c1", "event_type": "under_review", "event_at": utc(2026, 10, 1, 11)},
            {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 2, 9)},
            {"case_id": "c2", "event_type": "opened", "event_at": utc(2026, 10, 3, 8)},
        ),
    )
    assert sorted(cases) == ["c1", "c2"]
    c1 = cases["c1"]
    assert (c1["feedback_id"], c1["opened_at"], c1["first_contact_at"]) == (
        "web:1",
        utc(2026, 10, 1, 10),
        utc(2026, 10, 1, 10, 20),
    )
    assert (c1["closed_at"], c1["last_closed_at"], c1["is_open"]) == (
        utc(2026, 10, 2, 9),
        utc(2026, 10, 2, 9),
        False,
    )
    assert (cases["c2"]["closed_at"], cases["c2"]["is_open"]) == (None, True)
    # escalated for a check at 11:00; c2 never was
    assert (c1["under_review_at"], cases["c2"]["under_review_at"]) == (utc(2026, 10, 1, 11), None)


def test_owner_columns_come_from_the_latest_event_that_carries_them(con: duckdb.DuckDBPyConnection) -> None:
    routed = {"directorate_id": "retail", "department_id": "stores_moscow", "manager_id": "m_orlov"}
    rerouted = {"directorate_id": "logistics", "department_id": "delivery", "manager_id": "m_fedorov"}
    cases = build(
        con,
        events(
            {
                "case_id": "c1",
                "event_type": "opened",
                "event_at": utc(2026, 10, 1, 10),
                "priority": "high",
                **routed,
            },
            {"case_id": "c1", "event_type": "under_review", "event_at": utc(2026, 10, 1, 12), **rerouted},
            {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 1, 13)},  # carries no owner
        ),
    )
    c1 = cases["c1"]
    assert [c1[k] for k in ("directorate_id", "department_id", "manager_id", "priority")] == [
        "logistics",
        "delivery",
        "m_fedorov",
        "high",
    ]


def test_case_without_owner_or_with_unknown_directorate_is_unassigned(con: duckdb.DuckDBPyConnection) -> None:
    cases = build(
        con,
        events(
            {"case_id": "none", "event_type": "opened", "event_at": utc(2026, 10, 1, 10)},
            {
                "case_id": "unknown",
                "event_type": "opened",
                "event_at": utc(2026, 10, 1, 10),
                "directorate_id": "hr",
            },
        ),
    )
    owners = ("directorate_id", "department_id", "manager_id", "priority")
    assert [cases["none"][k] for k in owners] == ["unassigned"] * 4
    assert cases["unknown"]["directorate_id"] == "unassigned"


def test_reopened_case_is_under_additional_control_and_open_until_closed_again(
    con: duckdb.DuckDBPyConnection,
) -> None:
    lifecycle = [
        {"case_id": "c1", "event_type": "opened", "event_at": utc(2026, 10, 1, 10)},
        {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 1, 18)},
        {"case_id": "c1", "event_type": "reopened", "event_at": utc(2026, 10, 3, 9)},
    ]
    reopened = build(con, events(*lifecycle))["c1"]
    assert (reopened["reopened_count"], reopened["is_open"]) == (1, True)
    assert reopened["closed_at"] == utc(2026, 10, 1, 18)
    # core.fct_case_controls: a reopened case is under additional control (no check failed it)
    materialize_sql(con, "core", "fct_cases")
    control = run_model(con, "core", "fct_case_controls").row(0, named=True)
    assert control == {
        "case_id": "c1",
        "is_reopened": True,
        "is_check_failed": False,
        "is_under_additional_control": True,
    }

    closed_again = build(
        con, events(*lifecycle, {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 3, 15)})
    )["c1"]
    assert (closed_again["is_open"], closed_again["closed_at"], closed_again["last_closed_at"]) == (
        False,
        utc(2026, 10, 1, 18),
        utc(2026, 10, 3, 15),
    )


def test_close_before_opening_is_not_the_cases_close(con: duckdb.DuckDBPyConnection) -> None:
    cases = build(
        con,
        events(
            {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 1, 9)},
            {"case_id": "c1", "event_type": "opened", "event_at": utc(2026, 10, 1, 10)},
        ),
    )
    assert (cases["c1"]["closed_at"], cases["c1"]["is_open"]) == (None, True)


def test_event_redelivered_in_a_later_batch_counts_once(con: duckdb.DuckDBPyConnection) -> None:
    reopen = {"case_id": "c1", "event_type": "reopened", "event_at": utc(2026, 10, 2, 9)}
    cases = build(
        con,
        events(
            {"case_id": "c1", "event_type": "opened", "event_at": utc(2026, 10, 1, 10)},
            {"case_id": "c1", "event_type": "closed", "event_at": utc(2026, 10, 1, 11)},
            reopen,
            reopen | {"_batch_id": "b2"},
        ),
    )
    assert cases["c1"]["reopened_count"] == 1


def test_case_without_opened_event_is_kept_without_opened_at(con: duckdb.DuckDBPyConnection) -> None:
    cases = build(con, events({"case_id": "c1", "event_type": "first_contact", "event_at": utc(2026, 10, 1, 10)}))
    assert (cases["c1"]["opened_at"], cases["c1"]["opened_month"], cases["c1"]["is_open"]) == (
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("reporting_timezone", "expected_month"),
    [
        pytest.param("Europe/Moscow", date(2026, 11, 1), id="moscow-already-november"),
        pytest.param("UTC", date(2026, 10, 1), id="utc-still-october"),
    ],
)
def test_opened_month_is_the_reporting_timezones_month(
    con: duckdb.DuckDBPyConnection, reporting_timezone: str, expected_month: date
) -> None:
    cases = build(
        con,
        events({"case_id": "c1", "event_type": "opened", "event_at": utc(2026, 10, 31, 21, 30)}),
        reporting_timezone=reporting_timezone,
    )
    assert cases["c1"]["opened_month"] == expected_month


def test_columns(con: duckdb.DuckDBPyConnection) -> None:
    given(con, "staging.stg_crm__case_events", events())
    given_org(con)
    given(con, "core.dim_directorates", directorates())
    assert run_model(con, "core", "fct_cases").columns == [
        "case_id",
        "feedback_id",
        "directorate_id",
        "department_id",
        "manager_id",
        "priority",
        "opened_at",
        "first_contact_at",
        "closed_at",
        "last_closed_at",
        "under_review_at",
        "reopened_count",
        "is_open",
        "opened_month",
    ]
