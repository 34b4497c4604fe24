"""Expectations for core.fct_sla_events (the SLA event log: one row per event of a clock cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_sla_events"
KEY_COLUMNS = ("case_id", "sla_policy_id", "cycle_number", "sla_event_number")

SLA_EVENTS = ("activate", "pause", "resume", "fulfill", "breach")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(KEY_COLUMNS), meta=critical("events of a cycle are numbered once each")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="sla_event", value_set=list(SLA_EVENTS), meta=critical("alerts react to exactly these events")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="event_at", meta=critical("an event without a moment cannot be alerted on once")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="event_at",
                max_value={"$PARAMETER": "as_of"},
                meta=critical("the log holds only what happened by the run's clock"),
            ),
        ],
    )
