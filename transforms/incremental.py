"""Which models a build brings up to date only for the keys that changed, and how changes reach them.

A model listed here is *local to its key*: its rows of one key value (``key``, a column of the model)
depend only on the rows of its inputs that the model's SQL joins to that value, on tables read whole
(configuration, dimensions), and on the clock when ``clock`` says so. The build
(warehouse/scoped_build.py) then rebuilds, of such a model, only the keys in its *scope*:

- every key value a changed input maps to: an input's changes are recorded by key name (the changed
  rows' values of ``KEY_NAMES``); an input whose recorded changes include the model's key maps by it,
  another maps through its ``bridges`` entry (a select of the model's key, reading the temporary table
  ``_changed(key_name, key_value)`` of that input's changes);
- with ``clock``, the cases whose SLA clocks the clock moves past a mark (warehouse/scoped_build.py,
  ``CLOCK_CASES``), and, unless ``advance`` brings them up to date from the model's own rows, the other
  cases with a cycle still open (``ADVANCE_CASES``; tests/transforms/sql/clock/test_clock_advance.py holds
  each advance to the model's rows);

and reads its inputs through ``filters`` (a predicate per input, over ``_scope(k)``, whose ``k`` has the
type of the model's key column) so that the work grows with the scope, not the history. An input that
changed as a whole (or whose changes carry no key the model can use) makes it a build of the whole model.

Of an input listed in ``VIEWS``, a model whose SQL reads none of the view's ignored columns and rows may map
the input's changes through ``views`` instead: the changes of the rows the view keeps that differ in some
other column (their old and their new values, as for every change), so that a column that moves in many
rows at once (an item's CRM segment, an open SLA clock's elapsed time) does not bring every month or every
open case into scope.

``tests/warehouse/test_scoped_build.py`` builds batch after batch this way and compares every table with
a build from nothing, row for row: what it proves is that these declarations are right.
"""

from dataclasses import dataclass, field
from pathlib import Path

# The key columns whose changed values a build records for every table it changes. The months (reporting
# timezone) of items, cases and SLA clocks, and the weeks of the weekly marts, scope the monthly facts and
# marts (a changed row's month before and after the change).
KEY_NAMES = (
    "feedback_id",
    "case_id",
    "customer_key",
    "phone_key",
    "email_key",
    "identity_key",
    "received_month",
    "opened_month",
    "report_month",
    "week_start",
)


# Of some tables, the changes seen without some of their columns (``ignored``) and, where ``rows`` says, without
# some of their rows: a scoped rebuild of the table records (warehouse/scoped_build.py) as the changes of the
# pseudo-table ``view_of(table)`` the key values of the rows (old and new) that the view keeps and that differ in
# any column but the ignored. Of an ignored column, ``settled`` may name the rows (a predicate) in which the view
# compares it after all, where the clock no longer moves it (a stopped cycle's elapsed time). A table rebuilt whole
# is changed as a whole, view and all. Only a model that reads none of the ignored columns (but in their settled
# rows) and none of the rows left out may map the table through its view, or a model that brings the cases the
# clock alone moved up to date itself (``KeyScope.advance``), through a view that hides only what the clock moves
# in them. (One model reads an ignored column, in rows where it does not move: ``VIEW_READS_ALLOWED`` says which
# and why; tests/warehouse/test_scoped_build.py holds the rest to it.)
@dataclass(frozen=True)
class View:
    ignored: tuple[str, ...]
    rows: str | None = None  # a predicate: the rows the view keeps; None: every row
    settled: dict[str, str] = field(default_factory=dict)  # ignored column → the rows where the view compares it


VIEWS: dict[str, View] = {
    # an item's CRM customer and segment follow the CRM's status changes, in items of every month
    "core.fct_feedback": View(("crm_customer_key", "segment")),
    # an open clock's elapsed time moves with the clock alone, in clocks of every month; so do a paused clock's
    # paused time and its due and at-risk times, projected as running from the clock (a clock that waits on
    # the customer for weeks moved every month's scope at every build in working hours)
    "core.fct_case_sla": View(
        ("elapsed_minutes", "calendar_elapsed_minutes", "paused_minutes", "due_at", "at_risk_at"),
        # a stopped cycle's elapsed time is fixed by its marks: a late pause or event changes it, the clock does not
        settled={"elapsed_minutes": "achieved_at is not null"},
    ),
    # an open cycle's end mark is the clock itself, and the working time of the segment before it runs to the
    # clock: the settled marks, without their calendar positions (which move only with the calendar, and a
    # changed calendar rebuilds the clocks whole)
    "core.int_sla_clock_marks": View(("position_us", "segment_working_us"), rows="mark <> 'as_of'"),
}


