"""Small core and config tables for the metric marts' tests: build rows with defaults, then ``given_core``.

The org here is a fixed miniature (two directorates, two departments, two managers, one store), so
the hand-computed figures do not move when org.yaml or the taxonomy change.
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

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
_ids = itertools.count()

FEEDBACK_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "channel_id": pl.String(),
    "received_at": pl.Datetime("us", "UTC"),
    "received_month": pl.Date(),
    "kind": pl.String(),
    "feedback_type_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "store_id": pl.String(),
    "has_text": pl.Boolean(),
    "score_raw": pl.Float64(),
    "score_scale": pl.String(),
    "score_10": pl.Float64(),
    "question_type": pl.String(),
    "nps_group": pl.String(),
    "has_contact_request": pl.Boolean(),
    "customer_key": pl.String(),
    "segment": pl.String(),
    "device": pl.String(),
    "conversation_id": pl.String(),
    "is_conversation_repeat": pl.Boolean(),
}
CASE_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "opened_at": pl.Datetime("us", "UTC"),
    "first_contact_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
    "reopened_count": pl.Int64(),
    "is_under_additional_control": pl.Boolean(),
    "opened_month": pl.Date(),
}
CASE_SLA_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "sla_policy_id": pl.String(),
    "directorate_id": pl.String(),
    "sla_state": pl.String(),
    "is_measured": pl.Boolean(),
    "is_breached": pl.Boolean(),
    "elapsed_minutes": pl.Float64(),
    "report_month": pl.Date(),
}
DIRECTORATES = pl.DataFrame(
    {
        "directorate_id": ["retail", "logistics", "unassigned"],
        "directorate_name": ["Розничная сеть", "Логистика и доставка", "Не распределено"],
        "head_name": ["Соколов А. В.", "Петрова Е. Н.", None],
    }
)
DEPARTMENTS = pl.DataFrame(
    {
        "department_id": ["stores_moscow", "delivery"],
        "department_name": ["Магазины Москвы", "Доставка"],
        "directorate_id": ["retail", "logistics"],
    }
)
MANAGERS = pl.DataFrame(
    {
        "manager_id": ["m_orlov", "m_fedorov"],
        "manager_name": ["Орлов П. К.", "Федоров И. И."],
        "department_id": ["stores_moscow", "delivery"],
    }
)
STORES = pl.DataFrame({"store_id": ["MSK-001"], "store_name": ["Москва, Варшавское ш."], "manager_id": ["m_orlov"]})
FEEDBACK_TYPES = pl.DataFrame(
    {
        "feedback_type_id": ["delivery_late", "store_staff", "unclassified"],
        "label": ["Опоздание доставки", "Персонал магазина", "Не классифицировано"],
        "directorate_id": ["logistics", "retail", "unassigned"],
        "department_id": ["delivery", "stores_moscow", None],
        "valid_from": [date(2020, 1, 1)] * 3,
    }
)
CHANNELS = pl.DataFrame(
    {
        "channel_id": ["web_form", "telegram_bot", "call_centre_notes", "old_forum", "unknown"],
        "display_name": ["Форма на сайте", "Telegram", "Колл-центр", "Старый форум", "Неизвестный канал"],
        "entity": ["feedback"] * 5,
        "is_enabled": [True, True, True, False, False],
    }
)
SLA_POLICIES = pl.DataFrame(
    {
        "sla_policy_id": ["close_within_24h", "first_contact_within_1h"],
        "label": ["Закрытие за 24 часа", "Первый контакт за 1 час"],
        "target_minutes": [1440, 60],
        "valid_from": [date(2010, 1, 1)] * 2,
        "valid_to": [None, None],
    },
    schema_overrides={"valid_to": pl.Date},
)


def item(kind: str = "thanks", directorate_id: str = "retail", month: date = OCT, **fields: Any) -> dict[str, Any]:
    """One row of core.fct_feedback: a web-form item received on the 10th of ``month``."""
    feedback_id = f"web_form:{next(_ids)}"
    return {
        "feedback_id": feedback_id,
        "conversation_id": feedback_id,
        "is_conversation_repeat": False,
        "channel_id": "web_form",
        "received_at": datetime(month.year, month.month, 10, tzinfo=UTC),
        "received_month": month,
        "kind": kind,
        "directorate_id": directorate_id,
        "question_type": "none",
        "score_scale": "none",
    } | fields


def scored(score: float, question_type: str = "nps", **fields: Any) -> dict[str, Any]:
    """An answer to a 0–10 recommend-type question, with its NPS group as core.fct_feedback derives it."""
    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return item(question_type=question_type, score_scale="0-10", score_raw=score, nps_group=group, **fields)


def case(
    opened_at: datetime,
    *,
    first_contact_after: timedelta | None = None,
    closed_after: timedelta | None = None,
    reopened: bool = False,
    directorate_id: str = "retail",
    department_id: str = "unassigned",
    manager_id: str = "unassigned",
) -> dict[str, Any]:
    """One row of core.fct_cases; the month is the opening's in Moscow (all test openings are mid-day)."""
    return {
        "case_id": f"CASE-{next(_ids)}",
        "directorate_id": directorate_id,
        "department_id": department_id,
        "manager_id": manager_id,
        "opened_at": opened_at,
        "first_contact_at": opened_at + first_contact_after if first_contact_after is not None else None,
        "closed_at": opened_at + closed_after if closed_after is not None else None,
        "reopened_count": int(reopened),
        "is_under_additional_control": reopened,
        "opened_month": date(opened_at.year, opened_at.month, 1),
    }


def clock(policy: str, state: str, directorate_id: str = "retail", month: date = OCT, **fields: Any) -> dict[str, Any]:
    """One row of core.fct_case_sla."""
    return {
        "case_id": f"c{next(_ids)}",
        "sla_policy_id": policy,
        "directorate_id": directorate_id,
        "sla_state": state,
        "is_measured": state != "not_started",
        "is_breached": state in ("breached", "open_breached"),
        "elapsed_minutes": None,
        "report_month": month,
    } | fields


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
) -> None:
    """Every table the metric marts read, holding exactly these rows and the miniature org."""
    given(con, "core.fct_feedback", pl.DataFrame(list(feedback), schema=FEEDBACK_COLUMNS))
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
    given(con, "core.dim_directorates", DIRECTORATES)
    given(con, "core.dim_feedback_types", FEEDBACK_TYPES)
    given(con, "core.dim_channels", CHANNELS)
    given(con, "staging.stg_config__departments", DEPARTMENTS)
    given(con, "staging.stg_config__managers", MANAGERS)
    given(con, "staging.stg_config__stores", STORES)
    given(con, "staging.stg_config__sla_policies", SLA_POLICIES)
    given(con, "staging.stg_config__channel_costs", pl.DataFrame(list(costs), schema=CHANNEL_COST_COLUMNS))


def run_mart(con: duckdb.DuckDBPyConnection, name: str, *key: str) -> dict[tuple, dict[str, Any]]:
    """Run ``marts.<name>`` and index its rows by the ``key`` columns."""
    rows = run_model(con, "marts", name).to_dicts()
    index = {tuple(r[k] for k in key): r for r in rows}
    assert len(index) == len(rows), f"{name}: the key {key} is not unique"
    return index
