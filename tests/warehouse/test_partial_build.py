"""A partial build after the head's sample checks: what it rebuilds, that it equals a full build, and when
it is refused (the flow-level run and its replay: tests/flows/test_sample_checks.py)."""

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from otklik.sample.qa_reviewer import review_sample
from tests.golden import AS_OF, golden_context, golden_ingested
from transforms.dag import BUILD_ORDER, downstream
from transforms.qa import load_sampling_rules
from warehouse import connect_memory
from warehouse.build import build_layer, fingerprint, rebuild_layer
from warehouse.build_run import PartialBuildRefused, partial_build_base
from warehouse.qa import draw_month, import_verdicts, months_without_sample, sample_case_facts
from warehouse.runs import config_texts, finish_run, record_inputs, start_run

QA_INPUTS = ("raw.qa_samples", "raw.qa_verdicts")
LAYERS = ("staging", "core", "marts")


def test_downstream_of_the_checks_is_core_and_marts_never_staging() -> None:
    plan = {layer: {m.name for m in models} for layer, models in downstream(QA_INPUTS).items()}
    assert plan["staging"] == set()
    # the verdicts reach the QA facts and the cases' additional control, not the cases, clocks or feedback
    assert plan["core"] == {"fct_qa_checks", "fct_case_controls"}
    assert plan["marts"] == {"qa_results_monthly"}
    assert "channel_freshness" not in plan["marts"]
    with pytest.raises(ValueError, match=r"raw\.channel_payloads feed every staged entity"):
        downstream({"raw.channel_payloads"})


def check_october(con: duckdb.DuckDBPyConnection) -> None:
    """Draw October as `otklik qa sample` does and import the simulated reviewer's verdicts, but every
    case failed: the golden fixture's one simulated fail is a reopened case, under additional control
    already, and a fail of a case closed once changes core.fct_case_controls."""
    (month,) = months_without_sample(con, before=AS_OF, reporting_timezone="Europe/Moscow")
    draw_month(con, month, rules=load_sampling_rules(), reporting_timezone="Europe/Moscow")
    verdicts = review_sample(sample_case_facts(con, month)).with_columns(sample_month=month, verdict=pl.lit("fail"))
    import_verdicts(con, verdicts, import_id="simulated", at=datetime.now(UTC))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The golden fixture ingested and built (no checks: faster), then its October sample checked."""
    con = golden_ingested(tmp_path_factory.mktemp("partial"))
    for layer in LAYERS:
        build_layer(con, layer, golden_context())
    return con


def test_the_partial_build_equals_a_full_build_and_skips_what_did_not_change(
    built: duckdb.DuckDBPyConnection,
) -> None:
    before = {
        f"{layer}.{m.name}": fingerprint(built, f"{layer}.{m.name}") for layer in LAYERS[1:] for m in BUILD_ORDER[layer]
    }
    check_october(built)
    changed, rebuilt = set(QA_INPUTS), set()
    for layer in LAYERS:
        counts, changed = rebuild_layer(built, layer, golden_context(), changed=changed)
        rebuilt |= set(counts)
    assert {"core.fct_qa_checks", "marts.qa_results_monthly", "core.fct_case_controls"} <= changed
    assert rebuilt == {"core.fct_qa_checks", "core.fct_case_controls", "marts.qa_results_monthly"}
    assert all(fingerprint(built, t) == before[t] for t in before if t not in rebuilt)

    full = connect_memory()  # the same raw state (batches as landed, what the head entered), built from nothing
    raw = built.sql("select table_name from information_schema.tables where table_schema = 'raw'").fetchall()
    for (table,) in raw:
        full.register("_rows", built.sql(f"select * from raw.{table}").arrow())
        full.execute(f"insert into raw.{table} by name select * from _rows")
        full.unregister("_rows")
    for layer in LAYERS:
        build_layer(full, layer, golden_context())
    differ = [t for t in before if fingerprint(full, t) != fingerprint(built, t)]
    assert differ == [], "a partial build must leave every table as a full build on the same inputs does"
    assert full.sql("select count(*) from marts.qa_results_monthly").fetchone()[0] > 0


def recorded(con: duckdb.DuckDBPyConnection, run_id: str, state: str = "completed") -> None:
    start_run(con, run_id, "build-warehouse", {}, as_of=AS_OF, configs=config_texts())
    record_inputs(con, run_id)
    finish_run(con, run_id, state)


def test_a_partial_build_stands_only_on_a_completed_build_with_nothing_else_new(
    built: duckdb.DuckDBPyConnection,
) -> None:
    built.execute("begin transaction")
    try:
        with pytest.raises(PartialBuildRefused, match="never built"):
            partial_build_base(built, QA_INPUTS)
        recorded(built, "r1")
        base = partial_build_base(built, QA_INPUTS)
        assert (base.run_id, base.as_of, base.configs) == ("r1", AS_OF, config_texts())
        assert base.parameters(QA_INPUTS)["partial"] == {"base_run": "r1", "changed": list(QA_INPUTS)}
        built.execute(  # what the partial build is for: a sample drawn since is allowed
            "insert into raw.qa_samples (sample_month, case_id, directorate_id, department_id, manager_id,"
            " sample_reason, sample_key) values ('2026-12-01', 'c', 'retail', 'd', 'm', 'rate', 'k')"
        )
        assert partial_build_base(built, QA_INPUTS).run_id == "r1"
        built.execute(
            "insert into raw.manual_labels (feedback_id, kind, labelled_by, labelled_at, source)"
            " values ('x', 'wish', 'me', ?, 'test')",  # the time is the transaction's unless given
            [datetime.now(UTC)],
        )
        with pytest.raises(
            PartialBuildRefused, match=r"1 row\(s\) of raw.manual_labels entered since the last build r1"
        ):
            partial_build_base(built, QA_INPUTS)
        recorded(built, "r2")
        built.execute(  # a batch landed after r2 (load order past r2's bound)
            "insert into raw.batches select * replace (batch_id || '-late' as batch_id,"
            " (select max(batch_seq) + 1 from raw.batches) as batch_seq) from raw.batches where batch_seq = 1"
        )
        with pytest.raises(PartialBuildRefused, match=r"1 batch\(es\) landed since the last build r2"):
            partial_build_base(built, QA_INPUTS)
        recorded(built, "r3", state="failed")
        with pytest.raises(PartialBuildRefused, match="the last build r3 ended 'failed'"):
            partial_build_base(built, QA_INPUTS)
        with pytest.raises(ValueError, match=r"not \['raw\.channel_payloads'\]"):
            partial_build_base(built, ["raw.channel_payloads"])
    finally:
        built.execute("rollback")