# (model, table, column): an ignored column of a view that a model mapping the table through it reads anyway,
# only in rows where the clock does not move it. fct_sla_events logs a cycle's 'breach' at its due time, and
# only of a breached cycle, whose due time is fixed once it is breached: in the first running segment that ran
# past the target (core.fct_case_sla.sql), which no later clock moves; a cycle that becomes breached changes
# its state, which the view keeps. tests/transforms/sql/clock/test_clock_advance.py holds it to a run: of a
# case whose view did not move, the events did not move.
VIEW_READS_ALLOWED = frozenset({("core.fct_sla_events", "core.fct_case_sla", "due_at")})


def view_of(table: str) -> str:
    return f"{table}@view"


_CHANGED = "(select key_value from _changed where key_name = '{}')"
_SCOPE = "(select k from _scope)"


@dataclass(frozen=True)
class KeyScope:
    key: str
    bridges: dict[str, str] = field(default_factory=dict)  # input → select of the model's key
    filters: dict[str, str] = field(default_factory=dict)  # input → predicate over its rows
    clock: bool = False  # rows of open SLA clocks change with the clock alone
    # of a clock model: a select of its rows at the build's clock for the cases the clock alone moved (the
    # temporary table ``_advance(k)``), from ``_old``, the rows the last build wrote for them, and the models
    # built before it; instead of computing those cases again (warehouse/scoped_build.py)
    advance: str | None = None
    # a select of ``case_id`` from ``_old``: the cases of ``_advance`` that ``advance`` does not cover, computed
    advance_not: str | None = None
    views: frozenset[str] = frozenset()  # inputs (of VIEWS) whose changes are read through their view
    # a select of (key, group): the keys of one group are read together by the filters (a customer's items), so
    # a whole build by partitions (warehouse/build.py) keeps each group in one partition and reads it once
    groups: str | None = None
    # a SQL model built whole goes by partitions of as many keys as DuckDB's memory limit holds at this many
    # bytes a key (warehouse/build.py), so that its joins need not spill; None: in one piece
    bytes_per_key: int | None = None


_CLOCK_SQL = Path(__file__).resolve().parent / "sql" / "clock"


def _advance_sql(model: str) -> str:
    """The select that brings ``core.<model>``'s rows of the cases the clock alone moved to the build's clock."""
    return (_CLOCK_SQL / f"{model}.sql").read_text(encoding="utf-8")


def _values(key_name: str) -> str:
    return f"select key_value from _changed where key_name = '{key_name}'"


def _by(key: str) -> str:
    return f"{key} in {_SCOPE}"


_FEEDBACK_OF_CASES = "select feedback_id from staging.stg_channels__feedback where case_ref in " + _CHANGED.format(
    "case_id"
)
_CASES_OF_FEEDBACK = "select case_id from core.fct_cases where feedback_id in " + _CHANGED.format("feedback_id")
_SLA_FILTERS = {
    "staging.stg_crm__case_events": _by("case_id"),
    "core.fct_cases": _by("case_id"),
    "core.int_sla_clocks": _by("case_id"),
    "core.int_sla_clock_marks": _by("case_id"),
    "core.fct_case_sla": _by("case_id"),
    "core.fct_feedback": f"feedback_id in (select feedback_id from core.fct_cases where case_id in {_SCOPE})",
}
_SLA_BRIDGES = {"core.fct_feedback": _CASES_OF_FEEDBACK}
# of the items in scope (by feedback_id): the cases they name, and their channels' customer keys
_CASE_REFS_IN_SCOPE = f"select case_ref from core.int_feedback_classified where {_by('feedback_id')}"
_CUSTOMER_KEYS_IN_SCOPE = f"select customer_key from core.int_feedback_classified where {_by('feedback_id')}"
# The SLA chain's joins carry each clock's row through five keyed joins. Built whole in one piece under
# OTKLIK_MEMORY_LIMIT=3GB they spilled at the 3M bench's 1.52 M cases: core.fct_case_sla took 46 s, against
# 22.5 s with 16 GB; by partitions of 380,000 cases 27.4 s, of 507,000 still 44.8 s; int_sla_clock_marks
# 29.7 -> 24.9 s, int_sla_clocks 20.9 -> 18.0 s (the same rows). 8 KiB a case gives partitions of about
# 354,000 cases under 3 GB, and one piece up to 2.4 M cases under DuckDB's default limit on 24 GiB.
_SLA_BYTES_PER_CASE = 8 * 1024
# core.fct_cases folds each case's events with two windows and a grouping. In one piece under
# OTKLIK_MEMORY_LIMIT=2.5GB it held the 3M bench's 1.52 M cases (8.2 s) but ran out of memory at the 10M
# bench's 5.08 M cases (21.9 M events); by partitions it took 39 s. 2 KiB a case gives partitions of about
# 1.2 M cases under 2.5 GB, and one piece up to about 9.9 M cases under DuckDB's default limit on 24 GiB.
_CASE_EVENTS_BYTES_PER_CASE = 2 * 1024

