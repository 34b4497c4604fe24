"""`otklik replay`: a recorded build rebuilt from its archived inputs and stored configuration."""

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.golden import AS_OF, GOLDEN
from transforms.channels import load_channels
from transforms.review.config import load_review_settings
from transforms.review.periods import month_period
from transforms.review.sources import monthly_tables
from warehouse import connect
from warehouse.build import build_all
from warehouse.ingest import ingest_landing
from warehouse.publish import latest_review_id, load_snapshot, publish_review
from warehouse.replay import POLICIES, TAXONOMY, context_from_configs, replay_run
from warehouse.runs import (
    InputsChanged,
    config_texts,
    finish_run,
    new_run_id,
    record_inputs,
    run_inputs,
    start_run,
)

KEY = b"golden-test-key-0123456789abcdef"


@dataclass
class Recorded:
    warehouse: Path
    landing: Path
    archive: Path
    first_run: str


def record_build(con: duckdb.DuckDBPyConnection, as_of: datetime, configs: dict[str, str | None] | None = None) -> str:
    """What the build-warehouse flow does, without Prefect: ledger, inputs, every layer, finish."""
    texts = configs or config_texts()
    run_id = new_run_id()
    start_run(con, run_id, "build-warehouse", {"as_of": as_of.isoformat()}, as_of=as_of, configs=texts)
    record_inputs(con, run_id)
    build_all(con, context_from_configs(texts, as_of, KEY), run_id=run_id)
    finish_run(con, run_id, "completed")
    return run_id


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("replay")
    landing, archive, warehouse = root / "landing", root / "archive", root / "otklik.duckdb"
    shutil.copytree(GOLDEN, landing)
    with connect(warehouse) as con:
        ingest_landing(con, landing, load_channels(), archive_dir=archive, run_id="ingest-1")
        run_id = record_build(con, AS_OF)
    return Recorded(warehouse, landing, archive, run_id)


@pytest.fixture
def wh(recorded: Recorded) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(recorded.warehouse) as con:
        yield con


def test_the_run_records_its_inputs_and_configuration(recorded: Recorded, wh: duckdb.DuckDBPyConnection) -> None:
    landed = {r[0] for r in wh.execute("select batch_id from raw.batches").fetchall()}
    assert set(run_inputs(wh, recorded.first_run)) == landed and landed
    stored = {r[0] for r in wh.execute("select name from audit.config_versions").fetchall()}
    assert stored == set(config_texts())


def test_replay_of_a_run_is_identical(recorded: Recorded, wh: duckdb.DuckDBPyConnection) -> None:
    result = replay_run(wh, recorded.first_run, pii_key=KEY)
    assert result.identical, "\n".join(result.report_lines())
    assert result.tables > 10 and result.batches == len(run_inputs(wh, recorded.first_run))
    assert result.report_lines()[-1] == "identical"


def test_replay_ignores_later_data_and_configuration(recorded: Recorded, wh: duckdb.DuckDBPyConnection) -> None:
    ivr = recorded.landing / "ivr_post_call_survey"
    more = (ivr / "ivr_2026-10-05.csv").read_bytes().replace(b"CALL-", b"CALL-9").replace(b"05.10.2026", b"06.10.2026")
    (ivr / "ivr_2026-10-06.csv").write_bytes(more)
    summary = ingest_landing(wh, recorded.landing, load_channels(), archive_dir=recorded.archive, run_id="ingest-2")
    assert summary.loaded_files == {"ivr_post_call_survey": 1}
    # October is published from the first build before anything changes.
    period = month_period("2026-10")
    published = publish_review(
        wh,
        period,
        monthly_tables(wh, period, load_review_settings()),
        build_run_id=recorded.first_run,
        reporting_timezone="Europe/Moscow",
    )
    # Later: another taxonomy label, a stricter close-within-24h target, and a manual label that
    # overrides the classifier on one item. None of it may leak into a replay of the first run.
    texts = config_texts()
    texts[TAXONOMY] = texts[TAXONOMY].replace("Доставка: прочее", "Доставка: всё остальное")
    assert "target_minutes: 1440" in texts[POLICIES]
    texts[POLICIES] = texts[POLICIES].replace("target_minutes: 1440", "target_minutes: 720")
    wh.execute(
        "insert into raw.manual_labels (feedback_id, kind, labelled_by, source)"
        " values ('nps_email_survey:R1', 'complaint', 'auditor-test', 'test')"
    )
    second = record_build(wh, datetime(2026, 11, 15, tzinfo=UTC), texts)
    assert len(run_inputs(wh, second)) == len(run_inputs(wh, recorded.first_run)) + 1

    result = replay_run(wh, recorded.first_run, pii_key=KEY, checks=False)
    assert result.identical, "\n".join(result.report_lines())
    # and the later run differs from the first, so the replay did not just read today's state
    changed = wh.execute(
        "select count(*) from audit.table_fingerprints as a join audit.table_fingerprints as b"
        " using (table_name) where a.run_id = ? and b.run_id = ? and a.content_hash <> b.content_hash",
        [recorded.first_run, second],
    ).fetchone()[0]
    assert changed > 0
    # and the published October still shows the first build's figures
    assert latest_review_id(wh, period) == published.review_id
    frozen = load_snapshot(wh, published.review_id).tables
    assert frozen.keys() == published.tables.keys()
    assert all(frozen[name].frame.equals(published.tables[name].frame) for name in frozen)


