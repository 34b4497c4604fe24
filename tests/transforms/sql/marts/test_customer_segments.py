"""marts.customer_segments_monthly and marts.churn_by_nps_group_monthly, worked out by hand.

The CRM's history (times in UTC; months are Moscow's, UTC+3):
- A (b2c): a customer since 2025; refused on 5 October.
- B (b2c): since 2025; churned on 20 September.
- C (vip): since 2025; still a customer. Known to the channels by its phone only ("phone-C").
- D (b2c): a new card on 15 October.
- E (b2c): since 2025; churned on 1 August; back on 3 October.
- F (b2b): since 2025; churned on 30 September 22:00 UTC, which is 1 October 01:00 in Moscow: an
  October loss, and a customer at October's start.
- G (b2c): since 2025; churned on 20 October.
- A's card re-sent in June with the same status: no change. F and G share a phone ("shared"): an
  item from that phone belongs to neither.

Recommend answers in September: A 3 (detractor), C 10 (promoter, by phone), G 9 (promoter).
October's items: A's complaint, a b2b item from a customer the CRM does not know (X), an item with
no customer, and an item from the shared phone.
"""

from datetime import UTC, date, datetime, timedelta

import duckdb
import hypothesis
import pytest
from hypothesis import strategies as st

from tests.helpers import run_model
from tests.transforms.sql.marts.core_frames import build_core, customer_status, given_core, item, scored
from warehouse.sql_models import materialize_sql

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
SINCE = datetime(2025, 1, 1, 9, tzinfo=UTC)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


STATUSES = [
    customer_status("A", "current", SINCE),
    customer_status("A", "current", at(6, 1)),
    customer_status("A", "refused", at(10, 5)),
    customer_status("B", "current", SINCE),
    customer_status("B", "churned", at(9, 20)),
    customer_status("C", "current", SINCE, segment="vip", phone_key="phone-C"),
    customer_status("D", "current", at(10, 15)),
    customer_status("E", "current", SINCE),
    customer_status("E", "churned", at(8, 1)),
    customer_status("E", "current", at(10, 3)),
    customer_status("F", "current", SINCE, segment="b2b", phone_key="shared"),
    customer_status("F", "churned", at(9, 30, 22), segment="b2b"),
    customer_status("G", "current", SINCE, phone_key="shared"),
    customer_status("G", "churned", at(10, 20)),
]

FEEDBACK = [
    scored(3, month=SEP, customer_key="A"),
    scored(10, month=SEP, customer_key="phone-C"),
    scored(9, month=SEP, customer_key="G"),
    item("complaint", month=OCT, customer_key="A"),
    item("thanks", month=OCT, customer_key="X", segment="b2b"),
    item("thanks", month=OCT),
    item("wish", month=OCT, customer_key="shared"),
]


def build(con: duckdb.DuckDBPyConnection, mart: str, *key: str) -> dict[tuple, dict]:
    given_core(con, feedback=FEEDBACK, customer_statuses=STATUSES)
    build_core(con)
    con.execute("create schema if not exists marts")
    rows = run_model(con, "marts", mart).to_dicts()
    return {tuple(r[k] for k in key): r for r in rows}


@pytest.fixture
def segments(con: duckdb.DuckDBPyConnection) -> dict[tuple, dict]:
    return build(con, "customer_segments_monthly", "report_month", "segment")


def test_customers_at_the_start_and_the_months_changes_by_segment(segments: dict[tuple, dict]) -> None:
    october = segments[(OCT, "b2c")]
    # at the start: A and G (B churned in September, E came back only on the 3rd, D is new)
    assert october["customers_at_start_count"] == 2
    assert october["customers_new_count"] == 1  # D
    assert october["customers_returned_count"] == 1  # E
    assert october["customers_refused_count"] == 1  # A
    assert october["customers_churned_count"] == 1  # G
    assert october["customers_lost_count"] == 2
    assert october["churn_rate"] == pytest.approx(1.0)
    assert october["is_churn_rate_small_sample"] is True

    september = segments[(SEP, "b2c")]
    assert september["customers_at_start_count"] == 3  # A, B, G; E left in August; A's June re-send is no change
    assert september["customers_lost_count"] == 1  # B
    assert september["customers_returned_count"] == 0
    assert september["churn_rate"] == pytest.approx(1 / 3)