SCOPES: dict[str, KeyScope] = {
    "core.int_feedback_predictions": KeyScope(
        "feedback_id", filters={"staging.stg_channels__feedback": _by("feedback_id")}
    ),
    "core.int_feedback_classified": KeyScope(
        "feedback_id",
        filters={
            "staging.stg_channels__feedback": _by("feedback_id"),
            "core.int_feedback_predictions": _by("feedback_id"),
        },
    ),
    # A conversation joins one customer's items: a changed item re-links every item of its customer.
    "core.int_feedback_conversations": KeyScope(
        "feedback_id",
        bridges={
            "staging.stg_channels__feedback": (
                "select feedback_id from staging.stg_channels__feedback where customer_key in "
                + _CHANGED.format("customer_key")
                + " union select key_value from _changed where key_name = 'feedback_id'"
            )
        },
        filters={
            "staging.stg_channels__feedback": (
                f"customer_key in (select customer_key from staging.stg_channels__feedback where {_by('feedback_id')})"
                f" or {_by('feedback_id')}"
            )
        },
        groups="select feedback_id, customer_key from staging.stg_channels__feedback",
    ),
    "core.int_customer_identities": KeyScope(
        "identity_key",
        bridges={
            "staging.stg_crm__customer_statuses": (
                "select key_value from _changed where key_name in ('customer_key', 'phone_key', 'email_key')"
            )
        },
        filters={
            "staging.stg_crm__customer_statuses": (
                f"customer_key in {_SCOPE} or phone_key in {_SCOPE} or email_key in {_SCOPE}"
            )
        },
    ),
    "core.dim_customers": KeyScope("customer_key", filters={"staging.stg_crm__customer_statuses": _by("customer_key")}),
    "core.fct_cases": KeyScope(
        "case_id",
        filters={"staging.stg_crm__case_events": _by("case_id")},
        bytes_per_key=_CASE_EVENTS_BYTES_PER_CASE,
    ),
    "core.fct_feedback": KeyScope(
        "feedback_id",
        bridges={
            "core.fct_cases": _FEEDBACK_OF_CASES,
            "core.int_customer_identities": (
                "select feedback_id from staging.stg_channels__feedback where customer_key in "
                + _CHANGED.format("identity_key")
            ),
            # an item's row reads of its CRM customer the segment alone (coalesce(customer's, channel's)):
            # the items, as the last build left them, of a changed customer whose segment is not theirs (an
            # item whose identity or customer changed comes through int_customer_identities or
            # int_feedback_classified)
            "core.dim_customers": (
                "select feedback.feedback_id from core.fct_feedback as feedback"
                " left join (select customer_key, segment from core.dim_customers where customer_key in "
                + _CHANGED.format("customer_key")
                + ") as customers on feedback.crm_customer_key = customers.customer_key"
                " where feedback.crm_customer_key in "
                + _CHANGED.format("customer_key")
                + " and feedback.segment is distinct from customers.segment"
            ),
        },
        # the case an item names, the CRM customer its customer_key identifies and that customer's segment:
        # of each, the rows the scope's items join to (at 1M items, 0.5 M cases, 1.4 M identities and 0.35 M
        # customers were read whole for a thousand items)
        filters={
            "core.int_feedback_classified": _by("feedback_id"),
            "core.int_feedback_conversations": _by("feedback_id"),
            "core.fct_cases": f"case_id in ({_CASE_REFS_IN_SCOPE})",
            "core.int_customer_identities": f"identity_key in ({_CUSTOMER_KEYS_IN_SCOPE})",
            "core.dim_customers": (
                "customer_key in (select customer_key from core.int_customer_identities"
                f" where identity_key in ({_CUSTOMER_KEYS_IN_SCOPE}))"
            ),
        },
    ),
    # Per request (an item): its own row, the cases opened from it (the first one is its case) and the
    # final-survey answers about that case (items of any customer and channel naming it): a changed answer
    # maps through its case to the request the case was opened from.
    "core.fct_contact_requests": KeyScope(
        "feedback_id",
        bridges={
            "core.fct_feedback": (
                "select key_value from _changed where key_name = 'feedback_id'"
                " union select feedback_id from core.fct_cases where case_id in " + _CHANGED.format("case_id")
            ),
            "core.fct_cases": "select key_value from _changed where key_name = 'feedback_id'",
        },
        filters={
            "core.fct_feedback": (
                f"{_by('feedback_id')} or case_id in (select case_id from core.fct_cases where {_by('feedback_id')})"
            ),
            "core.fct_cases": _by("feedback_id"),
        },
    ),
    # Per item: its channel's and store's names (dimensions, read whole) and what its user agent says.
    "core.int_feedback_attributes": KeyScope("feedback_id", filters={"core.fct_feedback": _by("feedback_id")}),
    # Per case: reopened (from fct_cases) or a failed QA check (raw.qa_verdicts, read whole; a new verdict
    # changes that input as a whole, and the model is then built whole).
    "core.fct_case_controls": KeyScope("case_id", filters={"core.fct_cases": _by("case_id")}),
    # Per customer: the spans between their status changes.
    "core.fct_customer_status_spans": KeyScope(
        "customer_key", filters={"staging.stg_crm__customer_statuses": _by("customer_key")}
    ),
    # Per customer: the month starts at which they are current, from their own spans (no clock: a span still
    # current has no end). Built whole it rewrote a row per customer at every build, and the readers' copy
    # took them all again: 0.29 + 0.20 s at 1M items for the few customers a +1,000 build changes.
    "core.int_customer_start_months": KeyScope(
        "customer_key", filters={"core.fct_customer_status_spans": _by("customer_key")}
    ),
    "core.int_sla_clocks": KeyScope(
        "case_id", bridges=_SLA_BRIDGES, filters=_SLA_FILTERS, bytes_per_key=_SLA_BYTES_PER_CASE
    ),
    # An open cycle's marks and row move with the clock alone; a case with nothing else new is brought to the
    # build's clock from its rows of the last build (``advance``) rather than computed from its events again
    # (at 1M items: 19,274 cases at a +1,000 build, each computed again before).
    "core.int_sla_clock_marks": KeyScope(
        "case_id",
        bridges=_SLA_BRIDGES,
        filters=_SLA_FILTERS,
        clock=True,
        bytes_per_key=_SLA_BYTES_PER_CASE,
        advance=_advance_sql("int_sla_clock_marks"),
    ),
    # its marks through their view: the marks the clock moves in a case of ``_advance`` are what ``advance``
    # reads; any other change of a case's marks comes with a change of its events or its clocks
    "core.fct_case_sla": KeyScope(
        "case_id",
        bridges={**_SLA_BRIDGES, "core.int_sla_clock_marks": _values("case_id")},
        filters=_SLA_FILTERS,
        clock=True,
        views=frozenset({"core.int_sla_clock_marks"}),
        bytes_per_key=_SLA_BYTES_PER_CASE,
        advance=_advance_sql("fct_case_sla"),
        advance_not="select case_id from _old where is_paused",
    ),
    # the clock adds a cycle's 'breach' once it passes the due time: a change of the cycle's state, which the
    # view of fct_case_sla records; the settled marks are all it reads of int_sla_clock_marks
    "core.fct_sla_events": KeyScope(
        "case_id",
        bridges={
            **_SLA_BRIDGES,
            **dict.fromkeys(("core.int_sla_clock_marks", "core.fct_case_sla"), _values("case_id")),
        },
        filters=_SLA_FILTERS,
        clock=True,
        views=frozenset({"core.int_sla_clock_marks", "core.fct_case_sla"}),
    ),
}


