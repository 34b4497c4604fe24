"""Expectations for marts.feedback_type_monthly (grain: report_month × feedback_type_id × directorate_id).

Types are those of the taxonomy or 'unclassified'; counts and shares possible at all; a growth
point always meets the evidence floor of the rule in the model's header. That its items add up to
core.fct_feedback is checked by ``assert_feedback_type_monthly_items_match_fct_feedback.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, load_feedback_types

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.feedback_type_monthly"
KEY_COLUMNS = ("report_month", "feedback_type_id", "directorate_id")
# The evidence floor of the growth-point rule (transforms/sql/marts/feedback_type_monthly.sql).
GROWTH_POINT_MIN_COMPLAINTS = 5

COUNT_COLUMNS = (
    *_metrics.ITEM_COUNT_COLUMNS,
    "complaints_prev_month_count",
    "complaints_prev_year_count",
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            *_metrics.grain(KEY_COLUMNS, "month, feedback type and directorate"),
            gxe.ExpectColumnValuesToBeInSet(
                column="feedback_type_id",
                value_set=sorted([t.feedback_type_id for t in load_feedback_types()] + [UNCLASSIFIED_TYPE_ID]),
                meta=critical("feedback_type_id must be in the taxonomy or 'unclassified'"),
            ),
            _metrics.directorate_in_org(company_row=False),
            *_metrics.counts(COUNT_COLUMNS),
            *_metrics.shares(["complaint_share_of_month"]),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where is_growth_point"
                    f" and complaints_count < {GROWTH_POINT_MIN_COMPLAINTS}"
                ),
                description="a growth point has at least the rule's evidence floor of complaints",
                meta=critical("growth points below the evidence floor are noise presented as news"),
            ),
        ],
    )