def test_a_loss_belongs_to_the_month_of_the_reporting_timezone(segments: dict[tuple, dict]) -> None:
    # F churned at 22:00 UTC on 30 September = 01:00 on 1 October in Moscow
    assert segments[(SEP, "b2b")]["customers_lost_count"] == 0
    assert segments[(OCT, "b2b")]["customers_at_start_count"] == 1
    assert segments[(OCT, "b2b")]["customers_churned_count"] == 1
    assert segments[(OCT, "vip")]["customers_at_start_count"] == 1
    assert segments[(OCT, "vip")]["churn_rate"] == 0


def test_items_take_the_crm_segment_through_any_identity(segments: dict[tuple, dict]) -> None:
    september_b2c, september_vip = segments[(SEP, "b2c")], segments[(SEP, "vip")]
    # A (3) and G (9): NPS (1 − 1) / 2 = 0; CSI 1 high ÷ 1 low
    assert september_b2c["items_count"] == 2
    assert september_b2c["customers_with_feedback_count"] == 2
    assert september_b2c["nps_answers_count"] == 2
    assert september_b2c["nps"] == pytest.approx(0)
    assert september_b2c["csi"] == pytest.approx(1.0)
    # C's answer came by phone: the CRM's vip segment
    assert september_vip["nps"] == pytest.approx(100)
    assert september_vip["csi"] is None  # no low answer
    # October: A's complaint is b2c; X's item keeps the channel's b2b; the anonymous item and the
    # shared phone's item have no segment
    assert segments[(OCT, "b2c")]["complaints_count"] == 1
    assert segments[(OCT, "b2c")]["complaint_share"] == pytest.approx(1.0)
    assert segments[(OCT, "b2b")]["items_count"] == 1
    assert segments[(OCT, "b2b")]["customers_with_feedback_count"] == 0
    assert segments[(OCT, "unknown")]["items_count"] == 2
    assert segments[(OCT, "vip")]["items_count"] == 0


def test_an_identity_two_customers_share_identifies_neither(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "customer_segments_monthly", "report_month", "segment")
    identities = dict(con.execute("select identity_key, customer_key from core.int_customer_identities").fetchall())
    assert identities["phone-C"] == "C"
    assert "shared" not in identities
    crm = dict(con.execute("select customer_key, crm_customer_key from core.fct_feedback").fetchall())
    assert crm["phone-C"] == "C"
    assert crm["shared"] is None


def test_detractors_churn_against_promoters(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, "churn_by_nps_group_monthly", "report_month", "nps_group")
    # September: nobody had answered before the month; A, B, C, F, G were customers; B left
    assert rows[(SEP, "no_answer")]["customers_at_start_count"] == 5
    assert rows[(SEP, "no_answer")]["customers_lost_count"] == 1
    assert (SEP, "detractor") not in rows
    # October, by the last answer before the month: A detractor (lost), C and G promoters (G lost),
    # F no answer (lost)
    detractor, promoter, none = rows[(OCT, "detractor")], rows[(OCT, "promoter")], rows[(OCT, "no_answer")]
    assert (detractor["customers_at_start_count"], detractor["customers_lost_count"]) == (1, 1)
    assert (promoter["customers_at_start_count"], promoter["customers_lost_count"]) == (2, 1)
    assert (none["customers_at_start_count"], none["customers_lost_count"]) == (1, 1)
    assert detractor["churn_rate"] == pytest.approx(1.0)
    assert promoter["churn_rate"] == pytest.approx(0.5)
    assert detractor["churn_rate_to_promoters"] == pytest.approx(2.0)
    assert promoter["churn_rate_to_promoters"] == pytest.approx(1.0)
    # twelve months pooled: no_answer is September's 1 of 5 and October's 1 of 1
    assert none["customers_at_start_12m_count"] == 6
    assert none["customers_lost_12m_count"] == 2
    assert none["churn_rate_12m"] == pytest.approx(2 / 6)
    assert detractor["churn_rate_12m_to_promoters"] == pytest.approx(2.0)


