"""A small built warehouse for the review tests: hand-made core tables and management mart rows.

The mart rows are written by hand from the core rows below (the mart's own SQL is tested in
tests/transforms/sql/marts), so these tests hold the review to figures worked out here.

October 2026 (Moscow): retail has 3 complaints (F1 with a <script> text, F2 with a text starting
with '=', F3 from a repeat customer) and 1 thanks; logistics 1 complaint (F5); F6 repeats F5 on
another channel (is_conversation_repeat). September: retail 1 complaint (F0). October 2025: retail
1 complaint (FY). Cases: C1 (retail, from F1) closed late → close_within_24h breached; C2
(logistics, from F5) closed in time, reopened on 2026-10-07.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from tests.helpers import given
from warehouse.runs import finish_run, record_inputs, start_run
from warehouse.sql_models import materialize_sql, set_build_variables

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
OCT, SEP = date(2026, 10, 1), date(2026, 9, 1)
SCRIPT_TEXT = "<script>alert('x')</script> курьер опоздал"
FORMULA_TEXT = '=HYPERLINK("http://evil.example","жми")'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _month(at: datetime) -> date:
    local = at.astimezone(ZoneInfo("Europe/Moscow"))
    return date(local.year, local.month, 1)


def feedback_row(
    feedback_id: str,
    at: datetime,
    directorate_id: str,
    kind: str,
    text: str | None,
    *,
    type_id: str = "late_delivery",
    customer: str | None = None,
    repeat: bool = False,
    channel: str = "web_form",
    score: float | None = None,
) -> dict:
    return {
        "feedback_id": feedback_id,
        "channel_id": channel,
        "source_item_id": feedback_id,
        "feedback_type_id": type_id,
        "directorate_id": directorate_id,
        "department_id": None,
        "manager_id": None,
        "store_id": None,
        "customer_key": customer or feedback_id,
        "conversation_id": feedback_id,
        "received_at": at,
        "received_month": _month(at),
        "kind": kind,
        "has_text": text is not None,
        "body_text": text,
        "score_raw": score,
        "score_scale": "0-10" if score is not None else None,
        "question_type": "nps" if score is not None else None,
        "nps_group": None if score is None else "promoter" if score >= 9 else "passive" if score >= 7 else "detractor",
        "is_conversation_repeat": repeat,
        "_batch_id": "web_form:b1",
        "audience": "customer",
        "case_id": None,
        # the metric flags of core.fct_feedback, as the rules of docs/metrics.md give them for these rows
        **flags(counted=not repeat, score=score),
    }


FLAG_NAMES = (
    "is_csat_answer", "is_csat_satisfied", "is_effort_answer", "is_low_effort", "is_rating_answer",
    "is_tnps_answer", "is_tnps_promoter", "is_tnps_passive", "is_tnps_detractor", "is_ces_answer", "is_ces_solved",
    "is_enps_answer", "is_enps_promoter", "is_enps_passive", "is_enps_detractor", "is_self_service_session",
    "is_self_service_resolved",
)  # fmt: skip


def flags(*, counted: bool, score: float | None) -> dict:
    answer = counted and score is not None
    return {
        **dict.fromkeys(FLAG_NAMES, False),
        "is_counted_item": counted,
        "is_nps_answer": answer,
        "is_nps_promoter": answer and score >= 9,
        "is_nps_passive": answer and 7 <= score < 9,
        "is_nps_detractor": answer and score < 7,
        "is_csi_high": answer and score >= 8,
        "is_csi_low": answer and score <= 3,
    }


FEEDBACK = [
    feedback_row("F0", utc(2026, 9, 10, 9), "retail", "complaint", "сентябрьская жалоба"),
    feedback_row("FY", utc(2025, 10, 10, 9), "retail", "complaint", "жалоба год назад"),
    feedback_row("F1", utc(2026, 10, 2, 9), "retail", "complaint", SCRIPT_TEXT, score=2.0),
    feedback_row("F2", utc(2026, 10, 3, 9), "retail", "complaint", FORMULA_TEXT, type_id="rude_staff"),
    feedback_row("F3", utc(2026, 10, 4, 9), "retail", "complaint", "снова опоздали", customer="K1"),
    feedback_row("F4", utc(2026, 10, 5, 9), "retail", "thanks", "спасибо", score=10.0),
    feedback_row("F5", utc(2026, 10, 6, 9), "logistics", "complaint", "потеряли посылку", customer="K2"),
    feedback_row("F6", utc(2026, 10, 6, 10), "logistics", "complaint", "потеряли посылку", customer="K2",
                 repeat=True, channel="chat"),
]  # fmt: skip


def _given_core(con: duckdb.DuckDBPyConnection, feedback: list[dict]) -> None:
    given(con, "core.fct_feedback", pl.DataFrame(feedback, infer_schema_length=None))
    given(
        con,
        "core.dim_directorates",
        pl.DataFrame(
            {
                "directorate_id": ["retail", "logistics", "unassigned"],
                "directorate_name": ["Розничная сеть", "Логистика и доставка", "Не распределено"],
                "head_name": ["Соколов А. В.", "Петрова Е. Н.", None],
            }
        ),
    )
    given(
        con,
        "core.dim_feedback_types",
        pl.DataFrame(
            {"feedback_type_id": ["late_delivery", "rude_staff"], "label": ["Опоздание доставки", "Грубость"]}
        ),
    )
    given(
        con, "core.dim_channels", pl.DataFrame({"channel_id": ["web_form", "chat"], "display_name": ["Форма", "Чат"]})
    )
    given(
        con,
        "core.fct_cases",
        pl.DataFrame(
            {
                "case_id": ["C1", "C2"],
                "feedback_id": ["F1", "F5"],
                "directorate_id": ["retail", "logistics"],
                "department_id": ["unassigned", "unassigned"],
                "manager_id": ["m_ivanov", "m_petrov"],
                "priority": ["normal", "normal"],
                "opened_at": [utc(2026, 10, 2, 10), utc(2026, 10, 6, 11)],
                "first_contact_at": [utc(2026, 10, 2, 10, 30), utc(2026, 10, 6, 11, 20)],
                "closed_at": [utc(2026, 10, 4, 10), utc(2026, 10, 6, 20)],
                "last_closed_at": [utc(2026, 10, 4, 10), utc(2026, 10, 8, 9)],
                "reopened_count": [0, 1],
                "is_open": [False, False],
                "opened_month": [OCT, OCT],
            }
        ),
    )
    given(
        con,
        "core.fct_case_sla",
        pl.DataFrame(
            {
                "case_id": ["C1", "C2"],
                "sla_policy_id": ["close_within_24h", "close_within_24h"],
                "cycle_number": [1, 1],
                "directorate_id": ["retail", "logistics"],
                "department_id": ["unassigned", "unassigned"],
                "manager_id": ["m_ivanov", "m_petrov"],
                "priority": ["normal", "normal"],
                "started_at": [utc(2026, 10, 2, 10), utc(2026, 10, 6, 11)],
                "due_at": [utc(2026, 10, 3, 10), utc(2026, 10, 7, 11)],
                "achieved_at": [utc(2026, 10, 4, 10), utc(2026, 10, 6, 20)],
                "sla_state": ["breached", "achieved"],
                "is_measured": [True, True],
                "is_breached": [True, False],
                "report_month": [OCT, OCT],
            }
        ),
    )
    given(
        con,
        "staging.stg_crm__case_events",
        pl.DataFrame(
            {
                "case_id": ["C2", "C2", "C2"],
                "event_type": ["opened", "closed", "reopened"],
                "event_at": [utc(2026, 10, 6, 11), utc(2026, 10, 6, 20), utc(2026, 10, 7, 9)],
            }
        ),
    )
    given(
        con,
        "core.fct_orders_monthly",
        pl.DataFrame({"report_month": [OCT], "directorate_id": ["retail"], "orders_count": [2000]}),
    )


def land_batch(con: duckdb.DuckDBPyConnection, batch_id: str, source_file: str) -> None:
    con.execute(
        "insert into raw.batches (batch_id, channel_id, source_file, content_sha256, size_bytes, record_count,"
        " rejected_count, status) values (?, 'web_form', ?, ?, 1, 1, 0, 'loaded')",
        [batch_id, source_file, batch_id],
    )


def mart_row(month: date, directorate_id: str, name: str, **figures: object) -> dict:
    row: dict = {
        "report_month": month,
        "directorate_id": directorate_id,
        "directorate_name": name,
        "is_company_total": directorate_id == "all",
        **dict.fromkeys(
            ("items_count", "complaints_count", "wishes_count", "thanks_count", "questions_count",
             "unclassified_count", "conversation_repeats_count", "nps_answers_count", "promoters_count",
             "passives_count", "detractors_count", "csat_answers_count", "csat_satisfied_count",
             "sla_close_24h_measured_count", "sla_close_24h_achieved_count", "sla_close_24h_breached_count",
             "sla_first_contact_1h_measured_count", "sla_first_contact_1h_achieved_count",
             "sla_first_contact_1h_breached_count"),
            0,
        ),
        **dict.fromkeys(
            ("complaint_share", "nps", "nps_ci_low", "nps_ci_high", "csat", "sla_close_24h_compliance_rate",
             "sla_first_contact_1h_compliance_rate", "complaints_per_1000_orders"),
            None,
        ),
        "orders_count": None,
    }  # fmt: skip
    row.update(figures)
    row["is_nps_small_sample"] = row["nps_answers_count"] < 30
    if row["items_count"]:
        row["complaint_share"] = row["complaints_count"] / row["items_count"]
    return row


def mart_rows(late: bool) -> list[dict]:
    """By hand from FEEDBACK (and LATE when ``late``): counts per directorate, repeats apart."""
    retail_complaints = 4 if late else 3  # F1 F2 F3 (+ F7)
    # retail NPS: F1 score 2 (detractor), F4 score 10 (promoter): (1 - 1) / 2 = 0
    retail = {
        "items_count": retail_complaints + 1,
        "complaints_count": retail_complaints,
        "thanks_count": 1,
        "nps_answers_count": 2,
        "promoters_count": 1,
        "detractors_count": 1,
        "nps": 0.0,
        "sla_close_24h_measured_count": 1,
        "sla_close_24h_breached_count": 1,
        "sla_close_24h_compliance_rate": 0.0,
        "orders_count": 2000,
        # 1000 × 3 / 2000 = 1.5 (late: 1000 × 4 / 2000 = 2.0)
        "complaints_per_1000_orders": 1000 * retail_complaints / 2000,
    }
    # logistics: F5 (F6 repeats it); C2 closed in time
    logistics = {
        "items_count": 1,
        "complaints_count": 1,
        "conversation_repeats_count": 1,
        "sla_close_24h_measured_count": 1,
        "sla_close_24h_achieved_count": 1,
        "sla_close_24h_compliance_rate": 1.0,
    }
    company = {
        "items_count": retail_complaints + 2,
        "complaints_count": retail_complaints + 1,
        "thanks_count": 1,
        "conversation_repeats_count": 1,
        "nps_answers_count": 2,
        "promoters_count": 1,
        "detractors_count": 1,
        "nps": 0.0,
        "sla_close_24h_measured_count": 2,
        "sla_close_24h_achieved_count": 1,
        "sla_close_24h_breached_count": 1,
        "sla_close_24h_compliance_rate": 0.5,
        "orders_count": 2000,
        "complaints_per_1000_orders": 1000 * (retail_complaints + 1) / 2000,
    }
    one_complaint = {"items_count": 1, "complaints_count": 1}
    return [
        mart_row(date(2025, 10, 1), "retail", "Розничная сеть", **one_complaint),  # FY
        mart_row(date(2025, 10, 1), "all", "Вся компания", **one_complaint),
        mart_row(SEP, "retail", "Розничная сеть", **one_complaint),  # F0
        mart_row(SEP, "all", "Вся компания", **one_complaint),
        mart_row(OCT, "retail", "Розничная сеть", **retail),
        mart_row(OCT, "logistics", "Логистика и доставка", **logistics),
        mart_row(OCT, "unassigned", "Не распределено"),
        mart_row(OCT, "all", "Вся компания", **company),
    ]  # fmt: skip


# Marts built by their own SQL from the core tables above (their SQL is tested in tests/transforms/sql).
BUILT = (("core", "fct_case_reopens"), *(("marts", m) for m in ("complaints_by_type_monthly", "weekly_summary",
         "weekly_type_complaints", "weekly_sla_breaches", "weekly_reopened_cases")))  # fmt: skip


def build(con: duckdb.DuckDBPyConnection, run_id: str, *, late: bool = False) -> None:
    """Core and the management mart as given, the other review marts by their SQL, and a completed build run
    with its inputs."""
    start_run(con, run_id, "build-warehouse", {}, as_of=AS_OF)
    record_inputs(con, run_id)
    _given_core(con, [*FEEDBACK, LATE] if late else FEEDBACK)
    given(con, "marts.management_monthly", pl.DataFrame(mart_rows(late), infer_schema_length=None))
    set_build_variables(con, as_of=AS_OF, reporting_timezone="Europe/Moscow")
    for layer, name in BUILT:
        materialize_sql(con, layer, name)
    finish_run(con, run_id, "completed")


def built_warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    land_batch(con, "web_form:b1", "web_form/october.jsonl")
    build(con, "build-1")
    return con


LATE = feedback_row("F7", utc(2026, 10, 30, 9), "retail", "complaint", "поздняя жалоба", type_id="rude_staff")
