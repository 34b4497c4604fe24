"""Expectations for core.dim_feedback_types (grain feedback_type_id, with the 'unclassified' member)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core._dimension import dimension_suite

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.dim_feedback_types"
KEY_COLUMNS = ("feedback_type_id",)


def build_suite() -> gx.ExpectationSuite:
    return dimension_suite(TABLE, "feedback_type_id", "unclassified")
