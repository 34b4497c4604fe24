"""Expectations for marts.management_monthly (grain: report_month × directorate_id).

The mart is what management reads, so every figure on it is checked for being possible at all:
counts not negative, NPS within ±100, rates within 0–1. That its volumes add up to core.fct_feedback
(items once per cross-channel conversation, repeats apart) is checked by
``assert_management_monthly_items_match_fct_feedback.sql`` beside this module, and its cases
to core.fct_cases by ``assert_management_monthly_cases_match_fct_cases.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical
from transforms.org import MISSING_DIRECTORATE_ID, load_org

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.management_monthly"
KEY_COLUMNS = ("report_month", "directorate_id")  # shown with every sample of bad values

# The company row of each month (the sum over directorates).
COMPANY_TOTAL_ID = "all"

# Every *_count column of the mart. tests/expectations/test_management_monthly.py fails when the
# mart's SQL gains a *_count or *_rate column that is not listed here.
COUNT_COLUMNS = (
    *_metrics.ITEM_COUNT_COLUMNS,
    *_metrics.NPS_COUNT_COLUMNS,
    *_metrics.CSAT_COUNT_COLUMNS,
    "sla_close_24h_measured_count",
    "sla_close_24h_achieved_count",
    "sla_close_24h_breached_count",
    "sla_first_contact_1h_measured_count",
    "sla_first_contact_1h_achieved_count",
    "sla_first_contact_1h_breached_count",
    "orders_count",
    "enps_answers_count",
    "enps_promoters_count",
    "enps_passives_count",
    "enps_detractors_count",
    *_metrics.CSI_COUNT_COLUMNS,
    "cases_count",
    "cases_closed_count",
    "cases_reopened_count",
    "self_service_resolved_count",
    "costed_contacts_count",
)
RATE_COLUMNS = (
    "sla_close_24h_compliance_rate",
    "sla_first_contact_1h_compliance_rate",
    "reopen_rate",
)
# Shares (0-1) that are not named *_rate, and NPS-type scores with their intervals (±100).
SHARE_COLUMNS = ("complaint_share", "csat", "self_service_share")
SCORE_COLUMNS = ("nps", "enps", "enps_ci_low", "enps_ci_high")
# Durations (hours), CSI (a ratio) and money: never negative.
NOT_NEGATIVE_COLUMNS = (
    "csi",
    "first_contact_hours_median",
    "first_contact_hours_p90",
    "close_hours_median",
    "close_hours_p90",
    "contact_cost_rub",
    "cost_per_contact_rub",
)


def directorate_ids() -> list[str]:
    return sorted([d.id for d in load_org().directorates] + [MISSING_DIRECTORATE_ID, COMPANY_TOTAL_ID])


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    grain = [
        gxe.ExpectColumnValuesToNotBeNull(
            column="report_month", meta=critical("every row belongs to a reporting month")
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="directorate_id", meta=critical("every row belongs to a directorate or to 'all'")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="directorate_id",
            value_set=directorate_ids(),
            meta=critical("directorate_id must be in org.yaml, 'unassigned' or the company row 'all'"),
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["report_month", "directorate_id"],
            meta=critical("one row per month and directorate; a duplicate doubles the review's figures"),
        ),
    ]
    counts = [
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=0, meta=critical("a count cannot be negative: a broken join or sum")
        )
        for column in COUNT_COLUMNS
    ]
    rates = [
        gxe.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=0,
            max_value=1,
            meta=critical("a compliance rate is a share of measured clocks, 0-1; null when none measured"),
        )
        for column in RATE_COLUMNS
    ]
    nps = [
        gxe.ExpectColumnValuesToBeBetween(
            column="nps",
            min_value=-100,
            max_value=100,
            meta=critical("NPS = 100 × (promoters − detractors) / answers lies within ±100"),
        ),
    ]
    extended = [
        *_metrics.shares(SHARE_COLUMNS),
        *_metrics.nps_scores(c for c in SCORE_COLUMNS if c != "nps"),
        *_metrics.not_negative(NOT_NEGATIVE_COLUMNS, "CSI, hours and roubles are never negative"),
    ]
    return gx.ExpectationSuite(name=TABLE, expectations=[*grain, *counts, *rates, *nps, *extended])
