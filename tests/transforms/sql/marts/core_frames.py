"""Small core and config tables for the metric marts' tests: build rows with defaults, then ``given_core``.

The org here is a fixed miniature (two directorates, two departments, two managers, one store), so
the hand-computed figures do not move when org.yaml or the taxonomy change. ``item`` rows are the
classified items (core.int_feedback_classified plus their conversation); ``run_mart`` builds the real
core models on them first (the dimensions, core.fct_feedback with its metric flags, and the monthly
facts), so a mart test exercises the whole chain a build runs.
"""

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from tests.helpers import given, run_model
from transforms.costs.channel_costs import CHANNEL_COST_COLUMNS
from transforms.schemas import CUSTOMER_STATUS
from transforms.sla.policies import SLA_POLICY_COLUMNS, SLA_TARGET_COLUMNS
from warehouse.sql_models import materialize_sql, set_build_variables

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
_ids = itertools.count()

# core.int_feedback_classified, the input of core.fct_feedback
CLASSIFIED_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "channel_id": pl.String(),
    "source_item_id": pl.String(),
    "received_at": pl.Datetime("us", "UTC"),
    "kind": pl.String(),
    "feedback_type_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "store_id": pl.String(),
    "case_ref": pl.String(),
    "has_text": pl.Boolean(),
    "body_text": pl.String(),
    "language": pl.String(),
    "classifier_version": pl.String(),
    "sentiment": pl.String(),
    "confidence": pl.Float64(),
    "method": pl.String(),
    "needs_review": pl.Boolean(),
    "taxonomy_version": pl.String(),
    "model_version": pl.String(),
    "score_raw": pl.Float64(),
    "score_scale": pl.String(),
    "score_10": pl.Float64(),
    "question_type": pl.String(),
    "is_issue_solved": pl.Boolean(),
    "self_service_outcome": pl.String(),
    "has_contact_request": pl.Boolean(),
    "has_contact": pl.Boolean(),
    "customer_key": pl.String(),
    "segment": pl.String(),
    "device": pl.String(),
    "is_edited": pl.Boolean(),
    "_batch_id": pl.String(),
    "_source_file": pl.String(),
    "_record_index": pl.Int64(),
}
CONVERSATION_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "conversation_id": pl.String(),
    "is_conversation_repeat": pl.Boolean(),
}
CASE_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "feedback_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "opened_at": pl.Datetime("us", "UTC"),
    "first_contact_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
    "under_review_at": pl.Datetime("us", "UTC"),
    "reopened_count": pl.Int64(),
    "is_open": pl.Boolean(),
    "opened_month": pl.Date(),
}
CASE_SLA_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "sla_policy_id": pl.String(),
    "cycle_number": pl.Int64(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "sla_state": pl.String(),
    "is_measured": pl.Boolean(),
    "is_breached": pl.Boolean(),
    "elapsed_minutes": pl.Float64(),
    "report_month": pl.Date(),
}
VALIDITY = {"valid_from": pl.Date, "valid_to": pl.Date}
# the staging config tables the dimensions of core are built from
DIRECTORATES = pl.DataFrame(
    {
        "directorate_id": ["retail", "logistics"],
        "directorate_name": ["Розничная сеть", "Логистика и доставка"],
        "head_name": ["Соколов А. В.", "Петрова Е. Н."],
    }
)
DEPARTMENTS = pl.DataFrame(
    {
        "department_id": ["stores_moscow", "delivery"],
        "department_name": ["Магазины Москвы", "Доставка"],
        "directorate_id": ["retail", "logistics"],
        "valid_from": [None, None],
        "valid_to": [None, None],
    },
    schema_overrides=VALIDITY,
)
MANAGERS = pl.DataFrame(
    {
        "manager_id": ["m_orlov", "m_fedorov"],
        "manager_name": ["Орлов П. К.", "Федоров И. И."],
        "department_id": ["stores_moscow", "delivery"],
        "valid_from": [None, None],
        "valid_to": [None, None],
    },
    schema_overrides=VALIDITY,
)
STORES = pl.DataFrame(
    {
        "store_id": ["MSK-001"],
        "store_name": ["Москва, Варшавское ш."],
        "manager_id": ["m_orlov"],
        "region": ["Москва"],
        "valid_from": [None],
        "valid_to": [None],
    },
    schema_overrides=VALIDITY,
)
FEEDBACK_TYPES = pl.DataFrame(
    {
        "feedback_type_id": ["delivery_late", "store_staff"],
        "label": ["Опоздание доставки", "Персонал магазина"],
        "name_en": ["Late delivery", "Store staff"],
        "default_kind": ["complaint", "complaint"],
        "sla_class": ["standard", "standard"],
        "directorate_id": ["logistics", "retail"],
        "department_id": ["delivery", "stores_moscow"],
        "valid_from": [date(2020, 1, 1)] * 2,
        "valid_to": [None, None],
    },
    schema_overrides={"valid_to": pl.Date},
)
CHANNELS = pl.DataFrame(
    {
        "channel_id": [
            "web_form",
            "telegram_bot",
            "call_centre_notes",
            "old_forum",
            "employee_pulse_survey",
            "self_service_sessions",
        ],
        "display_name": ["Форма на сайте", "Telegram", "Колл-центр", "Старый форум", "Пульс-опрос", "Чат-бот"],
        "entity": ["feedback"] * 6,
        "format": ["json_pages"] * 6,
        "schedule_group": ["hourly"] * 6,
        "timezone": ["UTC"] * 6,
        "score_scale": ["none"] * 6,
        "question_type": ["none"] * 6,
        "audience": ["customer", "customer", "customer", "customer", "employee", "customer"],
        "expected_cadence_hours": [24] * 6,
        "is_enabled": [True, True, True, False, True, True],
    }
)
SLA_POLICIES = pl.DataFrame(
    [
        {
            "sla_policy_id": "close_within_24h",
            "label": "Закрытие за 24 часа",
            "target_minutes": 1440,
            "valid_from": date(2010, 1, 1),
        },
        {
            "sla_policy_id": "first_contact_within_1h",
            "label": "Первый контакт за 1 час",
            "target_minutes": 60,
            "valid_from": date(2010, 1, 1),
        },
    ],
    schema=SLA_POLICY_COLUMNS,
)
SLA_TARGETS = pl.DataFrame([], schema=SLA_TARGET_COLUMNS)