def _weeks_of_months(key_name: str, *, and_next: bool) -> str:
    """A select of the ISO weeks (their Monday) that overlap the months recorded under ``key_name`` and,
    with ``and_next``, the weeks after them (whose rows compare with the week before)."""
    after = "(values (0), (7))" if and_next else "(values (0))"
    return (
        "select distinct (date_trunc('week', month_start + day::integer)::date + after)::varchar"
        f" from (select key_value::date as month_start from _changed where key_name = '{key_name}'),"
        f" range(0, 31) as days(day), {after} as afters(after)"
        " where date_trunc('month', month_start + day::integer) = month_start"
    )


def _months_of_weeks(column: str, *, and_before: bool) -> str:
    """A predicate keeping the rows whose month (``column``) overlaps a week in scope or, with
    ``and_before``, the week before one (what a row comparing with the week before reads)."""
    first = -7 if and_before else 0
    return (
        f"{column} in (select distinct date_trunc('month', k + day::integer)::date"
        f" from _scope, range({first}, 7) as days(day))"
    )


# The monthly facts and marts, by month (and the weekly marts by ISO week, reporting timezone) from the
# changes of the items (their received_month) and SLA clocks (report_month, their cycle's start month)
# seen through their views: none of these reads an item's CRM customer or segment, nor an open clock's elapsed
# time. A dimension they read whole changes as a whole, and they are then built whole.
_ITEMS = "core.fct_feedback"
_CLOCKS = "core.fct_case_sla"
_ITEMS_IN_SCOPE = "received_month in (select k from _scope)"
# a model whose rows of a month read only the items received in it (and tables read whole)
_BY_ITEMS_MONTH = KeyScope(
    "report_month",
    bridges={_ITEMS: _values("received_month")},
    filters={_ITEMS: _ITEMS_IN_SCOPE},
    views=frozenset({_ITEMS}),
)

