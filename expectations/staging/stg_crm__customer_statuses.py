"""Expectations for staging.stg_crm__customer_statuses (the CRM's customer-status history)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning
from transforms.schemas import CUSTOMER_STATUSES

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "staging.stg_crm__customer_statuses"
KEY_COLUMNS = ("customer_key", "status_at", "status")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(KEY_COLUMNS),
                meta=critical("a status change exported twice would count a customer lost twice"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="customer_key", meta=critical("a status without its customer cannot be followed")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="status",
                value_set=list(CUSTOMER_STATUSES),
                meta=critical("the churn figures know current, refused and churned only"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="segment",
                mostly=0.95,
                meta=warning("customers without a segment count under 'unknown' in customer_segments_monthly"),
            ),
        ],
    )
