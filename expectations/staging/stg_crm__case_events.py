"""Expectations for staging.stg_crm__case_events (one row per CRM case event)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical
from transforms.schemas import CASE_EVENT_TYPES

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "staging.stg_crm__case_events"
KEY_COLUMNS = ("case_id", "event_type", "event_at")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from expectations.core.fct_feedback import EARLIEST_RECEIVED_AT

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="case_id", meta=critical("an event belongs to a case")),
            gxe.ExpectColumnValuesToBeInSet(
                column="event_type",
                value_set=list(CASE_EVENT_TYPES),
                meta=critical("the SLA clocks understand exactly these events"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="event_at", meta=critical("an event without a time stops no clock")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="event_at",
                min_value=EARLIEST_RECEIVED_AT,
                max_value={"$PARAMETER": "latest_allowed_at"},
                meta=critical("future or pre-2000 events must have been rejected in normalization"),
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["case_id", "event_type", "event_at"],
                meta=critical("an event delivered twice would reopen or close a case twice"),
            ),
        ],
    )
