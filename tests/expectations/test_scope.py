"""expectations/scope.py: which checks a scoped build runs on the changed rows of a table changed by key,
which on the whole table, and that a run on the changed rows finds what a whole check finds among them."""

from datetime import UTC, datetime
from types import SimpleNamespace

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import pytest
from great_expectations.expectations.registry import list_registered_expectation_implementations
from great_expectations.expectations.row_conditions import Column

from expectations import validate_layer
from expectations.gx_run import run_suites
from expectations.scope import (
    CHANGED_WHOLE,
    ROW_TYPES,
    ROWS,
    UNCHANGED,
    UNIQUE,
    UNIQUE_TYPES,
    WHOLE,
    ChangedRows,
    CheckScope,
    TableChange,
    check_reads_a_change,
    needs,
    on_keys,
    on_rows,
    others_unchanged,
    split_suite,
    tables_read,
)
from expectations.severity import critical
from expectations.validate import sql_checks, suite_modules

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
WHY = critical("a test")


def _need(expectation: gxe.Expectation) -> str:
    return needs(expectation.expectation_type, expectation.configuration.kwargs)


def test_the_types_named_are_great_expectations_types() -> None:
    assert (ROW_TYPES | set(UNIQUE_TYPES)) <= set(list_registered_expectation_implementations())


@pytest.mark.parametrize(
    ("expectation", "need"),
    [
        (gxe.ExpectColumnValuesToNotBeNull(column="a"), ROWS),
        (gxe.ExpectColumnValuesToBeInSet(column="a", value_set=[1], row_condition=Column("b") == True), ROWS),  # noqa: E712
        (gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="a", column_B="b"), ROWS),
        # the clock only moves on between scoped builds: what was below it stays below it
        (gxe.ExpectColumnValuesToBeBetween(column="t", max_value={"$PARAMETER": "latest_allowed_at"}), ROWS),
        (gxe.ExpectColumnValuesToBeBetween(column="t", min_value={"$PARAMETER": "as_of"}), WHOLE),
        (gxe.ExpectColumnValuesToBeBetween(column="t", max_value={"$PARAMETER": "threshold"}), WHOLE),
        (gxe.ExpectColumnValuesToNotBeInSet(column="a", value_set=["x"], mostly=0.8), WHOLE),  # a share
        (gxe.ExpectColumnValuesToBeUnique(column="a"), UNIQUE),
        (gxe.ExpectColumnValuesToBeUnique(column="a", mostly=0.9), WHOLE),
        (gxe.ExpectCompoundColumnsToBeUnique(column_list=["a", "b"]), UNIQUE),
        (gxe.ExpectColumnDistinctValuesToContainSet(column="a", value_set=["unknown"]), WHOLE),
        (gxe.ExpectTableRowCountToBeBetween(min_value=1), WHOLE),
        (gxe.ExpectColumnMeanToBeBetween(column="a", min_value=0), WHOLE),
        (gxe.ExpectColumnValuesToBeIncreasing(column="a"), WHOLE),  # an order between rows
    ],
    ids=lambda v: getattr(v, "expectation_type", v),
)
def test_what_an_expectation_needs(expectation: gxe.Expectation, need: str) -> None:
    assert _need(expectation) == need


def test_an_unknown_type_needs_the_whole_table() -> None:
    assert needs("expect_something_new", {"column": "a"}) == WHOLE


def test_the_suites_of_the_repository_split_as_their_checks_need() -> None:
    found = {}
    for layer in ("staging", "core", "marts"):
        for module in suite_modules(layer):
            for expectation in module.build_suite().expectations:
                found.setdefault(module.TABLE, []).append((expectation.expectation_type, _need(expectation)))
    feedback = found["core.fct_feedback"]
    assert ("expect_column_values_to_be_unique", UNIQUE) in feedback
    # received_at below the run's clock, judged per row; the shares of unclassified texts on the whole
    assert ("expect_column_values_to_be_between", ROWS) in feedback
    assert [need for kind, need in feedback if kind == "expect_column_values_to_not_be_in_set"] == [WHOLE, WHOLE]
    assert ("expect_column_distinct_values_to_contain_set", WHOLE) in found["core.dim_channels"]


