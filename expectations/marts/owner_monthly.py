"""Expectations for marts.owner_monthly (grain: report_month × directorate_id × department_id × manager_id).

Figures possible at all (counts, shares, NPS within ±100, hours not negative); the owners' ids are
those of org.yaml or 'unassigned'. That its items and cases add up to core, month by month, is
checked by ``assert_owner_monthly_reconciles_with_core.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical
from transforms.org import MISSING_DIRECTORATE_ID, load_org

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.owner_monthly"
KEY_COLUMNS = ("report_month", "directorate_id", "department_id", "manager_id")

COUNT_COLUMNS = (
    *_metrics.ITEM_COUNT_COLUMNS,
    *_metrics.NPS_COUNT_COLUMNS,
    *_metrics.CSI_COUNT_COLUMNS,
    *_metrics.CSAT_COUNT_COLUMNS,
    "cases_count",
    "cases_closed_count",
    "cases_reopened_count",
    "cases_breached_count",
)
HOURS_COLUMNS = ("first_contact_hours_median", "first_contact_hours_p90", "close_hours_median", "close_hours_p90")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    org = load_org()
    owners = [
        gxe.ExpectColumnValuesToBeInSet(
            column="department_id",
            value_set=sorted({dep.id for d in org.directorates for dep in d.departments} | {MISSING_DIRECTORATE_ID}),
            meta=critical("department_id must be in org.yaml or 'unassigned'"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="manager_id",
            value_set=sorted({m.id for m in org.managers} | {MISSING_DIRECTORATE_ID}),
            meta=critical("manager_id must be in org.yaml or 'unassigned'"),
        ),
    ]
    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            *_metrics.grain(KEY_COLUMNS, "month and owner"),
            _metrics.directorate_in_org(company_row=False),
            *owners,
            *_metrics.counts(COUNT_COLUMNS),
            *_metrics.shares(["complaint_share", "csat", "reopen_rate"]),
            *_metrics.nps_scores(["nps", "nps_ci_low", "nps_ci_high"]),
            *_metrics.not_negative(["csi", *HOURS_COLUMNS], "CSI and hours are never negative"),
        ],
    )
