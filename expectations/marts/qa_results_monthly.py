"""Expectations for marts.qa_results_monthly (grain: report_month × directorate_id × manager_id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts.management_monthly import directorate_ids
from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.qa_results_monthly"
KEY_COLUMNS = ("report_month", "directorate_id", "manager_id")
COUNT_COLUMNS = (
    "sampled_count",
    "sampled_in_full_count",
    "checked_count",
    "passed_count",
    "failed_count",
    "rework_open_count",
)
# (smaller, larger)
SUBSETS = (
    ("checked_count", "sampled_count"),
    ("sampled_in_full_count", "sampled_count"),
    ("passed_count", "checked_count"),
    ("failed_count", "checked_count"),
    ("rework_open_count", "failed_count"),
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(KEY_COLUMNS), meta=critical("one row per month and owner")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=directorate_ids(),
                meta=critical("directorate_id must be in org.yaml, 'unassigned' or the company row 'all'"),
            ),
            *[
                gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta=critical("a count cannot be negative"))
                for c in COUNT_COLUMNS
            ],
            *[
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=larger, column_B=smaller, or_equal=True, meta=critical(f"{smaller} ≤ {larger}")
                )
                for smaller, larger in SUBSETS
            ],
            gxe.ExpectColumnValuesToBeBetween(
                column="pass_rate",
                min_value=0,
                max_value=1,
                meta=critical("QA pass rate = passed / checked, 0-1; null while nothing is checked"),
            ),
        ],
    )
