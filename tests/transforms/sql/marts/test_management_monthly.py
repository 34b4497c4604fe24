"""marts.management_monthly: hand-computed figures per (month, directorate) and for the company."""

import itertools
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import hypothesis
import polars as pl
import pytest
from hypothesis import strategies as st

import transforms
from tests.helpers import given, run_model
from transforms.review import NPS_SMALL_SAMPLE_ANSWERS

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
MART_SQL = Path(transforms.__file__).parent / "sql" / "marts" / "management_monthly.sql"
_ids = itertools.count()

FEEDBACK_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "channel_id": pl.String(),
    "received_at": pl.Datetime("us", "UTC"),
    "received_month": pl.Date(),
    "kind": pl.String(),
    "feedback_type_id": pl.String(),
    "directorate_id": pl.String(),
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
CASE_SLA_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "sla_policy_id": pl.String(),
    "directorate_id": pl.String(),
    "sla_state": pl.String(),
    "is_measured": pl.Boolean(),
    "is_breached": pl.Boolean(),
    "report_month": pl.Date(),
}
DIRECTORATES = pl.DataFrame(
    {
        "directorate_id": ["retail", "logistics", "unassigned"],
        "directorate_name": ["Розничная сеть", "Логистика и доставка", "Не распределено"],
        "head_name": ["Соколов А. В.", "Петрова Е. Н.", None],
    }
)


def item(kind: str = "thanks", directorate_id: str = "retail", month: date = OCT, **fields: Any) -> dict[str, Any]:
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


def nps_item(group: str, directorate_id: str = "retail", month: date = OCT) -> dict[str, Any]:
    score = {"promoter": 10.0, "passive": 8.0, "detractor": 3.0}[group]
    return item(
        "thanks",
        directorate_id,
        month,
        question_type="nps",
        score_scale="0-10",
        score_raw=score,
        nps_group=group,
    )


def nps_items(promoters: int, passives: int, detractors: int, **where: Any) -> list[dict[str, Any]]:
    groups = ["promoter"] * promoters + ["passive"] * passives + ["detractor"] * detractors
    return [nps_item(g, **where) for g in groups]


def clock(policy: str, state: str, directorate_id: str = "retail", month: date = OCT) -> dict[str, Any]:
    return {
        "case_id": f"c{next(_ids)}",
        "sla_policy_id": policy,
        "directorate_id": directorate_id,
        "sla_state": state,
        "is_measured": state != "not_started",
        "is_breached": state in ("breached", "open_breached"),
        "report_month": month,
    }


def build(
    con: duckdb.DuckDBPyConnection,
    feedback: Sequence[dict[str, Any]] = (),
    sla: Sequence[dict[str, Any]] = (),
    orders: Sequence[tuple[date, str, int]] = (),
    case_months: Sequence[date] = (),
) -> dict[tuple[date, str], dict[str, Any]]:
    given(con, "core.fct_feedback", pl.DataFrame(list(feedback), schema=FEEDBACK_COLUMNS))
    given(con, "core.fct_case_sla", pl.DataFrame(list(sla), schema=CASE_SLA_COLUMNS))
    given(
        con,
        "core.fct_cases",
        pl.DataFrame(
            {"case_id": [f"c{i}" for i in range(len(case_months))], "opened_month": list(case_months)},
            schema={"case_id": pl.String(), "opened_month": pl.Date()},
        ),
    )
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
    mart = run_model(con, "marts", "management_monthly")
    return {(r["report_month"], r["directorate_id"]): r for r in mart.to_dicts()}


def test_nps_of_5_promoters_2_passives_3_detractors_is_20(con: duckdb.DuckDBPyConnection) -> None:
    row = build(con, nps_items(5, 2, 3))[(OCT, "retail")]
    assert [row[k] for k in ("nps_answers_count", "promoters_count", "passives_count", "detractors_count")] == [
        10,
        5,
        2,
        3,
    ]
    assert row["nps"] == 20.0
    # se = sqrt((0.5 + 0.3 − 0.2²) / 10) = sqrt(0.076); 100 × 1.96 × se = 54.034…
    assert row["nps_ci_low"] == pytest.approx(20 - 196 * math.sqrt(0.076))
    assert row["nps_ci_high"] == pytest.approx(20 + 196 * math.sqrt(0.076))
    assert row["is_nps_small_sample"] is True


def test_nps_interval_is_clipped_to_plus_minus_100(con: duckdb.DuckDBPyConnection) -> None:
    row = build(con, nps_items(9, 0, 1))[(OCT, "retail")]
    # nps 80, se = sqrt((1.0 − 0.64) / 10) → 80 + 37.2 > 100
    assert (row["nps"], row["nps_ci_high"]) == (80.0, 100.0)
    assert row["nps_ci_low"] == pytest.approx(80 - 196 * math.sqrt(0.036))