def test_the_slice_key_is_the_one_most_uniqueness_checks_include() -> None:
    suite = [
        ("expect_column_values_to_not_be_null", {"column": "a"}),
        ("expect_compound_columns_to_be_unique", {"column_list": ["customer_key", "status_at"]}),
        ("expect_column_values_to_be_unique", {"column": "other_id"}),  # without the key: whole
        ("expect_column_values_to_not_be_null", {"column": "segment", "mostly": 0.95}),
        ("expect_table_row_count_to_be_between", {"min_value": 1}),
    ]
    split = split_suite(suite, ["feedback_id", "customer_key"])
    assert split.key == "customer_key"
    assert (split.on_slice, split.on_whole) == ((0, 1), (2, 3, 4))


def test_without_a_key_or_a_row_check_everything_is_whole() -> None:
    suite = [("expect_column_values_to_not_be_null", {"column": "a"})]
    assert split_suite(suite, []).on_whole == (0,)
    assert split_suite([("expect_table_row_count_to_be_between", {})], ["id"]).key is None


def test_a_per_row_check_reads_the_changed_rows_under_its_own_alias() -> None:
    sql = (
        "select f.id from core.fct_feedback as f join core.dim_feedback_types on f.t = dim_feedback_types.t"
        " union all select id from core.fct_feedback where x union all select id from core.fct_feedback_monthly"
    )
    rewritten = on_rows(sql, "core.fct_feedback", "_db.main.rows_0")
    assert rewritten == (
        "select f.id from _db.main.rows_0 as f join core.dim_feedback_types on f.t = dim_feedback_types.t"
        " union all select id from _db.main.rows_0 as fct_feedback where x"
        " union all select id from core.fct_feedback_monthly"
    )
    with pytest.raises(ValueError, match="must read it"):
        on_rows("select 1 from core.fct_cases", "core.fct_feedback", "_db.main.rows_0")


def test_every_per_row_check_of_the_repository_reads_its_table() -> None:
    per_row = [c for layer in ("staging", "core", "marts") for c in sql_checks(layer) if c.per_row]
    assert {c.name for c in per_row} >= {"assert_fct_feedback_types_are_in_the_taxonomy", "spec_count"}
    for check in per_row:
        assert "rows_0" in on_rows(check.sql, check.table, "_db.main.rows_0")


def test_what_a_sql_check_reads_decides_whether_it_runs_and_on_what() -> None:
    scope = CheckScope({"core.a", "core.b"}, {"core.a": CHANGED_WHOLE, "staging.s": CHANGED_WHOLE})
    assert (scope["core.a"], scope["core.b"]) == (CHANGED_WHOLE, UNCHANGED)
    assert tables_read("-- from core.gone\nselect * from core.b join quarantine.q on true") == {
        "core.b",
        "quarantine.q",
    }
    assert check_reads_a_change("select * from core.b join staging.s using (k)", "core.b", scope)
    assert not check_reads_a_change("select * from core.b", "core.b", scope)
    # a table whose changes no build records (quarantine) may have changed
    assert check_reads_a_change("select * from core.b join quarantine.q using (k)", "core.b", scope)
    assert others_unchanged("select * from core.b join core.c using (k)", "core.b", scope)
    assert not others_unchanged("select * from core.b join core.a using (k)", "core.b", scope)
    assert not others_unchanged("select * from core.b join quarantine.q using (k)", "core.b", scope)


def test_a_per_key_check_reads_the_changed_values_of_its_key_in_every_table(con: duckdb.DuckDBPyConnection) -> None:
    """Cases c1 (events changed: a late event before the opening) and c2 (unchanged, long since bad)."""
    con.execute("create table core.cases as select * from (values ('c1', 10), ('c2', 10)) as t(case_id, opened)")
    con.execute("create table core.events as select * from (values ('c1', 5), ('c2', 3)) as t(case_id, event_at)")
    con.execute("create table staging.ev_changes as select 'case_id' as key_name, 'c1' as key_value")
    check = (
        "select e.case_id from core.events as e join core.cases on e.case_id = cases.case_id where e.event_at < opened"
    )
    events = TableChange(keys={"case_id": "select key_value from staging.ev_changes"})

    sql = on_keys(check, "case_id", CheckScope({"core.cases"}, {"core.events": events}), con)
    assert sql is not None and con.execute(sql).fetchall() == [("c1",)]  # c2 was reported by its own build
    assert sorted(con.execute(check).fetchall()) == [("c1",), ("c2",)]
    # a table it reads changed as a whole, or without the key: every value may have moved
    assert on_keys(check, "case_id", CheckScope({"core.cases"}, {"core.events": CHANGED_WHOLE}), con) is None
    by_other_key = TableChange(keys={"feedback_id": "select 'f1'"})
    assert on_keys(check, "case_id", CheckScope({"core.cases"}, {"core.events": by_other_key}), con) is None
    # a table it reads without the key column
    con.execute("create table core.opened_months as select 10 as opened")
    lookup = "select e.case_id from core.events as e join core.opened_months on e.event_at < opened_months.opened"
    assert on_keys(lookup, "case_id", CheckScope({"core.cases"}, {"core.events": events}), con) is None


