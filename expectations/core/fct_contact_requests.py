"""Expectations for core.fct_contact_requests (one row per "contact me" request, grain feedback_id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core.fct_feedback import directorate_ids
from expectations.severity import critical, warning

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_contact_requests"
KEY_COLUMNS = ("feedback_id",)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToBeUnique(
                column="feedback_id", meta=critical("a request counted twice inflates every stage of the funnel")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=directorate_ids(),
                meta=critical("request owners map to org.yaml directorates or 'unassigned'"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="tnps_score", min_value=0, max_value=10, meta=critical("tNPS answers are 0-10")
            ),
            # A request that opened no case is never contacted in the CRM's records: worth a look,
            # not a reason to stop the build (the case may arrive with the next CRM export).
            gxe.ExpectColumnValuesToNotBeNull(
                column="case_id", mostly=0.9, meta=warning("most contact requests open a CRM case")
            ),
        ],
    )
