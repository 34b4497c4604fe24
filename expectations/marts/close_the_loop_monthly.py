"""Expectations for marts.close_the_loop_monthly (grain: report_month × directorate_id × manager_id).

Every figure must be possible at all: counts not negative, each funnel stage at most the one before
it, rates within 0–1, tNPS within ±100.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts.management_monthly import directorate_ids
from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.close_the_loop_monthly"
KEY_COLUMNS = ("report_month", "directorate_id", "manager_id")

COUNT_COLUMNS = (
    "contact_requested_count",
    "contacted_count",
    "contacted_within_1h_count",
    "resolved_count",
    "final_survey_answered_count",
    "tnps_answers_count",
    "tnps_promoters_count",
    "tnps_detractors_count",
    "ces_answers_count",
    "ces_solved_count",
)
RATE_COLUMNS = ("contacted_within_1h_rate", "resolved_rate", "final_survey_answered_rate", "ces_rate")
# (later stage, earlier stage): a request reaches a stage only through the one before
FUNNEL = (
    ("contacted_count", "contact_requested_count"),
    ("contacted_within_1h_count", "contacted_count"),
    ("resolved_count", "contact_requested_count"),
    ("final_survey_answered_count", "contact_requested_count"),
    ("tnps_answers_count", "final_survey_answered_count"),
    ("ces_answers_count", "final_survey_answered_count"),
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    grain = [
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=list(KEY_COLUMNS), meta=critical("one row per month and owner; a duplicate doubles the funnel")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="directorate_id",
            value_set=directorate_ids(),
            meta=critical("directorate_id must be in org.yaml, 'unassigned' or the company row 'all'"),
        ),
    ]
    counts = [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta=critical("a count cannot be negative"))
        for c in COUNT_COLUMNS
    ]
    funnel = [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=earlier, column_B=later, or_equal=True, meta=critical(f"{later} is a subset of {earlier}")
        )
        for later, earlier in FUNNEL
    ]
    rates = [
        gxe.ExpectColumnValuesToBeBetween(
            column=c, min_value=0, max_value=1, meta=critical("a rate is a share, 0-1; null without a denominator")
        )
        for c in RATE_COLUMNS
    ]
    tnps = [
        gxe.ExpectColumnValuesToBeBetween(
            column="tnps", min_value=-100, max_value=100, meta=critical("tNPS lies within ±100")
        )
    ]
    return gx.ExpectationSuite(name=TABLE, expectations=[*grain, *counts, *funnel, *rates, *tnps])
