"""Expectations for core.fct_qa_checks (one row per sampled case and month)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core.fct_feedback import directorate_ids
from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_qa_checks"
KEY_COLUMNS = ("sample_month", "case_id")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=list(KEY_COLUMNS), meta=critical("a case counted twice in the month's pass rate")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="verdict",
                value_set=["pass", "fail"],
                meta=critical("the import admits only pass and fail (null = not checked yet)"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="clarity_score",
                min_value=1,
                max_value=5,
                meta=critical("the import admits a clarity grade of 1-5 or none (null = not graded)"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="sample_reason",
                value_set=["new_owner", "failed_last_check", "rate"],
                meta=critical("the draw knows exactly these reasons (transforms/qa/sample.py)"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=directorate_ids(),
                meta=critical("sample owners map to org.yaml directorates or 'unassigned'"),
            ),
        ],
    )
