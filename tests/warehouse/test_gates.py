"""A failed critical expectation stops the build at its layer: downstream layers are not built.

Each case plants a bug at one layer, as a broken reader, normalizer or classifier would, then
runs the whole build (warehouse.build.build_all, the same per-layer function the flow's tasks
call) on the golden fixture in a fresh warehouse.
"""

from pathlib import Path

import duckdb
import polars as pl
import pytest

import transforms.dag
import warehouse.staging
from expectations import DataQualityError
from tests.golden import golden_context, golden_ingested
from warehouse.build import build_all


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    query = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(query, [schema, name]).fetchone()[0] == 1


def _orphan_payload(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    con.execute(
        "insert into raw.channel_payloads (channel_id, payload, _batch_id, _source_file, _record_index)"
        " values ('web_form', '{}', 'web_form:ghost', 'web_form/ghost.csv', 0)"
    )


def _normalizer_emits_duplicates(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    real = warehouse.staging.resolve_records

    def doubled(*args, **kwargs):
        result = real(*args, **kwargs)
        result.rows = pl.concat([result.rows, result.rows.head(1)])
        return result

    monkeypatch.setattr(warehouse.staging, "resolve_records", doubled)


def _classifier_invents_a_kind(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    real = transforms.dag.classify

    def ranting(*args, **kwargs):
        return real(*args, **kwargs).with_columns(kind=pl.lit("rant"))

    monkeypatch.setattr(transforms.dag, "classify", ranting)


@pytest.mark.parametrize(
    ("plant_bug", "failing_table", "expectation", "not_built"),
    [
        (_orphan_payload, "raw.batches", "assert_raw_batches_match_payloads", "staging.stg_channels__feedback"),
        (
            _normalizer_emits_duplicates,
            "staging.stg_channels__feedback",
            "expect_column_values_to_be_unique",
            "core.fct_feedback",
        ),
        (
            _classifier_invents_a_kind,
            "core.fct_feedback",
            "expect_column_values_to_be_in_set",
            "marts.management_monthly",
        ),
    ],
    ids=["raw-orphan-payload", "staging-duplicate-id", "core-unknown-kind"],
)
def test_a_failed_layer_stops_the_build_before_the_next_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plant_bug, failing_table: str, expectation: str, not_built: str
) -> None:
    con = golden_ingested(tmp_path)
    plant_bug(con, monkeypatch)
    with pytest.raises(DataQualityError) as failure:
        build_all(con, golden_context(), run_id="gate")
    message = str(failure.value)
    assert f"{failing_table} {expectation}" in message and "observed" in message and "sample" in message
    assert not _exists(con, not_built), f"{not_built} was built although {failing_table} failed its checks"
    recorded = con.execute(
        "select count(*) from audit.validation_results where run_id = 'gate' and suite = ? and not success"
        " and severity = 'critical'",
        [failing_table],
    ).fetchone()[0]
    assert recorded >= 1


def test_warnings_are_recorded_but_do_not_stop_the_build(tmp_path: Path) -> None:
    con = golden_ingested(tmp_path)
    build_all(con, golden_context(), run_id="warn")  # crm_case_events and others are stale: warnings only
    warnings = con.execute(
        "select count(*) from audit.validation_results where run_id = 'warn' and severity = 'warning' and not success"
    ).fetchone()[0]
    assert warnings >= 1
    assert _exists(con, "marts.management_monthly")