@pytest.fixture
def changed_by_key(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """core.t: three rows an earlier build made and checked (one of them bad, ``o2``, as if damaged since),
    then four a build changed by key ``id``: a duplicate id, a bad value, a row without id, and a row
    equal on (other, day) to an old one."""
    con.execute("create table core.t (id varchar, v integer, other varchar, day integer)")
    con.execute(
        "insert into core.t values ('o1', 1, 'a', 1), ('o2', 42, 'b', 1), ('o3', 2, 'c', 1),"
        " ('n1', 3, 'a', 1), ('n2', 99, 'd', 1), ('n2', 5, 'e', 1), (null, 50, 'f', 1)"
    )
    con.execute("create table staging.t_changes as select 'id' as key_name, unnest(['n1', 'n2']) as key_value")
    return con


def _module() -> SimpleNamespace:
    def build_suite() -> gx.ExpectationSuite:
        return gx.ExpectationSuite(
            name="core.t",
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=10, meta=WHY),
                gxe.ExpectColumnValuesToBeUnique(column="id", meta=WHY),
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["other", "day"], meta=WHY),
                gxe.ExpectColumnValuesToNotBeNull(column="v", mostly=0.5, meta=WHY),
            ],
        )

    return SimpleNamespace(TABLE="core.t", KEY_COLUMNS=("id",), build_suite=build_suite)


def test_a_run_on_the_changed_rows_finds_their_faults_and_the_rest_on_the_whole(
    changed_by_key: duckdb.DuckDBPyConnection,
) -> None:
    con = changed_by_key
    change = TableChange(keys={"id": "select key_value from staging.t_changes where key_name = 'id'"})
    rows = ChangedRows(con, CheckScope({"core.t"}, {"core.t": change}))
    try:
        results, _ = run_suites(con, [_module()], as_of=AS_OF, run_id=None, docs_dir=None, rows=rows)
    finally:
        rows.close()

    between, unique, compound, share = results  # in the suite's order
    # the changed rows and the row without an id: n2's 99 and the null id's 50, not o2's 42
    assert (between.element_count, between.unexpected_count, between.success) == (4, 2, False)
    assert {"id": "n2", "v": 99} in between.sample
    assert (unique.unexpected_count, unique.success) == (2, False)  # n2 twice
    # (other, day) holds no key: its partner o1 lies outside the changed rows, so the whole table
    assert (compound.element_count, compound.unexpected_count, compound.success) == (7, 2, False)
    assert (share.element_count, share.success) == (7, True)
    attached = con.execute("select count(*) from duckdb_databases() where database_name like '_otklik_checks%'")
    assert attached.fetchone()[0] == 0


def test_data_docs_come_with_a_whole_check_only(con: duckdb.DuckDBPyConnection, tmp_path: object) -> None:
    scope = CheckScope({"core.fct_feedback"}, {"core.fct_feedback": CHANGED_WHOLE})
    with pytest.raises(ValueError, match="Data Docs"):
        validate_layer(con, "core", run_id=None, as_of=AS_OF, docs_dir=tmp_path, tables=scope)


def test_the_changed_rows_are_copied_by_row_id_in_the_tables_order(changed_by_key: duckdb.DuckDBPyConnection) -> None:
    con = changed_by_key
    con.execute("create view core.t_view as select * from core.t")  # a view has no row ids
    change = TableChange(keys={"id": "select key_value from staging.t_changes where key_name = 'id'"})
    rows = ChangedRows(con, CheckScope({"core.t", "core.t_view"}, {"core.t": change, "core.t_view": change}))
    try:
        copied = con.execute(f"select * from {rows.relation('core.t', 'id')}").fetchall()
        from_view = con.execute(f"select * from {rows.relation('core.t_view', 'id')}").fetchall()
    finally:
        rows.close()
    changed = con.execute("select * from core.t where id in ('n1', 'n2') or id is null order by rowid").fetchall()
    assert copied == changed == [("n1", 3, "a", 1), ("n2", 99, "d", 1), ("n2", 5, "e", 1), (None, 50, "f", 1)]
    assert sorted(from_view, key=repr) == sorted(changed, key=repr)
