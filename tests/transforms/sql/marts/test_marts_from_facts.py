"""Property: every count of every feedback mart is the sum of the monthly facts over the mart's row, and
the monthly facts are the sums of the item flags (core.fct_feedback). Random months of items (kinds,
owners, stores, channels of customers and of employees, bot sessions, repeats, scores of every
question type), cases and clocks; the marts are built by their SQL and recomputed here in Polars.
"""

from datetime import UTC, date, datetime, timedelta

import duckdb
import hypothesis
import polars as pl
from hypothesis import strategies as st

from tests.helpers import run_model
from tests.transforms.sql.marts.core_frames import NOV, OCT, build_core, case, clock, given_core, item

KINDS = ("complaint", "wish", "thanks", "question", "other", "unclassified")
SCORED = {  # question type → (scale, lowest, highest)
    "nps": ("0-10", 0, 10),
    "tnps": ("0-10", 0, 10),
    "csat": ("1-5", 1, 5),
    "ces_effort": ("1-7", 1, 7),
    "rating": ("1-5", 1, 5),
}


@st.composite
def items(draw: st.DrawFn) -> dict:
    month = draw(st.sampled_from([OCT, NOV]))
    fields: dict = {
        "channel_id": draw(st.sampled_from(["web_form", "telegram_bot", "call_centre_notes"])),
        "department_id": draw(st.sampled_from([None, "stores_moscow", "delivery", "nowhere"])),
        "manager_id": draw(st.sampled_from([None, "m_orlov", "m_fedorov"])),
        "store_id": draw(st.sampled_from([None, None, "MSK-001", "NOWHERE-1"])),
        "feedback_type_id": draw(st.sampled_from([None, "delivery_late", "store_staff", "gone_type"])),
        "received_at": datetime(month.year, month.month, draw(st.integers(2, 27)), 12, tzinfo=UTC),
    }
    question = draw(st.sampled_from([None, None, *SCORED]))
    if question is not None:
        scale, low, high = SCORED[question]
        fields |= {"question_type": question, "score_scale": scale, "score_raw": float(draw(st.integers(low, high)))}
        if question == "tnps":
            fields["is_issue_solved"] = draw(st.sampled_from([None, True, False]))
    who = draw(st.sampled_from(["customer"] * 6 + ["employee", "session", "repeat"]))
    if who == "employee":
        fields |= {"channel_id": "employee_pulse_survey", "question_type": "enps", "score_scale": "0-10",
                   "score_raw": float(draw(st.integers(0, 10)))}  # fmt: skip
    elif who == "session":
        fields |= {"channel_id": "self_service_sessions", "self_service_outcome": draw(
            st.sampled_from(["resolved", "escalated", "abandoned"]))}  # fmt: skip
    elif who == "repeat":
        fields |= {"is_conversation_repeat": True}
    kind = draw(st.sampled_from(KINDS))
    return item(kind, draw(st.sampled_from(["retail", "logistics", "marketing"])), month, **fields)


