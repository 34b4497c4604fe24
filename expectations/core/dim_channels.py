"""Expectations for core.dim_channels (grain channel_id, with the 'unknown' member)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.core._dimension import dimension_suite

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.dim_channels"
KEY_COLUMNS = ("channel_id",)


def build_suite() -> gx.ExpectationSuite:
    return dimension_suite(TABLE, "channel_id", "unknown")