def test_nps_counts_only_nps_questions_with_a_group(con: duckdb.DuckDBPyConnection) -> None:
    other_surveys = [
        nps_item("detractor") | {"question_type": "tnps"},
        nps_item("detractor") | {"question_type": "enps"},
        nps_item("detractor") | {"nps_group": None, "score_scale": "1-5"},
    ]
    row = build(con, nps_items(1, 0, 0) + other_surveys)[(OCT, "retail")]
    assert (row["nps_answers_count"], row["nps"]) == (1, 100.0)


def test_nps_is_null_without_answers(con: duckdb.DuckDBPyConnection) -> None:
    row = build(con, [item("complaint")])[(OCT, "retail")]
    assert (row["nps_answers_count"], row["nps"], row["nps_ci_low"], row["nps_ci_high"]) == (
        0,
        None,
        None,
        None,
    )
    assert row["is_nps_small_sample"] is True


@pytest.mark.parametrize(
    ("answers", "is_small"),
    [
        pytest.param(NPS_SMALL_SAMPLE_ANSWERS - 1, True, id="one-short"),
        pytest.param(NPS_SMALL_SAMPLE_ANSWERS, False, id="at-threshold"),
    ],
)
def test_small_sample_threshold_matches_the_review(
    con: duckdb.DuckDBPyConnection, answers: int, is_small: bool
) -> None:
    assert NPS_SMALL_SAMPLE_ANSWERS == 30
    assert build(con, nps_items(answers, 0, 0))[(OCT, "retail")]["is_nps_small_sample"] is is_small


def test_items_are_counted_by_kind_with_complaint_share(con: duckdb.DuckDBPyConnection) -> None:
    kinds = ["complaint"] * 3 + ["wish"] * 2 + ["thanks", "question", "unclassified"]
    rows = build(con, [item(k) for k in kinds])
    retail, logistics = rows[(OCT, "retail")], rows[(OCT, "logistics")]
    assert [retail[f"{k}_count"] for k in ("items", "complaints", "wishes", "thanks", "questions", "unclassified")] == [
        8,
        3,
        2,
        1,
        1,
        1,
    ]
    assert retail["complaint_share"] == 3 / 8
    assert (logistics["items_count"], logistics["complaint_share"]) == (0, None)


