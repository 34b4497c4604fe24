"""The clock models brought to a later clock from their own rows (transforms/sql/clock/) equal the models.

A scoped build (warehouse/scoped_build.py) does not compute again the cases the clock alone moved (a cycle
still open, no mark later than the last build's clock): ``KeyScope.advance`` moves their open cycles' ends to
the new clock. Here random cases are built at one clock and at a later one; the advance of the first
build's rows must give the second build's rows exactly, for every case it covers. And what the scoped build
maps through the views (transforms/incremental.py ``VIEWS``) must hold: of such a case, the settled marks do
not move, and its SLA events move only when its cycles' state does.
"""

from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.transforms.sql.core.sla_harness import REPORTING_TIMEZONE, event, given_sla
from tests.transforms.sql.core.test_fct_case_sla_reference import CONFIG
from transforms.incremental import SCOPES, VIEWS
from warehouse.sql_models import materialize_sql, set_build_variables

EVENT_TYPES = ("waiting_customer", "resumed", "resolved", "closed", "reopened", "first_contact")
MINUTES = st.one_of(st.integers(min_value=0, max_value=3 * 24 * 60), st.sampled_from([0, 1, 60, 480, 1440]))
CASES = st.lists(
    st.tuples(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)),
        st.lists(st.tuples(st.sampled_from(EVENT_TYPES), MINUTES), max_size=6),
    ),
    min_size=1,
    max_size=12,
)
# the two clocks in one calendar year: a new year changes the calendar's horizon, and the build then
# computes every clock whole (warehouse/scoped_build.py)
CLOCKS = st.tuples(
    st.datetimes(min_value=datetime(2026, 1, 2), max_value=datetime(2026, 12, 20), timezones=st.just(UTC)),
    st.one_of(st.integers(min_value=0, max_value=11 * 24 * 60), st.sampled_from([0, 1, 5, 60])),
)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> list[tuple]:
    return sorted(con.execute(sql, parameters).fetchall(), key=repr)


def _advanced(con: duckdb.DuckDBPyConnection, model: str, old: str, cases: list[str]) -> list[tuple]:
    """``model``'s advance select over ``old``'s rows of ``cases``, as the scoped build runs it."""
    con.execute("create or replace temp table _advance as select unnest(?::varchar[]) as k", [cases])
    con.execute(f"create or replace temp table _old as select * from {old} where case_id in (select k from _advance)")
    columns = ", ".join(r[0] for r in con.execute(f"describe core.{model}").fetchall())
    return _rows(con, f"select {columns} from ({SCOPES[f'core.{model}'].advance})")


def _view(con: duckdb.DuckDBPyConnection, table: str, model: str, cases: list[str]) -> list[tuple]:
    """The rows of ``cases`` in ``table`` as the view of ``core.<model>`` sees them (``VIEWS``)."""
    view = VIEWS[f"core.{model}"]
    columns = [r[0] for r in con.execute(f"describe {table}").fetchall() if r[0] not in view.ignored]
    where = f" and {view.rows}" if view.rows else ""
    return _rows(con, f"select {', '.join(columns)} from {table} where list_contains(?, case_id){where}", [cases])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=CASES, clocks=CLOCKS)
