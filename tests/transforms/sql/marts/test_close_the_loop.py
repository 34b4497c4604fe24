"""core.fct_contact_requests and marts.close_the_loop_monthly on a hand-made month, through the real
core models (core.fct_feedback with its flags, the monthly facts).

The fixture, October 2026 (Europe/Moscow), all times UTC. Requests ("contact me" items):
- r1 web:1, 05.10 10:00, case c1 (retail / m_orlov; the item itself was routed to logistics, the
  case's owner wins): first contact 10:40 (within 1 h), closed. Final survey FS-1 at 18:00: tNPS 10,
  solved yes.
- r2 web:2, 06.10 09:00, case c2 (retail / m_orlov): first contact 10:30 (90 min: late), closed. Two
  final-survey responses: FS-2a at 12:00 (tNPS 8, solved yes), FS-2b at 13:00 (tNPS 3, solved no);
  the later one tells the request's outcome, and both are answers of the month.
- r3 web:3, 07.10 09:00, case c3 (retail / m_orlov): first contact 09:20, still open; no answers.
- r4 app:4, 08.10 09:00, logistics, no manager, no case: only "requested".
- web:5 asked for contact but repeats another channel's item (a conversation repeat): not a request.
- web:6 did not ask for contact: not a request.
- r6 web:7, 31.10 22:30 UTC = 1 November in Moscow, case c6 (retail / m_orlov): contacted, closed.
Final-survey answers about cases no request opened, which count in tNPS and CES all the same:
- FS-8 at 20.10 12:00 about c8 (logistics / m_fedorov, opened by a complaint): tNPS 9, solved yes.
- FS-9 at 21.10 12:00 naming a case the CRM does not know: tNPS 6, solved no; the item's own owner
  (unassigned).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from tests.helpers import run_model
from tests.transforms.sql.marts.core_frames import NOV, OCT, build_core, case, given_core, item

H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def request(feedback_id: str, at: datetime, directorate_id: str = "retail", **fields: Any) -> dict[str, Any]:
    ids = {"feedback_id": feedback_id, "conversation_id": feedback_id}
    return item("complaint", directorate_id, received_at=at, has_contact_request=True, **(ids | fields))


def final_answer(response_id: str, case_id: str, at: datetime, tnps: float, solved: bool) -> dict[str, Any]:
    """One response of the final survey: one item with both answers (tNPS and "issue solved")."""
    feedback_id = f"ctl_final_survey:{response_id}"
    return item(
        "unclassified",
        "unassigned",
        feedback_id=feedback_id,
        conversation_id=feedback_id,
        channel_id="web_form",
        received_at=at,
        question_type="tnps",
        score_scale="0-10",
        score_raw=tnps,
        is_issue_solved=solved,
        case_ref=case_id,
    )


def feedback() -> list[dict[str, Any]]:
    return [
        request("web:1", utc(2026, 10, 5, 10), "logistics"),
        request("web:2", utc(2026, 10, 6, 9), manager_id="m_orlov"),
        request("web:3", utc(2026, 10, 7, 9), manager_id="m_orlov"),
        request("app:4", utc(2026, 10, 8, 9), "logistics", channel_id="telegram_bot"),
        request("web:5", utc(2026, 10, 9, 9), is_conversation_repeat=True, conversation_id="web:0"),
        item("complaint", feedback_id="web:6", conversation_id="web:6", received_at=utc(2026, 10, 9, 9)),
        request("web:7", utc(2026, 10, 31, 22, 30), manager_id="m_orlov"),
        item("complaint", "logistics", feedback_id="web:8", conversation_id="web:8", received_at=utc(2026, 10, 20, 9)),
        final_answer("FS-1", "c1", utc(2026, 10, 5, 18), 10.0, True),
        final_answer("FS-2a", "c2", utc(2026, 10, 6, 12), 8.0, True),
        final_answer("FS-2b", "c2", utc(2026, 10, 6, 13), 3.0, False),
        final_answer("FS-8", "c8", utc(2026, 10, 20, 12), 9.0, True),
        final_answer("FS-9", "c404", utc(2026, 10, 21, 12), 6.0, False),
    ]


def cases() -> list[dict[str, Any]]:
    orlov = {"directorate_id": "retail", "department_id": "stores_moscow", "manager_id": "m_orlov"}
    fedorov = {"directorate_id": "logistics", "department_id": "delivery", "manager_id": "m_fedorov"}
    minutes = timedelta(minutes=1)
    return [
        case(utc(2026, 10, 5, 10, 5), first_contact_after=35 * minutes, closed_after=5 * H, case_id="c1",
             feedback_id="web:1", **orlov),
        case(utc(2026, 10, 6, 9, 5), first_contact_after=85 * minutes, closed_after=2 * H, case_id="c2",
             feedback_id="web:2", under_review_after=H, **orlov),
        case(utc(2026, 10, 7, 9, 5), first_contact_after=15 * minutes, case_id="c3", feedback_id="web:3", **orlov),
        case(utc(2026, 10, 31, 22, 35), first_contact_after=25 * minutes, closed_after=9 * H, case_id="c6",
             feedback_id="web:7", **orlov) | {"opened_month": NOV},
        case(utc(2026, 10, 20, 9, 5), first_contact_after=H, closed_after=2 * H, case_id="c8",
             feedback_id="web:8", **fedorov),
    ]  # fmt: skip


@pytest.fixture
def built(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given_core(con, feedback=feedback(), cases=cases())
    build_core(con)
    return con


def requests(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    return {r["feedback_id"]: r for r in con.sql("select * from core.fct_contact_requests").pl().to_dicts()}


def test_one_row_per_contact_request_without_repeats(built: duckdb.DuckDBPyConnection) -> None:
    assert sorted(requests(built)) == ["app:4", "web:1", "web:2", "web:3", "web:7"]


def test_the_cases_owner_wins_and_a_request_without_case_keeps_the_items(built: duckdb.DuckDBPyConnection) -> None:
    owners = {k: (r["directorate_id"], r["manager_id"]) for k, r in requests(built).items()}
    assert owners["web:1"] == ("retail", "m_orlov")
    assert owners["app:4"] == ("logistics", "unassigned")


def test_milestones_of_each_request(built: duckdb.DuckDBPyConnection) -> None:
    got = {
        k: (r["is_contacted_within_1h"], r["is_resolved"], r["tnps_score"], r["is_solved"])
        for k, r in requests(built).items()
    }
    assert got == {
        "web:1": (True, True, 10.0, True),
        "web:2": (False, True, 3.0, False),  # 90 minutes; the later of two responses tells the outcome
        "web:3": (True, False, None, None),
        "app:4": (False, False, None, None),
        "web:7": (True, True, None, None),
    }


def test_an_answer_about_a_case_belongs_to_the_cases_owner(built: duckdb.DuckDBPyConnection) -> None:
    owners = built.sql(
        "select feedback_id, directorate_id, manager_id, case_id from core.fct_feedback where is_tnps_answer"
    ).fetchall()
    assert sorted(owners) == [
        ("ctl_final_survey:FS-1", "retail", "m_orlov", "c1"),
        ("ctl_final_survey:FS-2a", "retail", "m_orlov", "c2"),
        ("ctl_final_survey:FS-2b", "retail", "m_orlov", "c2"),
        ("ctl_final_survey:FS-8", "logistics", "m_fedorov", "c8"),
        ("ctl_final_survey:FS-9", "unassigned", "unassigned", None),  # no such case: its own routing
    ]


def mart(con: duckdb.DuckDBPyConnection) -> dict[tuple, dict]:
    rows = run_model(con, "marts", "close_the_loop_monthly").to_dicts()
    return {(r["report_month"], r["directorate_id"], r["manager_id"]): r for r in rows}


FUNNEL = (
    "contact_requested_count",
    "contacted_count",
    "contacted_within_1h_count",
    "resolved_count",
    "final_survey_answered_count",
)
SURVEY = ("tnps_answers_count", "tnps", "ces_answers_count", "ces_rate")


def test_funnel_counts_the_months_requests(built: duckdb.DuckDBPyConnection) -> None:
    funnel = {key: tuple(row[c] for c in FUNNEL) for key, row in mart(built).items()}
    # m_orlov in October: r1, r2, r3 requested and contacted; r1 and r3 within the hour; r1 and r2
    # closed and answered. r4 only asked.
    orlov, asked, nobody = (3, 3, 2, 2, 2), (1, 0, 0, 0, 0), (0, 0, 0, 0, 0)
    assert funnel == {
        (OCT, "retail", "m_orlov"): orlov,
        (OCT, "retail", "all"): orlov,
        (OCT, "logistics", "unassigned"): asked,
        (OCT, "logistics", "all"): asked,
        # owners with final-survey answers and no request of the month
        (OCT, "logistics", "m_fedorov"): nobody,
        (OCT, "unassigned", "unassigned"): nobody,
        (OCT, "unassigned", "all"): nobody,
        (OCT, "all", "all"): (4, 3, 2, 2, 2),
        (NOV, "retail", "m_orlov"): (1, 1, 1, 1, 0),
        (NOV, "retail", "all"): (1, 1, 1, 1, 0),
        (NOV, "all", "all"): (1, 1, 1, 1, 0),
    }


def test_under_review_is_a_stage_the_requests_may_pass(built: duckdb.DuckDBPyConnection) -> None:
    # only c2 (web:2, m_orlov, October) was escalated for a check
    under = {key: row["under_review_count"] for key, row in mart(built).items() if row["under_review_count"]}
    assert under == {(OCT, "retail", "m_orlov"): 1, (OCT, "retail", "all"): 1, (OCT, "all", "all"): 1}
    cases_monthly = built.sql(
        "select report_month, manager_id, sum(cases_under_review_count) from core.fct_cases_monthly group by all"
        " having sum(cases_under_review_count) > 0"
    ).fetchall()
    assert cases_monthly == [(OCT, "m_orlov", 1)]


def test_tnps_and_ces_count_every_final_survey_answer_of_the_month(built: duckdb.DuckDBPyConnection) -> None:
    survey = {key: tuple(row[c] for c in SURVEY) for key, row in mart(built).items()}
    # m_orlov: 10, 8 and 3 (one promoter, one passive, one detractor) → tNPS 0; solved yes, yes, no → 2/3
    assert survey[(OCT, "retail", "m_orlov")] == (3, 0.0, 3, pytest.approx(2 / 3))
    # c8 was opened by a complaint, not a "contact me": its answer counts all the same
    assert survey[(OCT, "logistics", "m_fedorov")] == (1, 100.0, 1, 1.0)
    assert survey[(OCT, "unassigned", "unassigned")] == (1, -100.0, 1, 0.0)
    # the company: 5 answers, promoters 10 and 9, detractors 3 and 6 → 0; solved 3 of 5
    assert survey[(OCT, "all", "all")] == (5, 0.0, 5, 0.6)
    assert survey[(NOV, "all", "all")] == (0, None, 0, None)


def test_rates_are_shares_of_the_requests(built: duckdb.DuckDBPyConnection) -> None:
    company = mart(built)[(OCT, "all", "all")]
    assert company["contacted_within_1h_rate"] == pytest.approx(2 / 4)
    assert company["resolved_rate"] == pytest.approx(2 / 4)
    assert company["final_survey_answered_rate"] == pytest.approx(2 / 4)
    assert (company["is_funnel_small_sample"], company["is_tnps_small_sample"]) == (True, True)


def test_the_suites_pass_on_the_fixture_and_catch_a_broken_funnel(built: duckdb.DuckDBPyConnection) -> None:
    from expectations import DataQualityError, validate_layer
    from tests.helpers import given

    given(built, "marts.close_the_loop_monthly", run_model(built, "marts", "close_the_loop_monthly"))
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    validate_layer(built, "core", run_id=None, as_of=as_of, tables={"core.fct_contact_requests"})
    validate_layer(built, "marts", run_id=None, as_of=as_of, tables={"marts.close_the_loop_monthly"})
    built.execute("update marts.close_the_loop_monthly set resolved_count = 99 where directorate_id = 'all'")
    with pytest.raises(DataQualityError, match="close_the_loop_monthly"):
        validate_layer(built, "marts", run_id=None, as_of=as_of, tables={"marts.close_the_loop_monthly"})


def test_month_of_a_request_is_the_moscow_one(built: duckdb.DuckDBPyConnection) -> None:
    assert requests(built)["web:7"]["report_month"] == date(2026, 11, 1)
