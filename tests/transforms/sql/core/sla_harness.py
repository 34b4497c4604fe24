"""Given CRM events, feedback items and SLA configuration, build the SLA models in DuckDB (tests/helpers.py).

The intermediate models are materialized in dependency order (as ``warehouse.build`` does), and the
facts are returned keyed for the test's assertions. ``core.fct_cases`` is the real model, fed with
``core.dim_directorates`` given here.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from tests.helpers import given, given_org, run_model
from transforms.schemas import CASE_EVENT
from transforms.sla import (
    Calendar,
    Policy,
    calendar_days_frame,
    calendar_hours_frame,
    calendars_frame,
    load_calendars,
    load_policies,
    policies_frame,
    targets_frame,
)
from warehouse.sql_models import materialize_sql, set_build_variables

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
REPORTING_TIMEZONE = "Europe/Moscow"
FEEDBACK_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "channel_id": pl.String(),
    "received_at": pl.Datetime("us", "UTC"),
    "has_contact_request": pl.Boolean(),
    "feedback_type_id": pl.String(),
}
DIRECTORATES = pl.DataFrame(
    {
        "directorate_id": ["retail", "logistics", "unassigned"],
        "directorate_name": ["Р", "Л", "Н"],
        "head_name": ["", "", None],
    }
)
# the columns of staging.stg_config__feedback_types the SLA models read
FEEDBACK_TYPES = pl.DataFrame(
    {"feedback_type_id": ["fraud", "delivery_late", "store_queue"], "sla_class": ["urgent", "standard", "low"]}
)
INTERMEDIATE = ("fct_cases", "int_sla_calendar_intervals", "int_sla_clocks", "int_sla_clock_marks")


def event(case_id: str, event_type: str, event_at: datetime, **fields: Any) -> dict[str, Any]:
    return {"case_id": case_id, "event_type": event_type, "event_at": event_at} | fields


def events_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    defaults = {name: None for name in CASE_EVENT.columns} | {
        "_batch_id": "b1",
        "_source_file": "crm.csv",
        "directorate_id": "retail",
        "department_id": "stores_moscow",
        "manager_id": "m_orlov",
        "priority": "normal",
    }
    return pl.DataFrame([defaults | {"_record_index": i} | r for i, r in enumerate(rows)], schema=CASE_EVENT.columns)


def given_sla(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[dict[str, Any]],
    *,
    as_of: datetime = AS_OF,
    policies: Sequence[Policy] | None = None,
    calendars: Sequence[Calendar] | None = None,
    feedback: Sequence[dict[str, Any]] = (),
    years: range = range(2023, 2029),
) -> None:
    """Seed every input of the SLA models and materialize the intermediate ones."""
    policies = load_policies() if policies is None else policies
    calendars = load_calendars() if calendars is None else calendars
    given(con, "staging.stg_crm__case_events", events_frame(rows))
    given_org(con)
    given(con, "core.fct_feedback", pl.DataFrame(list(feedback), schema=FEEDBACK_COLUMNS))
    given(con, "staging.stg_config__feedback_types", FEEDBACK_TYPES)
    given(con, "staging.stg_config__sla_policies", policies_frame(policies))
    given(con, "staging.stg_config__sla_targets", targets_frame(policies))
    given(con, "staging.stg_config__sla_calendars", calendars_frame(calendars))
    given(con, "staging.stg_config__sla_calendar_hours", calendar_hours_frame(calendars))
    given(con, "staging.stg_config__sla_calendar_days", calendar_days_frame(calendars, years))
    set_build_variables(con, as_of=as_of, reporting_timezone=REPORTING_TIMEZONE)
    for name in INTERMEDIATE:
        materialize_sql(con, "core", name)


def build_case_sla(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]], **kwargs: Any) -> pl.DataFrame:
    """``core.fct_case_sla`` of the given inputs."""
    as_of = kwargs.get("as_of", AS_OF)
    given_sla(con, rows, **kwargs)
    return run_model(con, "core", "fct_case_sla", as_of=as_of, reporting_timezone=REPORTING_TIMEZONE)


def clocks_by_key(frame: pl.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """First-cycle rows keyed (case_id, sla_policy_id)."""
    return {(r["case_id"], r["sla_policy_id"]): r for r in frame.to_dicts() if r["cycle_number"] == 1}


def build_sla_events(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]], **kwargs: Any) -> pl.DataFrame:
    """``core.fct_sla_events`` of the given inputs (``core.fct_case_sla`` materialized first)."""
    as_of = kwargs.get("as_of", AS_OF)
    given_sla(con, rows, **kwargs)
    materialize_sql(con, "core", "fct_case_sla")
    return run_model(con, "core", "fct_sla_events", as_of=as_of, reporting_timezone=REPORTING_TIMEZONE)
