"""Fixtures of the expectations tests."""

import duckdb
import pytest
from good_tables import dim_feedback_types_frame, fct_cases_frame, fct_feedback_frame, given_management_monthly
from helpers import given

from expectations.core.fct_feedback import TABLE as FCT_FEEDBACK


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Good core.fct_feedback and marts.management_monthly (and the dimensions their checks read)."""
    core = fct_feedback_frame()
    given(con, FCT_FEEDBACK, core)
    given(con, "core.dim_feedback_types", dim_feedback_types_frame())
    given(con, "core.fct_cases", fct_cases_frame())
    given_management_monthly(con)
    given(con, "core.dim_feedback_types", dim_feedback_types_frame())
    return con
