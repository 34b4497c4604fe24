"""core.fct_contact_requests and marts.close_the_loop_monthly on a hand-made month (given/expect).

The fixture, October 2026 (Europe/Moscow), all times UTC:
- r1 web:1, 05.10 10:00, case c1 (retail / m_orlov; the item itself was routed to ecommerce, the
  case's owner wins): first contact 10:40 (within 1 h), closed; final answers tNPS 10, solved yes.
- r2 web:2, 06.10 09:00, case c2 (retail / m_orlov): first contact 10:30 (90 min: late), closed;
  tNPS answered twice, 8 at 12:00 then 3 at 13:00 (the latest, 3, counts), solved no.
- r3 web:3, 07.10 09:00, case c3 (retail / m_orlov): first contact 09:20, still open; no answers.
- r4 app:4, 08.10 09:00, ecommerce, no manager, no case: only "requested".
- web:5 asked for contact but repeats another channel's item (a conversation repeat): left out.
- web:6 did not ask for contact: left out.
- r6 web:7, received_month November, case c6 (retail / m_orlov): contacted in 30 min, closed.
"""

from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest

from tests.helpers import given, run_model

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def feedback() -> pl.DataFrame:
    rows = [
        ("web:1", "web_form", "ecommerce", None, utc(2026, 10, 5, 10), OCT, True, False),
        ("web:2", "web_form", "retail", "m_orlov", utc(2026, 10, 6, 9), OCT, True, False),
        ("web:3", "web_form", "retail", "m_orlov", utc(2026, 10, 7, 9), OCT, True, False),
        ("app:4", "app_reviews", "ecommerce", None, utc(2026, 10, 8, 9), OCT, True, False),
        ("web:5", "web_form", "retail", "m_orlov", utc(2026, 10, 9, 9), OCT, True, True),
        ("web:6", "web_form", "retail", "m_orlov", utc(2026, 10, 9, 9), OCT, False, False),
        ("web:7", "web_form", "retail", "m_orlov", utc(2026, 10, 31, 22, 30), NOV, True, False),
    ]
    columns = [
        "feedback_id",
        "channel_id",
        "directorate_id",
        "manager_id",
        "received_at",
        "received_month",
        "has_contact_request",
        "is_conversation_repeat",
    ]
    return pl.DataFrame(rows, schema=columns, orient="row")


def classified() -> pl.DataFrame:
    rows = [
        ("ctl:FS-1", "c1", "tnps", "0-10", 10.0, utc(2026, 10, 5, 18)),
        ("ctls:FS-1", "c1", "ces_solved", "yes_no", 1.0, utc(2026, 10, 5, 18)),
        ("ctl:FS-2a", "c2", "tnps", "0-10", 8.0, utc(2026, 10, 6, 12)),
        ("ctl:FS-2b", "c2", "tnps", "0-10", 3.0, utc(2026, 10, 6, 13)),
        ("ctls:FS-2", "c2", "ces_solved", "yes_no", 0.0, utc(2026, 10, 6, 13)),
        ("web:1", None, None, "none", None, utc(2026, 10, 5, 10)),
    ]
    columns = ["feedback_id", "case_ref", "question_type", "score_scale", "score_raw", "received_at"]
    return pl.DataFrame(rows, schema=columns, orient="row")


def cases() -> pl.DataFrame:
    rows = [
        (
            "c1",
            "web:1",
            "retail",
            "m_orlov",
            utc(2026, 10, 5, 10, 5),
            utc(2026, 10, 5, 10, 40),
            utc(2026, 10, 5, 15),
            False,
        ),
        (
            "c2",
            "web:2",
            "retail",
            "m_orlov",
            utc(2026, 10, 6, 9, 5),
            utc(2026, 10, 6, 10, 30),
            utc(2026, 10, 6, 11),
            False,
        ),
        ("c3", "web:3", "retail", "m_orlov", utc(2026, 10, 7, 9, 5), utc(2026, 10, 7, 9, 20), None, True),
        (
            "c6",
            "web:7",
            "retail",
            "m_orlov",
            utc(2026, 10, 31, 22, 35),
            utc(2026, 10, 31, 23),
            utc(2026, 11, 1, 8),
            False,
        ),
    ]
    columns = [
        "case_id",
        "feedback_id",
        "directorate_id",
        "manager_id",
        "opened_at",
        "first_contact_at",
        "closed_at",
        "is_open",
    ]
    return pl.DataFrame(rows, schema=columns, orient="row")


