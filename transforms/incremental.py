"""Which models a build brings up to date only for the keys that changed, and how changes reach them.

A model listed here is *local to its key*: its rows of one key value (``key``, a column of the model)
depend only on the rows of its inputs that the model's SQL joins to that value, on tables read whole
(configuration, dimensions), and on the clock when ``clock`` says so. The build
(warehouse/scoped_build.py) then rebuilds, of such a model, only the keys in its *scope*:

- every key value a changed input maps to: an input's changes are recorded by key name (the changed
  rows' values of ``KEY_NAMES``); an input whose recorded changes include the model's key maps by it,
  another maps through its ``bridges`` entry (a select of the model's key, reading the temporary table
  ``_changed(key_name, key_value)`` of that input's changes);
- with ``clock``, the cases whose SLA clocks the clock still moves (warehouse/scoped_build.py,
  ``CLOCK_CASES``);

and reads its inputs through ``filters`` (a predicate per input, over ``_scope(k)``) so that the work
grows with the scope, not the history. An input that changed as a whole (or whose changes carry no key
the model can use) makes it a build of the whole model.

``tests/warehouse/test_scoped_build.py`` builds batch after batch this way and compares every table with
a build from nothing, row for row: what it proves is that these declarations are right.
"""

from dataclasses import dataclass, field

# The key columns whose changed values a build records for every table it changes.
KEY_NAMES = ("feedback_id", "case_id", "customer_key", "phone_key", "email_key", "identity_key")

_CHANGED = "(select key_value from _changed where key_name = '{}')"
_SCOPE = "(select k from _scope)"


@dataclass(frozen=True)
class KeyScope:
    key: str
    bridges: dict[str, str] = field(default_factory=dict)  # input → select of the model's key
    filters: dict[str, str] = field(default_factory=dict)  # input → predicate over its rows
    clock: bool = False  # rows of open SLA clocks change with the clock alone


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
    "core.fct_cases": KeyScope("case_id", filters={"staging.stg_crm__case_events": _by("case_id")}),
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
        filters={
            "core.int_feedback_classified": _by("feedback_id"),
            "core.int_feedback_conversations": _by("feedback_id"),
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
    "core.int_sla_clocks": KeyScope("case_id", bridges=_SLA_BRIDGES, filters=_SLA_FILTERS),
    "core.int_sla_clock_marks": KeyScope("case_id", bridges=_SLA_BRIDGES, filters=_SLA_FILTERS, clock=True),
    "core.fct_case_sla": KeyScope("case_id", bridges=_SLA_BRIDGES, filters=_SLA_FILTERS, clock=True),
    "core.fct_sla_events": KeyScope("case_id", bridges=_SLA_BRIDGES, filters=_SLA_FILTERS, clock=True),
}
