# ruff: noqa: E501 (a table of SQL statements reads best one case per line)
"""Each critical expectation of the raw, staging and core suites, broken one at a time.

The warehouse is the golden fixture, built and checked (every check passes). Each case damages one
table with a SQL statement, validates that table alone, and expects DataQualityError naming the
table and the expectation; the table is restored afterwards.
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from expectations import DataQualityError, validate_layer
from tests.golden import AS_OF, golden_warehouse

CASES = [
    # (layer, table, damage, expectation named in the message)
    ("raw", "raw.batches", "update raw.batches set size_bytes = 0 where channel_id = 'erp_orders_monthly'",
     "expect_column_values_to_be_between"),
    ("raw", "raw.batches", "update raw.batches set status = 'half' where channel_id = 'erp_orders_monthly'",
     "expect_column_values_to_be_in_set"),
    ("raw", "raw.batches", "update raw.batches set record_count = record_count + 1 where channel_id = 'erp_orders_monthly'",
     "assert_raw_batches_match_payloads"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set feedback_id = 'nps_email_survey:R2' where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_be_unique"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set feedback_id = null where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_not_be_null"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set received_at = timestamptz '2030-01-01 00:00:00+00' where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_be_between"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set score_10 = 11 where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_be_between"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set channel_id = 'fax' where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_be_in_set"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set body_text = null, score_raw = null, score_10 = null where feedback_id = 'nps_email_survey:R3'",
     "assert_stg_channels__feedback_has_text_or_score"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set language = 'de' where feedback_id = 'nps_email_survey:R1'",
     "expect_column_values_to_be_in_set"),
    ("staging", "staging.stg_channels__feedback",
     "update staging.stg_channels__feedback set is_edited = null where feedback_id = 'nps_email_survey:R1'",
     "expect_column_values_to_not_be_null"),
    ("staging", "staging.stg_channels__feedback",
     "delete from staging.stg_channels__feedback where feedback_id = 'nps_email_survey:R3'",
     "assert_stg_channels__feedback_reconciles_with_raw"),
    ("staging", "staging.stg_channels__feedback_versions",
     "insert into staging.stg_channels__feedback_versions select *, 1, 'b' from staging.stg_channels__feedback where feedback_id = 'nps_email_survey:R3'",
     "assert_stg_channels__feedback_versions_have_a_current_row"),
    ("staging", "staging.stg_channels__feedback_versions",
     "insert into staging.stg_channels__feedback_versions select f.*, 1, 'b' from staging.stg_channels__feedback as f, range(2) where feedback_id = 'nps_email_survey:R3'",
     "expect_compound_columns_to_be_unique"),
    ("staging", "staging.stg_channels__feedback_versions",
     "insert into staging.stg_channels__feedback_versions select *, 0, 'b' from staging.stg_channels__feedback where feedback_id = 'nps_email_survey:R3'",
     "expect_column_values_to_be_between"),
    ("staging", "staging.stg_crm__case_events",
     "update staging.stg_crm__case_events set event_type = 'escalated' where case_id = 'CASE-1' and event_type = 'closed'",
     "expect_column_values_to_be_in_set"),
    ("staging", "staging.stg_crm__case_events",
     "insert into staging.stg_crm__case_events select * from staging.stg_crm__case_events where case_id = 'CASE-1' and event_type = 'opened'",
     "expect_compound_columns_to_be_unique"),
    ("staging", "staging.stg_erp__orders_monthly",
     "update staging.stg_erp__orders_monthly set orders_count = -1 where directorate_id = 'retail'",
     "expect_column_values_to_be_between"),
    ("core", "core.dim_directorates", "delete from core.dim_directorates where directorate_id = 'unassigned'",
     "expect_column_distinct_values_to_contain_set"),
    ("core", "core.dim_channels", "insert into core.dim_channels select * from core.dim_channels where channel_id = 'web_form'",
     "expect_column_values_to_be_unique"),
    ("core", "core.fct_feedback",
     "update core.fct_feedback set directorate_id = 'unassigned' where feedback_id = 'nps_email_survey:R6'",
     "assert_fct_feedback_classified_items_have_an_owner"),
    ("core", "core.fct_feedback",
     "update core.fct_feedback set feedback_type_id = 'no_such_type' where feedback_id = 'nps_email_survey:R6'",
     "assert_fct_feedback_types_are_in_the_taxonomy"),
    ("core", "core.fct_feedback", "update core.fct_feedback set kind = 'rant' where feedback_id = 'nps_email_survey:R6'",
     "expect_column_values_to_be_in_set"),
    ("core", "core.fct_cases", "update core.fct_cases set case_id = 'CASE-1' where case_id = 'CASE-2'",
     "expect_column_values_to_be_unique"),
    ("core", "core.fct_cases", "update core.fct_cases set directorate_id = 'space' where case_id = 'CASE-2'",
     "expect_column_values_to_be_in_set"),
    ("core", "core.fct_case_sla", "update core.fct_case_sla set due_at = started_at where case_id = 'CASE-1'",
     "expect_column_pair_values_a_to_be_greater_than_b"),
    ("core", "core.fct_case_sla",
     "update core.fct_case_sla set achieved_at = started_at - interval 1 minute where case_id = 'CASE-1'",
     "expect_column_pair_values_a_to_be_greater_than_b"),
    ("core", "core.fct_case_sla", "update core.fct_case_sla set sla_state = 'fine' where case_id = 'CASE-1'",
     "expect_column_values_to_be_in_set"),
    ("core", "core.fct_orders_monthly",
     "insert into core.fct_orders_monthly select * from core.fct_orders_monthly where directorate_id = 'retail'",
     "expect_compound_columns_to_be_unique"),
]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = golden_warehouse(tmp_path_factory.mktemp("suites"))
    yield con
    con.close()


@pytest.mark.parametrize(("layer", "table", "damage", "expectation"), CASES, ids=lambda v: str(v)[:60])
def test_a_damaged_table_fails_its_critical_expectation(
    warehouse: duckdb.DuckDBPyConnection, layer: str, table: str, damage: str, expectation: str
) -> None:
    warehouse.execute(f"create or replace temp table _backup as select * from {table}")
    try:
        warehouse.execute(damage)
        with pytest.raises(DataQualityError) as failure:
            validate_layer(warehouse, layer, run_id="damage", as_of=AS_OF, tables=[table])
    finally:
        warehouse.execute(f"delete from {table}")
        warehouse.execute(f"insert into {table} select * from _backup")
    message = str(failure.value)
    assert f"{table} {expectation}" in message
    assert "observed" in message


def test_the_golden_warehouse_passes_every_layer_and_records_warnings(warehouse: duckdb.DuckDBPyConnection) -> None:
    for layer in ("raw", "staging", "core", "marts"):
        report = validate_layer(warehouse, layer, run_id="again", as_of=AS_OF)
        assert report.success
    stale = warehouse.execute(
        "select sample from audit.validation_results where run_id = 'again' and suite = 'marts.channel_freshness'"
        " and not success"
    ).fetchone()
    # crm_case_events expects news every 2 h; its last event (14.10) is weeks before as_of (01.11)
    assert stale is not None and "crm_case_events" in stale[0] and "2026-10-14" in stale[0]


def test_the_demo_shape_of_a_stale_channel_names_its_last_item(tmp_path: Path) -> None:
    con = golden_warehouse(tmp_path)
    rows = con.execute(
        "select channel_id, last_item_at, is_stale from marts.channel_freshness order by channel_id"
    ).fetchall()
    by_channel = {channel: (last, stale) for channel, last, stale in rows}
    assert by_channel["nps_email_survey"][1] is False  # R14 came 2 h before as_of, cadence 24 h
    assert by_channel["crm_case_events"][1] is True
    assert by_channel["telegram_bot"] == (None, True)  # enabled, never delivered
