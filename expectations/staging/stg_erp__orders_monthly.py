"""Expectations for staging.stg_erp__orders_monthly (orders per month and directorate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning
from transforms.org import load_org

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "staging.stg_erp__orders_monthly"
KEY_COLUMNS = ("report_month", "directorate_id")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["report_month", "directorate_id"],
                meta=critical("a month exported twice would double the denominator of complaints per 1,000 orders"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="orders_count", min_value=0, meta=critical("a negative order count is an export error")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=sorted(d.id for d in load_org().directorates),
                meta=warning("orders of a directorate unknown to org.yaml are counted under 'unassigned'"),
            ),
        ],
    )