@st.composite
def months(draw: st.DrawFn) -> tuple[list[dict], list[dict], list[dict]]:
    feedback = draw(st.lists(items(), min_size=1, max_size=60))
    opened = datetime(2026, 10, 14, 9, tzinfo=UTC)
    cases = [
        case(
            opened + timedelta(days=draw(st.integers(0, 30))),
            first_contact_after=draw(st.sampled_from([None, timedelta(minutes=30)])),
            closed_after=draw(st.sampled_from([None, timedelta(hours=5)])),
            reopened=draw(st.booleans()),
            directorate_id=draw(st.sampled_from(["retail", "logistics"])),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    for c in cases:
        c["reopened_count"] = int(c["reopened_count"] and c["closed_at"] is not None)
        c["opened_month"] = date(c["opened_at"].year, c["opened_at"].month, 1)
    states = ["achieved", "breached", "open_breached", "open_ok", "at_risk", "not_started"]
    clocks = [
        clock(
            draw(st.sampled_from(["close_within_24h", "first_contact_within_1h"])),
            draw(st.sampled_from(states)),
            draw(st.sampled_from(["retail", "logistics", "unassigned"])),
            draw(st.sampled_from([OCT, NOV])),
            cycle_number=draw(st.sampled_from([1, 1, 2])),
            elapsed_minutes=30.0,
        )
        for _ in range(draw(st.integers(0, 10)))
    ]
    return feedback, cases, clocks


KIND_COLUMNS = {
    "complaints_count": "complaint",
    "wishes_count": "wish",
    "thanks_count": "thanks",
    "questions_count": "question",
    "other_count": "other",
    "unclassified_count": "unclassified",
}


def by(frame: pl.DataFrame, keys: list[str], company: bool) -> pl.DataFrame:
    """The mart's counts from the monthly facts: items by kind, repeats and answers, per ``keys`` (and the
    company 'all' when ``company``)."""
    sums = [
        pl.col("items_count").sum(),
        pl.col("conversation_repeats_count").sum(),
        *(pl.col("items_count").filter(pl.col("kind") == kind).sum().alias(c) for c, kind in KIND_COLUMNS.items()),
        pl.col("nps_answers_count").sum(),
        pl.col("nps_promoters_count").sum().alias("promoters_count"),
        pl.col("nps_detractors_count").sum().alias("detractors_count"),
        pl.col("csi_high_count").sum(),
        pl.col("csi_low_count").sum(),
        pl.col("csat_answers_count").sum(),
        pl.col("csat_satisfied_count").sum(),
    ]
    grouped = frame.group_by(*keys).agg(sums)
    if company:
        totals = frame.group_by(*[k for k in keys if k != "directorate_id"]).agg(sums)
        grouped = pl.concat([grouped, totals.with_columns(directorate_id=pl.lit("all"))], how="diagonal_relaxed")
    return grouped


def compare(mart: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> None:
    columns = [c for c in expected.columns if c not in keys]
    got = mart.select(*keys, *columns)
    joined = expected.join(got, on=keys, how="left", suffix="_mart", nulls_equal=True)
    for column in columns:
        wrong = joined.filter(pl.col(column).fill_null(0) != pl.col(f"{column}_mart").fill_null(0))
        shown = wrong.select(*keys, column, f"{column}_mart").rows()[:3]
        assert wrong.is_empty(), f"{column}: {shown}"


@hypothesis.settings(
    max_examples=12, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(data=months())
def test_every_feedback_mart_is_the_sum_of_the_monthly_facts(
    con: duckdb.DuckDBPyConnection, data: tuple[list[dict], list[dict], list[dict]]
) -> None:
    feedback, cases, clocks = data
    given_core(con, feedback=feedback, cases=cases, sla=clocks)
    build_core(con)
    facts = con.sql("select * from core.fct_feedback_monthly").pl()
    items = con.sql("select * from core.fct_feedback").pl()

    # the monthly facts are the sums of the item flags
    assert facts["contacts_count"].sum() == items.height
    assert facts["items_count"].sum() == items["is_counted_item"].sum()
    for flag in ("nps_answer", "csat_answer", "tnps_answer", "ces_answer", "enps_answer", "self_service_session"):
        assert facts[f"{flag}s_count"].sum() == items[f"is_{flag}"].sum(), flag
    # kinds add up to items; employees' answers and sessions are never items
    assert (facts["items_count"].sum()) == items.filter(
        (pl.col("audience") == "customer") & ~pl.col("is_conversation_repeat") & ~pl.col("is_self_service_session")
    ).height

    customers = facts.filter(pl.col("audience") == "customer")
    management = run_model(con, "marts", "management_monthly")
    expected = by(customers, ["report_month", "directorate_id"], company=True)
    compare(management, expected, ["report_month", "directorate_id"])
    kinds = management.select(pl.sum_horizontal(*KIND_COLUMNS) == pl.col("items_count")).to_series()
    assert kinds.all(), "the kinds add up to items in every row"
    enps = management.filter(pl.col("directorate_id") == "all")["enps_answers_count"].sum()
    assert enps == facts["enps_answers_count"].sum()

    owner = run_model(con, "marts", "owner_monthly")
    compare(owner, by(customers, ["report_month", "directorate_id", "department_id", "manager_id"], False),
            ["report_month", "directorate_id", "department_id", "manager_id"])  # fmt: skip
    store = run_model(con, "marts", "store_monthly")
    compare(store, by(customers.filter(pl.col("store_id").is_not_null()), ["report_month", "store_id"], False),
            ["report_month", "store_id"])  # fmt: skip
    types = run_model(con, "marts", "feedback_type_monthly")
    type_counts = by(customers, ["report_month", "feedback_type_id", "directorate_id"], False).filter(
        (pl.col("items_count") + pl.col("conversation_repeats_count")) > 0
    )
    type_keys = ["report_month", "feedback_type_id", "directorate_id"]
    compare(types, type_counts.select(*type_keys, "items_count", *KIND_COLUMNS), type_keys)

    channel = run_model(con, "marts", "channel_monthly")
    contacts = facts.group_by("report_month", "channel_id").agg(
        pl.col("contacts_count").sum(), pl.col("items_count").sum(), pl.col("self_service_sessions_count").sum()
    )
    compare(channel, contacts, ["report_month", "channel_id"])

    sla = run_model(con, "marts", "sla_compliance_monthly")
    clock_facts = con.sql("select * from core.fct_sla_monthly where is_first_cycle").pl()
    measured = clock_facts.group_by("report_month", "directorate_id", "sla_policy_id").agg(
        (pl.col("achieved_count") + pl.col("breached_count") + pl.col("open_breached_count"))
        .sum()
        .alias("measured_count"),
        pl.col("achieved_count").sum(),
    )
    compare(sla, measured, ["report_month", "directorate_id", "sla_policy_id"])

    loop = run_model(con, "marts", "close_the_loop_monthly")
    answers = facts.group_by("report_month").agg(pl.col("tnps_answers_count").sum(), pl.col("ces_answers_count").sum())
    company_loop = loop.filter((pl.col("directorate_id") == "all") & (pl.col("manager_id") == "all"))
    compare(company_loop, answers, ["report_month"])
