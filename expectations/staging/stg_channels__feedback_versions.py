"""Expectations for staging.stg_channels__feedback_versions (earlier versions of edited feedback items).

Grain: (feedback_id, version_number). Written by the same normalization step as
staging.stg_channels__feedback; that each version still has its current, edited row is checked by
``assert_stg_channels__feedback_versions_have_a_current_row.sql`` beside this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "staging.stg_channels__feedback_versions"
KEY_COLUMNS = ("feedback_id", "version_number")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="feedback_id", meta=critical("a version belongs to an item")),
            gxe.ExpectColumnValuesToNotBeNull(
                column="superseded_by_batch_id", meta=critical("an earlier version was replaced by a later batch")
            ),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["feedback_id", "version_number"],
                meta=critical("each version of an item is numbered once; a repeat means a lost or doubled record"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="version_number", min_value=1, meta=critical("versions are numbered from 1")
            ),
        ],
    )