def item(kind: str = "thanks", directorate_id: str = "retail", month: date = OCT, **fields: Any) -> dict[str, Any]:
    """One classified item (core.int_feedback_classified and its conversation): a web-form item received
    on the 10th of ``month``. ``conversation_id`` and ``is_conversation_repeat`` go to the conversation."""
    feedback_id = f"web_form:{next(_ids)}"
    return {
        "feedback_id": feedback_id,
        "conversation_id": feedback_id,
        "is_conversation_repeat": False,
        "channel_id": "web_form",
        "received_at": datetime(month.year, month.month, 10, tzinfo=UTC),
        "kind": kind,
        "directorate_id": directorate_id,
        "question_type": "none",
        "score_scale": "none",
    } | fields


def scored(score: float, question_type: str = "nps", **fields: Any) -> dict[str, Any]:
    """An answer to a 0–10 recommend-type question (core.fct_feedback derives its group)."""
    return item(question_type=question_type, score_scale="0-10", score_raw=score, **fields)


def case(
    opened_at: datetime,
    *,
    first_contact_after: timedelta | None = None,
    closed_after: timedelta | None = None,
    reopened: bool = False,
    under_review_after: timedelta | None = None,
    directorate_id: str = "retail",
    department_id: str = "unassigned",
    manager_id: str = "unassigned",
    case_id: str | None = None,
    feedback_id: str | None = None,
) -> dict[str, Any]:
    """One row of core.fct_cases; the month is the opening's in Moscow (all test openings are mid-day)."""
    return {
        "case_id": case_id or f"CASE-{next(_ids)}",
        "feedback_id": feedback_id,
        "is_open": closed_after is None,
        "directorate_id": directorate_id,
        "department_id": department_id,
        "manager_id": manager_id,
        "opened_at": opened_at,
        "first_contact_at": opened_at + first_contact_after if first_contact_after is not None else None,
        "closed_at": opened_at + closed_after if closed_after is not None else None,
        "under_review_at": opened_at + under_review_after if under_review_after is not None else None,
        "reopened_count": int(reopened),
        "opened_month": date(opened_at.year, opened_at.month, 1),
    }


def clock(policy: str, state: str, directorate_id: str = "retail", month: date = OCT, **fields: Any) -> dict[str, Any]:
    """One row of core.fct_case_sla."""
    return {
        "case_id": f"c{next(_ids)}",
        "sla_policy_id": policy,
        "cycle_number": 1,
        "directorate_id": directorate_id,
        "department_id": "unassigned",
        "manager_id": "unassigned",
        "sla_state": state,
        "is_measured": state != "not_started",
        "is_breached": state in ("breached", "open_breached"),
        "elapsed_minutes": None,
        "report_month": month,
    } | fields


