"""marts.management_monthly: hand-computed figures per (month, directorate) and for the company."""

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import hypothesis
import pytest
from hypothesis import strategies as st

import transforms
from tests.transforms.sql.marts.core_frames import NOV, OCT, case, clock, cost, given_core, item, run_mart, scored
from transforms.metrics import metric_constant
from transforms.model_specs import load_spec

SQL_DIR = Path(transforms.__file__).parent / "sql"
SMALL_SAMPLE_ANSWERS = 30


def nps_item(group: str, directorate_id: str = "retail", month: date = OCT) -> dict[str, Any]:
    score = {"promoter": 10.0, "passive": 8.0, "detractor": 3.0}[group]
    return item(
        "thanks",
        directorate_id,
        month,
        question_type="nps",
        score_scale="0-10",
        score_raw=score,
    )


def nps_items(promoters: int, passives: int, detractors: int, **where: Any) -> list[dict[str, Any]]:
    groups = ["promoter"] * promoters + ["passive"] * passives + ["detractor"] * detractors
    return [nps_item(g, **where) for g in groups]


def build(
    con: duckdb.DuckDBPyConnection,
    feedback: Sequence[dict[str, Any]] = (),
    sla: Sequence[dict[str, Any]] = (),
    orders: Sequence[tuple[date, str, int]] = (),
    case_months: Sequence[date] = (),
    cases: Sequence[dict[str, Any]] = (),
    costs: Sequence[dict[str, Any]] = (),
) -> dict[tuple[date, str], dict[str, Any]]:
    opened = [case(datetime(m.year, m.month, 15, 12, tzinfo=UTC)) for m in case_months]
    given_core(con, feedback=feedback, cases=[*cases, *opened], sla=sla, orders=orders, costs=costs)
    return run_mart(con, "management_monthly", "report_month", "directorate_id")


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
        nps_item("detractor") | {"score_scale": "1-5"},
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
        pytest.param(SMALL_SAMPLE_ANSWERS - 1, True, id="one-short"),
        pytest.param(SMALL_SAMPLE_ANSWERS, False, id="at-threshold"),
    ],
)
def test_the_nps_flag_turns_at_the_threshold(con: duckdb.DuckDBPyConnection, answers: int, is_small: bool) -> None:
    assert metric_constant("small_sample_answers") == SMALL_SAMPLE_ANSWERS
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
    month = first["received_at"].date().replace(day=1)
    repeat = item(first["kind"], first["directorate_id"], month)
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
        repeat_of(complaint, received_at=datetime(2026, 11, 10, tzinfo=UTC)),  # across a month end: counted in October
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
    row = build(con, [first, repeat_of(first, question_type="nps", score_scale="0-10", score_raw=3.0)])[(OCT, "retail")]
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


def test_the_small_sample_threshold_is_written_once() -> None:
    """30 lives in the macro small_sample_answers() of transforms/sql/metrics.sql; every flag of a mart
    calls is_small_sample, and Python asks the macro (metric_constant) instead of repeating it."""
    assert metric_constant("small_sample_answers") == 30
    for path in [*(SQL_DIR / "marts").glob("*.sql"), *(SQL_DIR / "core").glob("*.sql")]:
        text = path.read_text(encoding="utf-8")
        assert "< 30" not in text and "<30" not in text, path.name


def test_every_rate_has_its_n_and_a_small_sample_flag(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [item()])
    columns = list(next(iter(rows.values())))
    rates = [c for c in columns if c.endswith(("_rate", "_share")) or c in RATE_LIKE]
    assert rates, "the mart has rates"
    for rate in rates:
        flag = SMALL_SAMPLE_FLAG.get(rate, f"is_{rate}_small_sample")
        assert flag in columns, f"{rate} has no small-sample flag {flag}"


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


# Figures that are rates without the word in their name, and the flags named after their figure group.
RATE_LIKE = {"nps", "csat", "csi", "enps", "tnps", "ces_effort", "complaints_per_1000_orders", "cost_per_contact_rub"}
SMALL_SAMPLE_FLAG = {
    "sla_close_24h_compliance_rate": "is_sla_close_24h_small_sample",
    "sla_first_contact_1h_compliance_rate": "is_sla_first_contact_1h_small_sample",
    "ces_rate": "is_ces_small_sample",
    "self_service_share": "is_self_service_small_sample",
    "cost_per_contact_rub": "is_cost_per_contact_small_sample",
}


def test_columns_are_the_declared_ones(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [item()])
    assert list(next(iter(rows.values()))) == list(load_spec("marts", "management_monthly").columns)