# the close policy (24 hours round the clock, at risk with a fifth left) at the later clock: exactly at its
# at-risk threshold (1,152 minutes run: not yet at risk), and exactly at its due time (not yet breached)
@example(cases=[(datetime(2026, 10, 5, 6, tzinfo=UTC), [])], clocks=(datetime(2026, 10, 5, 7, tzinfo=UTC), 1092))
@example(cases=[(datetime(2026, 10, 5, 6, tzinfo=UTC), [])], clocks=(datetime(2026, 10, 5, 7, tzinfo=UTC), 1380))
# events of one instant (a start, pauses and a resume together): numbered alike by every build, so that the
# rows the last build wrote are the rows this one would write (they were not, before the ties were ordered)
@example(
    cases=[
        (datetime(2026, 3, 19, 23, 15, tzinfo=UTC), [("waiting_customer", 0), ("waiting_customer", 0)]),
        (datetime(2026, 3, 20, 9, 15, tzinfo=UTC), [("resumed", 0), ("waiting_customer", 0), ("resumed", 0)]),
    ],
    clocks=(datetime(2026, 8, 2, 13, 57, tzinfo=UTC), 0),
)
def test_advanced_rows_are_the_models_rows_at_the_later_clock(
    con: duckdb.DuckDBPyConnection,
    cases: list[tuple[datetime, list[tuple[str, int]]]],
    clocks: tuple[datetime, int],
) -> None:
    first = clocks[0]
    later = min(first + timedelta(minutes=clocks[1]), datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    rows = []
    for n, (opened, events) in enumerate(cases):
        at = opened
        rows.append(event(f"c{n}", "opened", at, feedback_id=f"web_form:{n}"))
        for event_type, minutes in events:
            at += timedelta(minutes=minutes)
            rows.append(event(f"c{n}", event_type, at, feedback_id=f"web_form:{n}"))
    given_sla(con, rows, as_of=first, policies=CONFIG.policies, calendars=CONFIG.calendars)
    for model in ("fct_case_sla", "fct_sla_events"):
        materialize_sql(con, "core", model)
    for model in ("int_sla_clock_marks", "fct_case_sla", "fct_sla_events"):
        con.execute(f"create or replace table main.first_{model} as select * from core.{model}")
    # what the build records as ADVANCE_CASES: an open cycle, no mark after the last clock
    advance = [
        r[0]
        for r in con.execute(
            "select distinct case_id from core.int_sla_clock_marks where mark = 'as_of' and case_id not in"
            " (select case_id from core.int_sla_clock_marks where mark_at > ?) order by 1",
            [first],
        ).fetchall()
    ]
    set_build_variables(con, as_of=later, reporting_timezone=REPORTING_TIMEZONE)
    intervals = _rows(con, "select * from core.int_sla_calendar_intervals")
    for model in (
        "int_sla_calendar_intervals",
        "int_sla_clocks",
        "int_sla_clock_marks",
        "fct_case_sla",
        "fct_sla_events",
    ):
        materialize_sql(con, "core", model)
    assert _rows(con, "select * from core.int_sla_calendar_intervals") == intervals  # one calendar year
    if not advance:
        return

    marks = _advanced(con, "int_sla_clock_marks", "main.first_int_sla_clock_marks", advance)
    assert marks == _rows(con, "select * from core.int_sla_clock_marks where list_contains(?, case_id)", [advance])

    # of those, the cases fct_case_sla's advance covers (the scoped build computes the others)
    con.execute("create or replace temp table _old as select * from main.first_fct_case_sla")
    not_covered = {r[0] for r in con.execute(SCOPES["core.fct_case_sla"].advance_not).fetchall()}
    covered = [case for case in advance if case not in not_covered]
    if covered:
        cycles = _advanced(con, "fct_case_sla", "main.first_fct_case_sla", covered)
        assert cycles == _rows(con, "select * from core.fct_case_sla where list_contains(?, case_id)", [covered])

    # the views: the settled marks of an advanced case do not move; its events move only with its state
    assert _view(con, "main.first_int_sla_clock_marks", "int_sla_clock_marks", advance) == _view(
        con, "core.int_sla_clock_marks", "int_sla_clock_marks", advance
    )
    for case in advance:
        if _view(con, "main.first_fct_case_sla", "fct_case_sla", [case]) == _view(
            con, "core.fct_case_sla", "fct_case_sla", [case]
        ):
            events = "select * from {} where case_id = ?"
            assert _rows(con, events.format("main.first_fct_sla_events"), [case]) == _rows(
                con, events.format("core.fct_sla_events"), [case]
            ), case
