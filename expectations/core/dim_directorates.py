"""Expectations for core.dim_directorates (grain directorate_id, with the 'unassigned' member)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core._dimension import dimension_suite

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.dim_directorates"
KEY_COLUMNS = ("directorate_id",)


def build_suite() -> gx.ExpectationSuite:
    return dimension_suite(TABLE, "directorate_id", "unassigned")