@pytest.fixture
def requests(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    given(con, "core.fct_feedback", feedback())
    given(con, "core.int_feedback_classified", classified())
    given(con, "core.fct_cases", cases())
    return run_model(con, "core", "fct_contact_requests")


def test_one_row_per_contact_request_without_repeats(requests: pl.DataFrame) -> None:
    assert sorted(requests["feedback_id"]) == ["app:4", "web:1", "web:2", "web:3", "web:7"]


def test_the_cases_owner_wins_and_a_request_without_case_keeps_the_items(requests: pl.DataFrame) -> None:
    owners = {r["feedback_id"]: (r["directorate_id"], r["manager_id"]) for r in requests.to_dicts()}
    assert owners["web:1"] == ("retail", "m_orlov")
    assert owners["app:4"] == ("ecommerce", "unassigned")


def test_milestones_of_each_request(requests: pl.DataFrame) -> None:
    got = {
        r["feedback_id"]: (r["is_contacted_within_1h"], r["is_resolved"], r["tnps_score"], r["is_solved"])
        for r in requests.to_dicts()
    }
    assert got == {
        "web:1": (True, True, 10.0, True),
        "web:2": (False, True, 3.0, False),  # 90 minutes; the later of two tNPS answers
        "web:3": (True, False, None, None),
        "app:4": (False, False, None, None),
        "web:7": (True, True, None, None),
    }


def mart(con: duckdb.DuckDBPyConnection, requests: pl.DataFrame) -> dict[tuple, dict]:
    given(con, "core.fct_contact_requests", requests)
    rows = run_model(con, "marts", "close_the_loop_monthly").to_dicts()
    return {(r["report_month"], r["directorate_id"], r["manager_id"]): r for r in rows}


FUNNEL = (
    "contact_requested_count",
    "contacted_count",
    "contacted_within_1h_count",
    "resolved_count",
    "final_survey_answered_count",
    "tnps_answers_count",
    "tnps",
    "ces_answers_count",
    "ces_rate",
)


def test_funnel_per_owner_directorate_and_company(con: duckdb.DuckDBPyConnection, requests: pl.DataFrame) -> None:
    rows = mart(con, requests)
    funnel = {key: tuple(row[c] for c in FUNNEL) for key, row in rows.items()}
    # m_orlov in October: r1, r2, r3 requested and contacted; r1 and r3 within the hour; r1 and r2
    # closed and answered; tNPS one promoter (10) and one detractor (3) of 2 = 0; solved 1 of 2.
    orlov = (3, 3, 2, 2, 2, 2, 0.0, 2, 0.5)
    # r4 only asked: every later stage 0, tNPS and CES undefined.
    ecommerce = (1, 0, 0, 0, 0, 0, None, 0, None)
    assert funnel == {
        (OCT, "retail", "m_orlov"): orlov,
        (OCT, "retail", "all"): orlov,
        (OCT, "ecommerce", "unassigned"): ecommerce,
        (OCT, "ecommerce", "all"): ecommerce,
        (OCT, "all", "all"): (4, 3, 2, 2, 2, 2, 0.0, 2, 0.5),
        (NOV, "retail", "m_orlov"): (1, 1, 1, 1, 0, 0, None, 0, None),
        (NOV, "retail", "all"): (1, 1, 1, 1, 0, 0, None, 0, None),
        (NOV, "all", "all"): (1, 1, 1, 1, 0, 0, None, 0, None),
    }


def test_rates_are_shares_of_the_requests(con: duckdb.DuckDBPyConnection, requests: pl.DataFrame) -> None:
    company = mart(con, requests)[(OCT, "all", "all")]
    assert company["contacted_within_1h_rate"] == pytest.approx(2 / 4)
    assert company["resolved_rate"] == pytest.approx(2 / 4)
    assert company["final_survey_answered_rate"] == pytest.approx(2 / 4)


def test_the_suites_pass_on_the_fixture_and_catch_a_broken_funnel(
    con: duckdb.DuckDBPyConnection, requests: pl.DataFrame
) -> None:
    from expectations import DataQualityError, validate_layer

    given(con, "core.fct_contact_requests", requests)
    given(con, "marts.close_the_loop_monthly", run_model(con, "marts", "close_the_loop_monthly"))
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    validate_layer(con, "core", run_id=None, as_of=as_of, tables={"core.fct_contact_requests"})
    validate_layer(con, "marts", run_id=None, as_of=as_of, tables={"marts.close_the_loop_monthly"})
    con.execute("update marts.close_the_loop_monthly set resolved_count = 99 where directorate_id = 'all'")
    with pytest.raises(DataQualityError, match="close_the_loop_monthly"):
        validate_layer(con, "marts", run_id=None, as_of=as_of, tables={"marts.close_the_loop_monthly"})
