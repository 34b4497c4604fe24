"""Expectations for core.fct_case_sla (one row per case, SLA policy and clock cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_case_sla"
KEY_COLUMNS = ("case_id", "sla_policy_id", "cycle_number")

SLA_STATES = ("achieved", "breached", "open_breached", "at_risk", "open_ok", "not_started")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(KEY_COLUMNS), meta=critical("one row per clock cycle of a case and policy")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="cycle_number", min_value=1, meta=critical("cycles are numbered from 1 (a reopen adds one)")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="elapsed_minutes", min_value=0, meta=critical("a clock never runs backwards")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="paused_minutes", min_value=0, meta=critical("a pause never lasts negative time")
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="calendar_elapsed_minutes",
                column_B="elapsed_minutes",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=critical("business time cannot exceed real time: the calendar intervals overlap"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="sla_state", value_set=list(SLA_STATES), meta=critical("the mart counts exactly these states")
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="due_at",
                column_B="started_at",
                ignore_row_if="either_value_is_missing",
                meta=critical("a due time at or before the start means a zero or negative target"),
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="achieved_at",
                column_B="started_at",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=critical("a clock stopped before it started measures negative time"),
            ),
            gxe.ExpectColumnValuesToBeNull(
                column="clock_violation",
                meta=warning(
                    "the events contradict each other (stop_before_start, reply_before_receipt, "
                    "events_out_of_order): the clock runs as the events allow; see clock_violation"
                ),
            ),
        ],
    )