def repeat_of(first: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The same customer saying it again on another channel (core.int_feedback_conversations)."""
    repeat = item(first["kind"], first["directorate_id"], first["received_month"])
    return (
        repeat
        | {"channel_id": "telegram_bot", "conversation_id": first["feedback_id"]}
        | fields
        | {"is_conversation_repeat": True}
    )


def test_a_conversation_across_channels_counts_once_under_its_first_item(con: duckdb.DuckDBPyConnection) -> None:
    complaint = item("complaint")
    feedback = [
        complaint,
        repeat_of(complaint),
        repeat_of(complaint, directorate_id="logistics"),  # classified elsewhere: still the same conversation
        repeat_of(complaint, received_month=NOV),  # across a month end: counted in October
        *nps_items(1, 0, 0),
    ]
    rows = build(con, feedback)
    retail, logistics = rows[(OCT, "retail")], rows[(OCT, "logistics")]
    assert (retail["items_count"], retail["complaints_count"], retail["conversation_repeats_count"]) == (2, 1, 1)
    assert retail["complaint_share"] == 0.5
    assert (logistics["items_count"], logistics["complaints_count"], logistics["conversation_repeats_count"]) == (
        0,
        0,
        1,
    )
    assert (rows[(NOV, "retail")]["items_count"], rows[(NOV, "retail")]["conversation_repeats_count"]) == (0, 1)
    assert (rows[(OCT, "all")]["items_count"], rows[(OCT, "all")]["conversation_repeats_count"]) == (2, 2)


def test_a_repeated_nps_answer_is_not_a_second_answer(con: duckdb.DuckDBPyConnection) -> None:
    first = nps_item("detractor")
    row = build(
        con, [first, repeat_of(first, question_type="nps", score_scale="0-10", score_raw=3.0, nps_group="detractor")]
    )[(OCT, "retail")]
    assert (row["nps_answers_count"], row["detractors_count"], row["nps"]) == (1, 1, -100.0)


def test_csat_is_the_share_of_4_and_5_on_1_to_5_answers(con: duckdb.DuckDBPyConnection) -> None:
    def csat(score: float, scale: str = "1-5") -> dict[str, Any]:
        return item(question_type="csat", score_scale=scale, score_raw=score)

    ignored = [csat(9.0, "0-10"), csat(0.0), item(question_type="rating", score_scale="1-5", score_raw=5.0)]
    row = build(con, [csat(5.0), csat(4.0), csat(3.0), csat(1.0), *ignored])[(OCT, "retail")]
    assert (row["csat_answers_count"], row["csat_satisfied_count"], row["csat"]) == (4, 2, 0.5)


def test_sla_compliance_counts_decided_clocks_only(con: duckdb.DuckDBPyConnection) -> None:
    close = "close_within_24h"
    states = ["achieved"] * 6 + ["breached", "open_breached", "open_ok", "at_risk", "not_started"]
    sla = [clock(close, s) for s in states] + [clock("first_contact_within_1h", "achieved")]
    row = build(con, sla=sla)[(OCT, "retail")]
    assert [row[f"sla_close_24h_{k}"] for k in ("measured_count", "achieved_count", "breached_count")] == [
        8,
        6,
        2,
    ]
    assert row["sla_close_24h_compliance_rate"] == 6 / 8
    assert (row["sla_first_contact_1h_measured_count"], row["sla_first_contact_1h_compliance_rate"]) == (
        1,
        1.0,
    )


def test_open_breached_case_counts_as_breached_in_its_start_month(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, sla=[clock("close_within_24h", "open_breached", month=NOV)], feedback=[item(month=OCT)])
    assert rows[(NOV, "retail")]["sla_close_24h_breached_count"] == 1
    assert rows[(NOV, "retail")]["sla_close_24h_compliance_rate"] == 0.0
    assert rows[(OCT, "retail")]["sla_close_24h_measured_count"] == 0


def test_complaints_per_1000_orders(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(
        con,
        [item("complaint"), item("complaint"), item("complaint"), item("complaint", "logistics")],
        orders=[(OCT, "retail", 1500), (OCT, "logistics", 0)],
    )
    assert rows[(OCT, "retail")]["complaints_per_1000_orders"] == 2.0
    assert rows[(OCT, "logistics")]["complaints_per_1000_orders"] is None  # zero orders
    assert (
        rows[(OCT, "unassigned")]["orders_count"],
        rows[(OCT, "unassigned")]["complaints_per_1000_orders"],
    ) == (
        None,
        None,
    )
    assert rows[(OCT, "all")]["complaints_per_1000_orders"] == pytest.approx(4 / 1500 * 1000)


def test_every_directorate_appears_for_every_month_with_data(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [item(month=OCT)], orders=[(NOV, "logistics", 10)], case_months=[date(2026, 12, 1)])
    months = [OCT, NOV, date(2026, 12, 1)]
    assert sorted(rows) == sorted((m, d) for m in months for d in ("retail", "logistics", "unassigned", "all"))
    assert rows[(NOV, "retail")]["items_count"] == 0


def test_company_row_pools_the_counts_of_every_directorate(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        *nps_items(5, 0, 0, directorate_id="retail"),
        *nps_items(0, 0, 1, directorate_id="logistics"),
        item("complaint", "unassigned"),
    ]
    rows = build(con, feedback, sla=[clock("close_within_24h", "achieved", "logistics")], orders=[(OCT, "retail", 50)])
    company = rows[(OCT, "all")]
    assert (company["directorate_name"], company["is_company_total"]) == ("Вся компания", True)
    assert (company["items_count"], company["complaints_count"], company["nps_answers_count"]) == (7, 1, 6)
    assert company["nps"] == pytest.approx(100 * 4 / 6)  # pooled answers, not a mean of directorate NPS
    assert (company["sla_close_24h_measured_count"], company["orders_count"]) == (1, 50)
    assert rows[(OCT, "retail")]["is_company_total"] is False


def test_small_sample_threshold_is_the_one_in_the_sql() -> None:
    assert f"nps_answers_count < {NPS_SMALL_SAMPLE_ANSWERS}" in MART_SQL.read_text()


nps_groups = st.lists(st.sampled_from(["promoter", "passive", "detractor"]), min_size=1, max_size=120)


@hypothesis.settings(
    max_examples=40, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(groups=nps_groups)
def test_nps_is_within_bounds_and_equals_its_definition(con: duckdb.DuckDBPyConnection, groups: list[str]) -> None:
    row = build(con, [nps_item(g) for g in groups])[(OCT, "retail")]
    n, p, d = len(groups), groups.count("promoter"), groups.count("detractor")
    assert -100 <= row["nps_ci_low"] <= row["nps"] <= row["nps_ci_high"] <= 100
    assert row["nps"] == pytest.approx(100 * (p - d) / n)
    assert row["nps_answers_count"] == n


def test_columns(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [item()])
    assert list(next(iter(rows.values()))) == [
        "report_month",
        "directorate_id",
        "directorate_name",
        "is_company_total",
        "items_count",
        "complaints_count",
        "wishes_count",
        "thanks_count",
        "questions_count",
        "unclassified_count",
        "complaint_share",
        "conversation_repeats_count",
        "nps_answers_count",
        "promoters_count",
        "passives_count",
        "detractors_count",
        "nps",
        "nps_ci_low",
        "nps_ci_high",
        "is_nps_small_sample",
        "csat_answers_count",
        "csat_satisfied_count",
        "csat",
        "sla_close_24h_measured_count",
        "sla_close_24h_achieved_count",
        "sla_close_24h_breached_count",
        "sla_close_24h_compliance_rate",
        "sla_first_contact_1h_measured_count",
        "sla_first_contact_1h_achieved_count",
        "sla_first_contact_1h_breached_count",
        "sla_first_contact_1h_compliance_rate",
        "orders_count",
        "complaints_per_1000_orders",
    ]