# ---------------------------------------------------------------- eNPS, CSI, cases, cost per contact
H = timedelta(hours=1)
NOON_OCT = datetime(2026, 10, 14, 9, tzinfo=UTC)  # 12:00 in Moscow


def test_enps_is_nps_over_the_employee_survey_only(con: duckdb.DuckDBPyConnection) -> None:
    # the pulse survey's audience is employees: 3 promoters, 1 passive, 2 detractors
    employees = [scored(s, "enps", kind="complaint", channel_id="employee_pulse_survey") for s in (10, 9, 9, 8, 6, 2)]
    # an "enps" answer on a customer channel is no employee's answer
    misfiled = scored(10, "enps", channel_id="web_form")
    row = build(con, [*employees, misfiled, scored(0)])[(OCT, "retail")]
    assert [row[k] for k in ("enps_answers_count", "enps_promoters_count", "enps_passives_count")] == [6, 3, 1]
    assert row["enps_detractors_count"] == 2
    assert row["enps"] == pytest.approx(100 * (3 - 2) / 6)  # 16.67
    # p_P = 0.5, p_D = 1/3: se = sqrt((0.5 + 0.3333 − 0.1667²) / 6) = sqrt(0.80556 / 6) = 0.366414
    assert row["enps_ci_low"] == pytest.approx(16.6667 - 196 * 0.366414, abs=0.01)  # −55.15
    assert row["enps_ci_high"] == pytest.approx(16.6667 + 196 * 0.366414, abs=0.01)  # 88.48
    assert row["is_enps_small_sample"] is True
    assert (row["nps_answers_count"], row["nps"]) == (1, -100.0)  # the customers' 0 is not an employee's
    # employees are an audience of their own: their answers (even their complaints) are no customer items
    assert (row["items_count"], row["complaints_count"]) == (2, 0)


def test_csi_is_high_scores_over_low_scores_with_0_among_the_low(con: duckdb.DuckDBPyConnection) -> None:
    # high 8–10: 10, 9, 8, 8 → 4; low 0–3: 0, 3 → 2; 4–7 count in neither
    scores = [10, 9, 8, 8, 7, 5, 4, 3, 0]
    row = build(con, [scored(s) for s in scores])[(OCT, "retail")]
    assert (row["csi_answers_count"], row["csi_high_count"], row["csi_low_count"]) == (9, 4, 2)
    assert row["csi"] == 2.0
    assert row["is_csi_small_sample"] is True


def test_csi_is_undefined_without_low_scores(con: duckdb.DuckDBPyConnection) -> None:
    row = build(con, [scored(10), scored(9), scored(5)])[(OCT, "retail")]
    assert (row["csi_high_count"], row["csi_low_count"], row["csi"]) == (2, 0, None)


def test_case_figures_by_directorate_and_pooled_for_the_company(con: duckdb.DuckDBPyConnection) -> None:
    cases = [
        # retail: first contacts after 0.5 h, 1 h, 3 h; closes after 2 h, 10 h (one reopened), one open
        case(NOON_OCT, first_contact_after=0.5 * H, closed_after=2 * H),
        case(NOON_OCT, first_contact_after=1 * H, closed_after=10 * H, reopened=True),
        case(NOON_OCT, first_contact_after=3 * H),
        # logistics: one closed with no contact, one contacted only after it was closed
        case(NOON_OCT, closed_after=0.25 * H, directorate_id="logistics"),
        case(NOON_OCT, first_contact_after=30 * H, closed_after=4 * H, directorate_id="logistics"),
    ]
    rows = build(con, cases=cases)
    retail, logistics, company = rows[(OCT, "retail")], rows[(OCT, "logistics")], rows[(OCT, "all")]
    assert [retail[k] for k in ("cases_count", "cases_closed_count", "cases_reopened_count")] == [3, 2, 1]
    assert retail["reopen_rate"] == 0.5  # 1 reopened of 2 closed
    # first contact 0.5, 1, 3 → median 1; p90 at rank 0.9 × 2 = 1.8 → 1 + 0.8 × (3 − 1) = 2.6
    assert (retail["first_contact_hours_median"], retail["first_contact_hours_p90"]) == (1.0, pytest.approx(2.6))
    assert retail["cases_contacted_count"] == 3
    # close 2, 10 → median 6; p90 at rank 0.9 → 2 + 0.9 × 8 = 9.2
    assert (retail["close_hours_median"], retail["close_hours_p90"]) == (6.0, pytest.approx(9.2))
    assert logistics["first_contact_hours_median"] == 30.0
    # company pools the 5 cases: first contacts 0.5, 1, 3, 30 → median 2; closes 2, 10, 0.25, 4 → median 3
    assert [company[k] for k in ("cases_count", "cases_closed_count", "cases_reopened_count")] == [5, 4, 1]
    assert company["reopen_rate"] == 0.25
    assert (company["first_contact_hours_median"], company["close_hours_median"]) == (2.0, 3.0)
    # p90 of 0.25, 2, 4, 10: rank 2.7 → 4 + 0.7 × 6 = 8.2
    assert company["close_hours_p90"] == pytest.approx(8.2)