SCOPES.update(
    {
        # Per month: the items received in it (types and stores read whole).
        "core.fct_feedback_monthly": _BY_ITEMS_MONTH,
        # Per month: the clocks whose cycle started in it (or anchored in it, never started).
        "core.fct_sla_monthly": KeyScope(
            "report_month",
            bridges={_CLOCKS: _values("report_month")},
            filters={_CLOCKS: "report_month in (select k from _scope)"},
            views=frozenset({_CLOCKS}),
        ),
        # Per month: the cases opened in it, and whether any of their clocks is breached (a changed clock
        # maps through its case to the month the case was opened in).
        "core.fct_cases_monthly": KeyScope(
            "report_month",
            bridges={
                "core.fct_cases": _values("opened_month"),
                _CLOCKS: "select opened_month::varchar from core.fct_cases where case_id in "
                + _CHANGED.format("case_id"),
            },
            filters={
                "core.fct_cases": "opened_month in (select k from _scope)",
                _CLOCKS: "case_id in (select case_id from core.fct_cases where opened_month in (select k from _scope))",
            },
            views=frozenset({_CLOCKS}),
        ),
        # Per month: the month's complaints (types read whole).
        "marts.complaints_by_type_monthly": _BY_ITEMS_MONTH,
        # Per month: its clocks' counts and its stopped first cycles' elapsed times, which the view of the clocks
        # compares (settled); policies, their rules and directorates read whole.
        "marts.sla_compliance_monthly": KeyScope(
            "report_month",
            bridges={_CLOCKS: _values("report_month")},
            filters={
                "core.fct_sla_monthly": "report_month in (select k from _scope)",
                _CLOCKS: "report_month in (select k from _scope)",
            },
            views=frozenset({_CLOCKS}),
        ),
        # Per month: its feedback and cases per owner, and the times of the cases opened in it (owners read
        # whole).
        "marts.owner_monthly": KeyScope(
            "report_month",
            bridges={"core.fct_cases": _values("opened_month")},
            filters={
                "core.fct_feedback_monthly": "report_month in (select k from _scope)",
                "core.fct_cases_monthly": "report_month in (select k from _scope)",
                "core.fct_cases": "opened_month in (select k from _scope)",
            },
        ),
        # Per week: its complaints and the week before's.
        "marts.weekly_type_complaints": KeyScope(
            "week_start",
            bridges={_ITEMS: _weeks_of_months("received_month", and_next=True)},
            filters={_ITEMS: _months_of_weeks("received_month", and_before=True)},
            views=frozenset({_ITEMS}),
        ),
        # Per week: its items and first-cycle clocks, and the week before's (directorates read whole).
        "marts.weekly_summary": KeyScope(
            "week_start",
            bridges={
                _ITEMS: _weeks_of_months("received_month", and_next=True),
                _CLOCKS: _weeks_of_months("report_month", and_next=True),
            },
            filters={
                _ITEMS: _months_of_weeks("received_month", and_before=True),
                _CLOCKS: _months_of_weeks("report_month", and_before=True),
            },
            views=frozenset({_ITEMS, _CLOCKS}),
        ),
        # Per week: its first-cycle clocks.
        "marts.weekly_sla_breaches": KeyScope(
            "week_start",
            bridges={_CLOCKS: _weeks_of_months("report_month", and_next=False)},
            filters={_CLOCKS: _months_of_weeks("report_month", and_before=False)},
            views=frozenset({_CLOCKS}),
        ),
    }
)
