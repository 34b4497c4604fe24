"""Expectations for marts.store_monthly (grain: report_month × store_id).

Stores are those of org.yaml or the missing member 'unknown'; figures possible at all. That its
items add up to the items of core.fct_feedback that name a store is checked by
``assert_store_monthly_items_match_fct_feedback.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical
from transforms.org import load_org

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.store_monthly"
KEY_COLUMNS = ("report_month", "store_id")
UNKNOWN_STORE_ID = "unknown"  # the missing member: an item names a store org.yaml does not know

COUNT_COLUMNS = (
    *_metrics.ITEM_COUNT_COLUMNS,
    *_metrics.NPS_COUNT_COLUMNS,
    *_metrics.CSI_COUNT_COLUMNS,
    *_metrics.CSAT_COUNT_COLUMNS,
    "rating_answers_count",
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            *_metrics.grain(KEY_COLUMNS, "month and store"),
            gxe.ExpectColumnValuesToBeInSet(
                column="store_id",
                value_set=sorted([s.id for s in load_org().stores] + [UNKNOWN_STORE_ID]),
                meta=critical("store_id must be in org.yaml or the missing member 'unknown'"),
            ),
            _metrics.directorate_in_org(company_row=False),
            *_metrics.counts(COUNT_COLUMNS),
            *_metrics.shares(["complaint_share", "csat"]),
            *_metrics.nps_scores(["nps", "nps_ci_low", "nps_ci_high"]),
            *_metrics.not_negative(["csi"], "CSI is a ratio of counts"),
            gxe.ExpectColumnValuesToBeBetween(
                column="rating_mean", min_value=1, max_value=5, meta=critical("a mean of 1-5 ratings lies in 1-5")
            ),
        ],
    )