def session(outcome: str, directorate_id: str = "retail") -> dict[str, Any]:
    """A chat-bot session: an issue, not a feedback item."""
    return item("question", directorate_id, channel_id="self_service_sessions", self_service_outcome=outcome)


def test_self_service_share_is_issues_the_bot_resolved_of_all_issues(con: duckdb.DuckDBPyConnection) -> None:
    # retail: 3 sessions resolved by the bot, 1 escalated and 1 abandoned; 2 cases people handled
    sessions = [session("resolved")] * 3 + [session("escalated"), session("abandoned")]
    sessions = [
        dict(s, feedback_id=f"self_service_sessions:{i}", conversation_id=f"self_service_sessions:{i}")
        for i, s in enumerate(sessions)
    ]
    cases = [case(NOON_OCT, closed_after=H), case(NOON_OCT)]
    rows = build(con, [*sessions, item("complaint")], cases=cases)
    retail = rows[(OCT, "retail")]
    assert (retail["self_service_sessions_count"], retail["self_service_resolved_count"]) == (5, 3)
    # issues = 3 resolved before any contact + 2 cases; the escalated one reached people as a case
    assert (retail["issues_count"], retail["self_service_share"]) == (5, 3 / 5)
    assert retail["is_self_service_small_sample"] is True
    # a session is an issue, not feedback: only the complaint is an item
    assert (retail["items_count"], retail["questions_count"]) == (1, 0)
    logistics = rows[(OCT, "logistics")]
    assert (logistics["issues_count"], logistics["self_service_share"]) == (0, None)


def test_a_case_opened_late_on_the_last_day_belongs_to_the_moscow_month(con: duckdb.DuckDBPyConnection) -> None:
    # 31 October 22:30 UTC is 1 November 01:30 in Moscow: core.fct_cases says November
    late = case(datetime(2026, 10, 31, 22, 30, tzinfo=UTC), closed_after=H) | {"opened_month": NOV}
    rows = build(con, cases=[late])
    assert rows[(NOV, "retail")]["cases_count"] == 1
    assert (OCT, "retail") not in rows


def test_cost_per_contact_spreads_each_channel_cost_over_its_contacts(con: duckdb.DuckDBPyConnection) -> None:
    web = [item("complaint", "retail") for _ in range(3)] + [item("thanks", "logistics")]
    chats = [item("complaint", "logistics", channel_id="telegram_bot") for _ in range(2)]
    first = chats[0]
    repeat = item("complaint", "logistics", channel_id="telegram_bot", conversation_id=first["feedback_id"])
    repeat["is_conversation_repeat"] = True
    calls = [item("complaint", "retail", channel_id="call_centre_notes")]  # no cost configured
    costs = [
        cost("web_form", date(2026, 1, 1), 8000),  # 4 contacts → 2,000 per contact
        cost("telegram_bot", date(2026, 1, 1), 9000, valid_to=OCT),  # replaced from October
        cost("telegram_bot", OCT, 6000),  # 3 contacts (2 items + 1 repeat) → 2,000 per contact... 6000 / 3
    ]
    rows = build(con, [*web, *chats, repeat, *calls], costs=costs)
    retail, logistics, company = rows[(OCT, "retail")], rows[(OCT, "logistics")], rows[(OCT, "all")]
    # retail: 3 web contacts × 2,000; its call is not costed
    assert (retail["costed_contacts_count"], retail["contact_cost_rub"]) == (3, 6000.0)
    assert retail["cost_per_contact_rub"] == 2000.0
    # logistics: 1 web × 2,000 + 3 telegram × 2,000 (the repeat is a contact too) = 8,000 over 4
    assert (logistics["costed_contacts_count"], logistics["contact_cost_rub"]) == (4, 8000.0)
    # company: the whole 8,000 + 6,000 of October over the 7 costed contacts
    assert (company["costed_contacts_count"], company["contact_cost_rub"]) == (7, 14000.0)
    assert company["cost_per_contact_rub"] == 2000.0


def test_cost_per_contact_is_null_without_a_cost_in_force(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [item("complaint")], costs=[cost("web_form", NOV, 1000)])  # from November only
    assert (rows[(OCT, "all")]["costed_contacts_count"], rows[(OCT, "all")]["cost_per_contact_rub"]) == (0, None)