def test_replay_reports_a_tampered_archive(recorded: Recorded, wh: duckdb.DuckDBPyConnection) -> None:
    batch_id, path = wh.execute(
        "select batch_id, archive_path from raw.batches where channel_id = 'nps_email_survey' and batch_id in ?",
        [run_inputs(wh, recorded.first_run)],
    ).fetchone()
    archived = Path(path)
    original = archived.read_bytes()
    archived.write_bytes(original.replace(b"\n", b"\r\n", 1))
    try:
        result = replay_run(wh, recorded.first_run, pii_key=KEY, checks=False)
    finally:
        archived.write_bytes(original)
    assert not result.identical
    assert [(p.batch_id, p.path, p.kind) for p in result.problems] == [(batch_id, str(archived), "tampered")]
    report = "\n".join(result.report_lines())
    assert f"TAMPERED: batch {batch_id} at {archived}" in report and report.endswith("NOT identical")
    assert result.diffs  # the batch was not re-landed, so the tables built from it differ


def test_a_build_records_its_inputs_as_a_load_order_bound(recorded: Recorded, wh: duckdb.DuckDBPyConnection) -> None:
    """No row per batch per build (migration 0014): the bound, the count and the ids' digest."""
    bound, count, digest = wh.execute(
        "select input_batch_seq, input_batch_count, input_batches_sha256 from audit.runs where run_id = ?",
        [recorded.first_run],
    ).fetchone()
    batches = run_inputs(wh, recorded.first_run)
    assert count == len(batches) > 0
    assert digest == hashlib.sha256("\n".join(sorted(batches)).encode()).hexdigest()
    assert bound == wh.execute("select max(batch_seq) from raw.batches where batch_id in ?", [batches]).fetchone()[0]
    assert wh.execute("select count(*) from audit.run_inputs").fetchone()[0] == 0


def test_a_run_recorded_before_the_bound_reads_its_listed_batches(tmp_path: Path) -> None:
    """Runs of a warehouse older than migration 0014 listed their batches in audit.run_inputs."""
    with connect(tmp_path / "old.duckdb") as con:
        start_run(con, "old-run", "build-warehouse", {})
        con.execute("insert into audit.run_inputs values ('old-run', 'b:2'), ('old-run', 'b:1')")
        assert run_inputs(con, "old-run") == ["b:1", "b:2"]


def test_a_batch_gone_from_raw_is_reported_not_replayed_silently(recorded: Recorded, tmp_path: Path) -> None:
    """raw.batches is never deleted from; if a batch is, the run's inputs cannot be recovered, and say so."""
    copy = tmp_path / "otklik.duckdb"
    shutil.copyfile(recorded.warehouse, copy)
    with connect(copy) as con:
        gone = run_inputs(con, recorded.first_run)[0]
        con.execute("delete from raw.batches where batch_id = ?", [gone])
        with pytest.raises(InputsChanged, match=r"read \d+ batch\(es\).*cannot be recovered"):
            run_inputs(con, recorded.first_run)
        result = replay_run(con, recorded.first_run, pii_key=KEY, checks=False)
    assert not result.identical
    assert [p.kind for p in result.problems] == ["missing"]
    assert "cannot be recovered as they were" in result.problems[0].detail