def customer_status(customer: str, status: str, at: datetime, segment: str | None = "b2c", **keys: str) -> dict:
    """One row of staging.stg_crm__customer_statuses; ``customer`` stands for its keyed hash (also the
    identity of items whose customer_key is the same string); ``phone_key`` / ``email_key`` optional."""
    return {"customer_key": customer, "status": status, "status_at": at, "segment": segment} | keys


def cost(channel_id: str, valid_from: date, rub: int, valid_to: date | None = None) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "monthly_cost_rub": Decimal(rub),
        "note": None,
    }


def given_core(
    con: duckdb.DuckDBPyConnection,
    *,
    feedback: Sequence[dict[str, Any]] = (),
    cases: Sequence[dict[str, Any]] = (),
    sla: Sequence[dict[str, Any]] = (),
    orders: Sequence[tuple[date, str, int]] = (),
    costs: Sequence[dict[str, Any]] = (),
    customer_statuses: Sequence[dict[str, Any]] = (),
) -> None:
    """Every input of the core models the metric marts read, holding exactly these rows and the
    miniature org; ``run_mart`` builds the models on them."""
    classified = [{k: v for k, v in row.items() if k in CLASSIFIED_COLUMNS} for row in feedback]
    conversations = [{k: v for k, v in row.items() if k in CONVERSATION_COLUMNS} for row in feedback]
    given(con, "core.int_feedback_classified", pl.DataFrame(classified, schema=CLASSIFIED_COLUMNS))
    given(con, "core.int_feedback_conversations", pl.DataFrame(conversations, schema=CONVERSATION_COLUMNS))
    given(con, "core.fct_cases", pl.DataFrame(list(cases), schema=CASE_COLUMNS))
    given(con, "core.fct_case_sla", pl.DataFrame(list(sla), schema=CASE_SLA_COLUMNS))
    given(
        con,
        "core.fct_orders_monthly",
        pl.DataFrame(
            list(orders),
            schema={"report_month": pl.Date(), "directorate_id": pl.String(), "orders_count": pl.Int64()},
            orient="row",
        ),
    )
    given(con, CUSTOMER_STATUS.staging_table, pl.DataFrame(list(customer_statuses), schema=CUSTOMER_STATUS.columns))
    given(con, "staging.stg_config__directorates", DIRECTORATES)
    given(con, "staging.stg_config__departments", DEPARTMENTS)
    given(con, "staging.stg_config__managers", MANAGERS)
    given(con, "staging.stg_config__stores", STORES)
    given(con, "staging.stg_config__feedback_types", FEEDBACK_TYPES)
    given(con, "staging.stg_config__channels", CHANNELS)
    given(con, "staging.stg_config__sla_policies", SLA_POLICIES)
    given(con, "staging.stg_config__sla_targets", SLA_TARGETS)
    given(con, "staging.stg_config__channel_costs", pl.DataFrame(list(costs), schema=CHANNEL_COST_COLUMNS))


# the core models built on the given inputs, in build order
CORE_MODELS = (
    "dim_directorates",
    "dim_departments",
    "dim_managers",
    "dim_stores",
    "dim_channels",
    "dim_feedback_types",
    "dim_sla_policies",
    "dim_channel_costs",
    "int_customer_identities",
    "dim_customers",
    "fct_customer_status_spans",
    "fct_feedback",
    "int_feedback_attributes",
    "fct_contact_requests",
    "fct_feedback_monthly",
    "fct_cases_monthly",
    "fct_sla_monthly",
    "fct_close_the_loop_monthly",
    "int_customer_start_months",
    "fct_customers_at_month_start",
)


def build_core(con: duckdb.DuckDBPyConnection) -> None:
    """Materialize the core models the marts read from what ``given_core`` (and the test) gave."""
    set_build_variables(con, as_of=datetime(2026, 11, 1, tzinfo=UTC), reporting_timezone="Europe/Moscow")
    for name in CORE_MODELS:
        materialize_sql(con, "core", name)


def run_mart(con: duckdb.DuckDBPyConnection, name: str, *key: str) -> dict[tuple, dict[str, Any]]:
    """Build core on the given inputs, run ``marts.<name>`` and index its rows by the ``key`` columns."""
    build_core(con)
    rows = run_model(con, "marts", name).to_dicts()
    index = {tuple(r[k] for k in key): r for r in rows}
    assert len(index) == len(rows), f"{name}: the key {key} is not unique"
    return index
