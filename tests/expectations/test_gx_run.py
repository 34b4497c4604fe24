"""expectations/gx_run.py: a suite run with GX's BASIC result format first, and the full format again for
what did not pass, records exactly what the full format alone records, pass or fail, with or without a
slice of changed rows."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from expectations.gx_duckdb import add_duckdb_datasource, add_query_batch, close_datasource, new_context
from expectations.gx_run import _result_format, run_suites, suite_parameters, to_result
from expectations.severity import critical, warning

gx = pytest.importorskip("great_expectations")
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.validator.v1_validator import Validator  # noqa: E402

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
WHY = critical("a test")


@pytest.fixture
def items(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """core.items: 40 rows; ``score`` 99 on i1 and i7 (out of 0-10), ``kind`` 'odd' on every fifth row."""
    con.execute(
        "create table core.items as select 'i' || i as item_id, case when i in (1, 7) then 99 else i % 10 end"
        " as score, case when i % 5 = 0 then 'odd' else 'plain' end as kind, now() - interval 1 day as seen_at"
        " from range(40) as t(i)"
    )
    return con


def _suite() -> Any:
    """Expectations of every shape: failing and passing map expectations (column, pair, compound), a share
    that passes with bad rows, an aggregate that passes and one that fails, one whose column is missing."""
    return gx.ExpectationSuite(
        name="core.items",
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=10, meta=WHY),
            gxe.ExpectColumnValuesToNotBeNull(column="item_id", meta=WHY),
            gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["plain"], mostly=0.5, meta=warning("w")),
            gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["plain"], meta=warning("w")),
            gxe.ExpectColumnValuesToBeUnique(column="item_id", meta=WHY),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["kind", "score"], meta=WHY),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="score", column_B="score", or_equal=True, meta=WHY),
            gxe.ExpectColumnValuesToBeBetween(
                column="seen_at", max_value={"$PARAMETER": "latest_allowed_at"}, meta=WHY
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=100, meta=WHY),
            gxe.ExpectColumnDistinctValuesToBeInSet(column="kind", value_set=["plain"], meta=WHY),
            gxe.ExpectColumnValuesToNotBeNull(column="gone", meta=WHY),
        ],
    )


def _module(keys: tuple[str, ...] = ("item_id",)) -> SimpleNamespace:
    return SimpleNamespace(TABLE="core.items", KEY_COLUMNS=keys, build_suite=_suite)


def _full_format_only(con: duckdb.DuckDBPyConnection, module: SimpleNamespace) -> list[Any]:
    """The suite's results as one run with the full result format records them (how gx_run ran it before)."""
    context = new_context()
    datasource = add_duckdb_datasource(context, con)
    try:
        batch = add_query_batch(datasource, "core.items", "select * from core.items")
        suite = module.build_suite()
        for position, expectation in enumerate(suite.expectations):
            expectation.id = str(position)
        validation = Validator(batch, result_format=_result_format(module)).validate_expectation_suite(
            suite, suite_parameters(AS_OF)
        )
    finally:
        close_datasource(datasource)
    by_position = {int(r.expectation_config.id): r for r in validation.results}
    return [to_result(module.TABLE, by_position[i]) for i in range(len(suite.expectations))]


def test_the_results_are_those_of_the_full_result_format(items: duckdb.DuckDBPyConnection) -> None:
    module = _module()
    results, _ = run_suites(items, [module], as_of=AS_OF, run_id=None, docs_dir=None)

    assert results == _full_format_only(items, module)
    by_kind = {(r.expectation, r.column, r.success) for r in results}
    assert ("expect_column_values_to_be_between", "score", False) in by_kind
    between = results[0]
    assert (between.unexpected_count, between.element_count) == (2, 40)
    assert {"item_id": "i1", "score": 99} in between.sample  # the bad rows by key, as the full format has them
    share, strict = results[2], results[3]
    assert (share.success, share.unexpected_count, share.sample) == (True, 8, [])
    assert (strict.success, strict.unexpected_count) == (False, 8) and strict.sample
    assert not results[9].success and not results[10].success  # a failed aggregate; a missing column
    assert results[10].observed_value.startswith("error: ")


def test_a_key_column_missing_from_the_table_fails_as_it_did(items: duckdb.DuckDBPyConnection) -> None:
    module = _module(keys=("item_id", "no_such_column"))
    results, _ = run_suites(items, [module], as_of=AS_OF, run_id=None, docs_dir=None)

    assert results == _full_format_only(items, module)
    # GX looks the key up for every map expectation; a passing one fails on it too
    not_null = results[1]
    assert not not_null.success and "no_such_column" in not_null.observed_value


def test_a_suite_of_passing_expectations_records_no_sample(items: duckdb.DuckDBPyConnection) -> None:
    items.execute("update core.items set score = 5 where score > 10")
    module = _module()
    results, _ = run_suites(items, [module], as_of=AS_OF, run_id=None, docs_dir=None)

    assert results == _full_format_only(items, module)
    assert results[0].success and results[0].sample == [] and results[0].observed_value.startswith("0 of 40")
