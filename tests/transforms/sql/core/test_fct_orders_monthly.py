"""core.fct_orders_monthly: orders per month and directorate (given/expect, tests/helpers.py)."""

from datetime import date

import duckdb
import polars as pl

from tests.helpers import given, run_model
from transforms.schemas import ORDER_COUNT


def test_orders_sum_per_month_and_unknown_directorates_count_as_unassigned(
    con: duckdb.DuckDBPyConnection,
) -> None:
    given(
        con,
        "staging.stg_erp__orders_monthly",
        pl.DataFrame(
            {
                "report_month": [date(2026, 10, 1)] * 4 + [date(2026, 11, 1)],
                "directorate_id": ["retail", "retail", "hr", None, "retail"],
                "orders_count": [1000, 234, 5, 7, 900],
                "_batch_id": ["b1"] * 5,
                "_source_file": ["erp.xlsx"] * 5,
                "_record_index": list(range(5)),
            },
            schema=ORDER_COUNT.columns,
        ),
    )
    given(
        con,
        "core.dim_directorates",
        pl.DataFrame(
            {
                "directorate_id": ["retail", "unassigned"],
                "directorate_name": ["Розничная сеть", "Не распределено"],
                "head_name": ["Соколов А. В.", None],
            }
        ),
    )
    actual = run_model(con, "core", "fct_orders_monthly").sort("report_month", "directorate_id")
    assert actual.schema == pl.Schema(
        {"report_month": pl.Date(), "directorate_id": pl.String(), "orders_count": pl.Int64()}
    )
    assert actual.rows() == [
        (date(2026, 10, 1), "retail", 1234),
        (date(2026, 10, 1), "unassigned", 12),
        (date(2026, 11, 1), "retail", 900),
    ]
