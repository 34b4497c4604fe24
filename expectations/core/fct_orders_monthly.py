"""Expectations for core.fct_orders_monthly (orders per month and directorate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core.fct_feedback import directorate_ids
from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_orders_monthly"
KEY_COLUMNS = ("report_month", "directorate_id")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["report_month", "directorate_id"], meta=critical("orders are the per-1,000 denominator")
            ),
            gxe.ExpectColumnValuesToBeBetween(column="orders_count", min_value=0, meta=critical("never negative")),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id", value_set=directorate_ids(), meta=critical("org.yaml or 'unassigned'")
            ),
        ],
    )
