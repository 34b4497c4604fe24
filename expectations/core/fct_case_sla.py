"""Expectations for core.fct_case_sla (one row per case and SLA policy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_case_sla"
KEY_COLUMNS = ("case_id", "sla_policy_id")

SLA_STATES = ("achieved", "breached", "open_breached", "at_risk", "open_ok", "not_started")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["case_id", "sla_policy_id"], meta=critical("one clock per case and policy")
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
                meta=warning("the CRM's events contradict each other (e.g. closed before opened): see clock_violation"),
            ),
        ],
    )
