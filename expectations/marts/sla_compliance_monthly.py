"""Expectations for marts.sla_compliance_monthly (grain: report_month × directorate_id × sla_policy_id).

Counts not negative, compliance a share, times not negative, and the arithmetic that defines the
mart (measured = achieved + breached + open_breached) holds. That its clocks add up to
core.fct_case_sla, and its company rows to its directorate rows, is checked by
``assert_sla_compliance_monthly_clocks_match_fct_case_sla.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.sla_compliance_monthly"
KEY_COLUMNS = ("report_month", "directorate_id", "sla_policy_id")

COUNT_COLUMNS = (
    "clocks_count",
    "not_started_count",
    "open_ok_count",
    "at_risk_count",
    "achieved_count",
    "breached_count",
    "open_breached_count",
    "measured_count",
    "breaches_count",
    "stopped_count",
    "later_cycles_count",
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    arithmetic = [
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=(
                "select * from {batch} where measured_count <> achieved_count + breached_count + open_breached_count"
                " or clocks_count < measured_count + not_started_count + open_ok_count + at_risk_count"
            ),
            description="measured = achieved + breached + open_breached, and no clock counted in two states",
            meta=critical("the states of a clock are exclusive and measured is their decided part"),
        ),
    ]
    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            *_metrics.grain(KEY_COLUMNS, "month, directorate and policy"),
            _metrics.directorate_in_org(company_row=True),
            *_metrics.counts(COUNT_COLUMNS),
            *_metrics.shares(["compliance_rate"]),
            *_metrics.not_negative(
                ["elapsed_hours_median", "elapsed_hours_p90", "target_minutes"], "a time is never negative"
            ),
            *arithmetic,
        ],
    )