def test_an_answer_in_the_month_itself_does_not_group_the_customer(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [*FEEDBACK, scored(0, month=OCT, customer_key="G")]  # G's October answer comes too late
    given_core(con, feedback=feedback, customer_statuses=STATUSES)
    build_core(con)
    con.execute("create schema if not exists marts")
    rows = {
        (r["report_month"], r["nps_group"]): r for r in run_model(con, "marts", "churn_by_nps_group_monthly").to_dicts()
    }
    assert rows[(OCT, "promoter")]["customers_at_start_count"] == 2
    assert rows[(OCT, "detractor")]["customers_at_start_count"] == 1


AUG = date(2026, 8, 1)

# H left in July and came back in August (two current spans) and churns on 10 October; D, new on
# 15 October, churns on the 25th (a loss of a customer not at the month's start); B and H answered in
# August (B 2: detractor, H 9: promoter), and those answers make August a month of the marts, at whose
# start E (churned on 1 August, back on 3 October: two current spans too) is still a customer.
RETURNING = [
    customer_status("H", "current", SINCE),
    customer_status("H", "churned", at(7, 1)),
    customer_status("H", "current", at(8, 1)),
    customer_status("H", "churned", at(10, 10)),
    customer_status("D", "churned", at(10, 25)),
]
AUGUST_ANSWERS = [scored(2, month=AUG, customer_key="B"), scored(9, month=AUG, customer_key="H")]


def build_with_returning(con: duckdb.DuckDBPyConnection, mart: str, *key: str) -> dict[tuple, dict]:
    given_core(con, feedback=[*FEEDBACK, *AUGUST_ANSWERS], customer_statuses=[*STATUSES, *RETURNING])
    build_core(con)
    con.execute("create schema if not exists marts")
    return {tuple(r[k] for k in key): r for r in run_model(con, "marts", mart).to_dicts()}


def test_a_customer_with_several_current_spans_is_at_a_months_start_once(con: duckdb.DuckDBPyConnection) -> None:
    rows = build_with_returning(con, "customer_segments_monthly", "report_month", "segment")
    assert rows[(AUG, "b2c")]["customers_at_start_count"] == 4  # A, B, E, G; H came back on the 1st at noon
    assert rows[(AUG, "b2c")]["customers_churned_count"] == 1  # E
    assert rows[(SEP, "b2c")]["customers_at_start_count"] == 4  # A, B, G, H
    assert rows[(OCT, "b2c")]["customers_at_start_count"] == 3  # A, G, H
    assert rows[(OCT, "b2c")]["customers_churned_count"] == 3  # D, G, H: a loss counts wherever the card began
    assert rows[(OCT, "b2c")]["customers_lost_count"] == 4  # and A refused


def test_an_answer_groups_only_a_customer_at_the_months_start(con: duckdb.DuckDBPyConnection) -> None:
    rows = build_with_returning(con, "churn_by_nps_group_monthly", "report_month", "nps_group")
    counts = {key: (r["customers_at_start_count"], r["customers_lost_count"]) for key, r in rows.items()}
    # August: nobody had answered before; A, B, C, E, F, G were customers; E churned that day
    assert counts[(AUG, "no_answer")] == (6, 1)
    assert {group for month, group in counts if month == AUG} == {"no_answer"}
    # September: B (detractor, lost on the 20th) and H (promoter) by their August answers
    assert counts[(SEP, "detractor")] == (1, 1)
    assert counts[(SEP, "promoter")] == (1, 0)
    assert counts[(SEP, "no_answer")] == (4, 0)  # A, C, F, G
    # October: B left in September, so its August answer groups nobody; H is a promoter by its
    # August answer, with C and G by their September ones; H and G are lost, so are A and F; D, lost
    # too, was not a customer at the month's start
    assert counts[(OCT, "detractor")] == (1, 1)  # A
    assert counts[(OCT, "promoter")] == (3, 2)  # C, G, H
    assert counts[(OCT, "no_answer")] == (1, 1)  # F


# The customers at a month's start, against their definition: a CRM customer with a current span that
# began before the month's first instant (reporting timezone) and had not ended before it, counted once
# however many such spans they have. core.fct_customers_at_month_start, which both marts read, counts
# one-span customers by running sums over the months and the rest month by month; the spans below are
# drawn around the month starts, with several current spans a customer, and a span whose local end comes
# before its local start (a clock turned back).
MONTHS = (date(2026, 8, 1), SEP, OCT, date(2026, 11, 1))
_STARTS = [datetime(2026, m, 1) for m in (8, 9, 10, 11)]
INSTANTS = sorted(
    {datetime(2025, 6, 15)}
    | set(_STARTS)
    | {s - timedelta(minutes=1) for s in _STARTS}
    | {s + timedelta(minutes=1) for s in _STARTS}
    | {s + timedelta(days=14) for s in _STARTS}
)
span_strategy = st.tuples(
    st.sampled_from(("current", "current", "refused", "churned")),
    st.sampled_from(INSTANTS),
    st.one_of(st.none(), st.sampled_from(INSTANTS)),
)
customers_strategy = st.lists(
    st.tuples(st.sampled_from(("b2c", "b2b", "vip")), st.lists(span_strategy, min_size=1, max_size=3)),
    min_size=1,
    max_size=7,
)


def at_start_oracle(customers: list[tuple[str, list[tuple]]]) -> dict[tuple[date, str], int]:
    counts: dict[tuple[date, str], int] = {}
    for segment, spans in customers:
        for month in MONTHS:
            start = datetime(month.year, month.month, 1)
            if any(s == "current" and vf < start and (vt is None or vt >= start) for s, vf, vt in spans):
                counts[(month, segment)] = counts.get((month, segment), 0) + 1
    return counts


def given_spans(con: duckdb.DuckDBPyConnection, customers: list[tuple[str, list[tuple]]]) -> None:
    """The customers (customer-<n>, in their segment) and their spans, in core; the customers at each month's
    start counted again from them."""
    con.execute("delete from core.fct_customer_status_spans; delete from core.dim_customers")
    for number, (segment, spans) in enumerate(customers):
        key = f"customer-{number}"
        con.execute("insert into core.dim_customers (customer_key, segment) values (?, ?)", [key, segment])
        for index, (status, valid_from, valid_to) in enumerate(spans):
            con.execute(
                "insert into core.fct_customer_status_spans (customer_key, status, previous_status, valid_from,"
                " valid_to, valid_from_local, valid_to_local, is_loss) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    key,
                    status,
                    None if index == 0 else spans[index - 1][0],
                    valid_from.replace(tzinfo=UTC) + timedelta(seconds=index),  # the grain: one span an instant
                    None if valid_to is None else valid_to.replace(tzinfo=UTC),
                    valid_from,
                    valid_to,
                    status != "current" and index > 0 and spans[index - 1][0] == "current",
                ],
            )
    materialize_sql(con, "core", "int_customer_start_months")
    materialize_sql(con, "core", "fct_customers_at_month_start")


@hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(customers=customers_strategy)
def test_customers_at_a_months_start_match_their_definition(
    spans_con: duckdb.DuckDBPyConnection, customers: list[tuple[str, list[tuple]]]
) -> None:
    con = spans_con
    given_spans(con, customers)
    expected = at_start_oracle(customers)
    at_start = con.execute(
        "select report_month, segment, customers_at_start_count from core.fct_customers_at_month_start"
    ).fetchall()
    assert {(month, segment): count for month, segment, count in at_start} == expected
    assert len(at_start) == len(expected)  # one row a month and segment
    segments = run_model(con, "marts", "customer_segments_monthly").to_dicts()
    got = {(r["report_month"], r["segment"]): r["customers_at_start_count"] for r in segments}
    assert {k: v for k, v in got.items() if v} == expected
    churn = run_model(con, "marts", "churn_by_nps_group_monthly").to_dicts()
    by_month = {month: sum(v for (m, _), v in expected.items() if m == month) for month in MONTHS}
    for month in MONTHS:
        rows = [r for r in churn if r["report_month"] == month]
        assert sum(r["customers_at_start_count"] for r in rows) == by_month[month]
        assert (len(rows) > 0) == (by_month[month] > 0)  # a month nobody began has no row


@pytest.fixture
def spans_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Core built on one item in each of MONTHS; the tests write the spans and customers themselves."""
    given_core(con, feedback=[item(month=month) for month in MONTHS], customer_statuses=STATUSES[:1])
    build_core(con)
    con.execute("create schema if not exists marts")
    return con


# Churn by NPS group, against its definition: of the customers at a month's start, each in the group of
# their last recommend answer received (reporting timezone) in the twelve months before the month's first
# instant, or no_answer; lost when a loss of theirs began within the month. Answers are drawn at the month
# starts and at the edges of the twelve-month window, two customers may answer at one instant, and a
# customer may answer more than once.
_WINDOW_EDGES = [s.replace(year=s.year - 1) for s in _STARTS]
ANSWER_INSTANTS = sorted(
    set(INSTANTS)
    | set(_WINDOW_EDGES)
    | {s - timedelta(minutes=1) for s in _WINDOW_EDGES}
    | {s + timedelta(minutes=1) for s in _WINDOW_EDGES}
)
MOSCOW = timedelta(hours=3)  # the reporting timezone of build_core, without daylight saving
answers_strategy = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from(ANSWER_INSTANTS), st.sampled_from((0, 6, 7, 8, 9, 10))),
    max_size=10,
)


def nps_group_of(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def churn_oracle(customers: list[tuple[str, list[tuple]]], answers: list[tuple]) -> dict[tuple[date, str], tuple]:
    counts: dict[tuple[date, str], list[int]] = {}
    for number, (_, spans) in enumerate(customers):
        for month in MONTHS:
            start = datetime(month.year, month.month, 1)
            if not any(s == "current" and vf < start and (vt is None or vt >= start) for s, vf, vt in spans):
                continue
            window = [
                (at, score)
                for who, at, score in answers
                if who == number and start.replace(year=start.year - 1) <= at < start
            ]
            group = nps_group_of(max(window)[1]) if window else "no_answer"
            following = start.replace(month=start.month % 12 + 1, year=start.year + start.month // 12)
            lost = any(
                s != "current" and i > 0 and spans[i - 1][0] == "current" and start <= vf < following
                for i, (s, vf, _) in enumerate(spans)
            )
            row = counts.setdefault((month, group), [0, 0])
            row[0] += 1
            row[1] += lost
    return {key: tuple(value) for key, value in counts.items()}


@hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(customers=customers_strategy, answers=answers_strategy)
# an answer of August 2025 still groups its customer at August 2026's start, not at September's
@hypothesis.example(
    customers=[("b2c", [("current", datetime(2025, 6, 15), None)])], answers=[(0, _WINDOW_EDGES[0], 10)]
)
# lost in October: a promoter by the September answer, no longer a detractor by the August one (beside a
# customer without an answer, whose no_answer row would take a loss counted twice)
@hypothesis.example(
    customers=[
        (
            "b2c",
            [("current", datetime(2025, 6, 15), datetime(2026, 10, 15)), ("churned", datetime(2026, 10, 15), None)],
        ),
        ("b2c", [("current", datetime(2025, 6, 15), None)]),
    ],
    answers=[(0, datetime(2026, 8, 15), 0), (0, datetime(2026, 9, 15), 10)],
)
def test_churn_by_nps_group_matches_its_definition(
    spans_con: duckdb.DuckDBPyConnection, customers: list[tuple[str, list[tuple]]], answers: list[tuple]
) -> None:
    con = spans_con
    given_spans(con, customers)
    answers = [a for a in answers if a[0] < len(customers)]
    answers = list({(who, at): (who, at, score) for who, at, score in answers}.values())  # one answer an instant
    con.execute("delete from core.fct_feedback where is_nps_answer")
    for index, (who, at, score) in enumerate(answers):
        con.execute(
            "insert into core.fct_feedback (feedback_id, received_at, crm_customer_key, is_nps_answer, nps_group,"
            " is_counted_item) values (?, ?, ?, true, ?, false)",  # not counted: the months stay MONTHS
            [f"answer-{index}", (at - MOSCOW).replace(tzinfo=UTC), f"customer-{who}", nps_group_of(score)],
        )
    expected = churn_oracle(customers, answers)
    rows = run_model(con, "marts", "churn_by_nps_group_monthly").to_dicts()
    got = {
        (r["report_month"], r["nps_group"]): (r["customers_at_start_count"], r["customers_lost_count"]) for r in rows
    }
    assert got == expected
