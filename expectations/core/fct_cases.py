"""Expectations for core.fct_cases (one row per CRM case, grain case_id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core.fct_feedback import directorate_ids
from expectations.severity import critical, warning

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_cases"
KEY_COLUMNS = ("case_id",)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="case_id", meta=critical("case_id is the grain")),
            gxe.ExpectColumnValuesToBeUnique(column="case_id", meta=critical("a case counted twice in SLA figures")),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=directorate_ids(),
                meta=critical("case owners map to org.yaml directorates or 'unassigned'"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="opened_at",
                meta=warning("a case without an 'opened' event starts no SLA clock (sla_state 'not_started')"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="reopened_count", min_value=0, meta=critical("a negative reopen count is a model bug")
            ),
        ],
    )
