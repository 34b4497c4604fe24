"""Ingest with a pool of reader processes lands exactly what the serial ingest lands, and survives a kill.

One varied landing: every channel of a small ``otklik generate`` sample, the bad-input corpus
(tests/fixtures/bad_inputs: cp1251, broken and truncated JSON, zero bytes, hostile workbooks, a
folder of no channel) and hostile entries written here (links out of and inside the landing folder,
a dangling link, a named pipe, a file over its size limit, the same content twice). It is ingested
once without workers (``OTKLIK_INGEST_WORKERS=0``: the serial path, as before the pool) and once with
two workers forced on from the first file, in small chunks and small commit groups so that every
boundary is crossed; raw.batches (with its load order), raw.channel_payloads, quarantine.files,
quarantine.records, the archive and the run's summary must be the same, row for row.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import warehouse.ingest_pool as ingest_pool
from otklik.sample.generate import generate_landing
from transforms.channels import load_channels
from transforms.channels.registry import parse_channels
from warehouse import connect_memory
from warehouse.ingest import IngestSummary, ingest_landing

ROOT = Path(__file__).resolve().parent.parent.parent
BAD_INPUTS = ROOT / "tests" / "fixtures" / "bad_inputs"
HOSTILE = BAD_INPUTS / "hostile.py"
EXTRA_CHANNELS = """
channels:
  - {id: tiny_limit, display_name: Small files only, format: jsonl, reader: {max_file_bytes: 200},
     fields: {source_item_id: id, received_at: date, body_text: text}}
"""

# Every column but the load times; archive paths without the run's archive folder.
TABLES = {
    "raw.batches": "select * exclude (loaded_at) from raw.batches order by batch_seq",
    "raw.channel_payloads": "select * exclude (_loaded_at) from raw.channel_payloads order by _batch_id, _record_index",
    "quarantine.files": "select * exclude (quarantined_at) from quarantine.files order by batch_id",
    "quarantine.records": "select * exclude (quarantined_at) from quarantine.records order by batch_id, record_index",
}


def _channels() -> tuple:
    corpus = parse_channels((BAD_INPUTS / "channels.yaml").read_text(encoding="utf-8"), source="bad_inputs")
    return (*load_channels(), *corpus, *parse_channels(EXTRA_CHANNELS, source="test_ingest_parallel"))


def _good_workbook() -> bytes:
    spec = importlib.util.spec_from_file_location("bad_inputs_hostile_workbooks", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.good_workbook()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("parallel")
    folder = work / "landing"
    generate_landing(folder, month="2026-10", items=400, seed=5)
    shutil.copytree(BAD_INPUTS / "landing", folder, dirs_exist_ok=True)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "customers.csv").write_text("id,date,text\ns1,2026-10-05,Иванов\n", encoding="utf-8")
    survey = folder / "survey_csv"
    (survey / "outside.csv").symlink_to(elsewhere / "customers.csv")
    (survey / "dangling.csv").symlink_to(elsewhere / "gone.csv")
    (survey / "inside.csv").symlink_to(survey / "survey_utf8.csv")
    os.mkfifo(survey / "pipe.csv")
    (survey / "survey_utf8_again.csv").write_bytes((survey / "survey_utf8.csv").read_bytes())  # same content
    (folder / "complaint_xlsx" / "z_ok.xlsx").write_bytes(_good_workbook())
    (folder / "tiny_limit").mkdir()
    (folder / "tiny_limit" / "big.jsonl").write_text('{"id": "t1", "date": "2026-10-05", "text": "x"}\n' * 9)
    (folder / "tiny_limit" / "small.jsonl").write_text('{"id": "t2", "date": "2026-10-05", "text": "y"}\n')
    return folder


def _ingest(
    monkeypatch: pytest.MonkeyPatch, landing: Path, archive: Path, *, workers: int, only: set[str] | None = None
) -> tuple[dict[str, list], IngestSummary]:
    monkeypatch.setenv(ingest_pool.WORKERS_ENV, str(workers))
    monkeypatch.setenv(ingest_pool.POOL_MIN_FILES_ENV, "1")
    monkeypatch.setattr(ingest_pool, "CHUNK_FILES", 7)  # many chunks, and chunks across commit groups
    con = connect_memory()
    try:
        summary = ingest_landing(
            con, landing, _channels(), archive_dir=archive, run_id="parallel", group_files=11, only=only
        )
        return _rows(con, archive), summary
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, archive: Path) -> dict[str, list]:
    def plain(value: object) -> object:
        return value.replace(str(archive), "<archive>") if isinstance(value, str) else value

    return {name: [tuple(map(plain, row)) for row in con.execute(sql).fetchall()] for name, sql in TABLES.items()}


def _archived(archive: Path) -> dict[str, bytes]:
    return {str(p.relative_to(archive)): p.read_bytes() for p in archive.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def serial_and_pooled(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as monkeypatch:
        serial = _ingest(monkeypatch, landing, work / "serial_archive", workers=0)
        pooled = _ingest(monkeypatch, landing, work / "pooled_archive", workers=2)
    return {"serial": serial, "pooled": pooled, "work": work}


def test_the_landing_is_varied(serial_and_pooled: dict) -> None:
    rows, summary = serial_and_pooled["serial"]
    reasons = {row[4] for row in rows["quarantine.files"]}
    assert {"symlink_outside_landing", "symlink_in_landing", "dangling_link", "not_a_regular_file"} <= reasons
    assert {"too_large", "unknown_channel", "empty_file", "too_many_cells", "xml_entities"} <= reasons
    assert len(summary.loaded_files) >= 30 and rows["quarantine.records"]
    assert summary.skipped_files.get("survey_csv") == 1  # the same content under a second name


@pytest.mark.parametrize("table", list(TABLES))
def test_the_pool_lands_the_same_rows_in_the_same_order(serial_and_pooled: dict, table: str) -> None:
    serial, pooled = serial_and_pooled["serial"][0][table], serial_and_pooled["pooled"][0][table]
    assert len(pooled) == len(serial)
    assert pooled == serial


def test_the_pool_archives_the_same_bytes_and_reports_the_same_summary(serial_and_pooled: dict) -> None:
    work = serial_and_pooled["work"]
    assert _archived(work / "pooled_archive") == _archived(work / "serial_archive")
    assert serial_and_pooled["pooled"][1] == serial_and_pooled["serial"][1]


def test_a_channel_group_lands_the_same_with_the_pool(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only = {"email_inbox", "survey_csv", "complaint_xlsx"}
    serial = _ingest(monkeypatch, landing, tmp_path / "serial", workers=0, only=only)
    pooled = _ingest(monkeypatch, landing, tmp_path / "pooled", workers=2, only=only)
    assert pooled == serial
    channels = {row[1] for row in serial[0]["raw.batches"]} | {row[1] for row in serial[0]["quarantine.files"]}
    assert {"email_inbox", "survey_csv"} <= channels <= only | {"not_registered"}  # a folder of no channel: always


def test_a_run_below_the_threshold_starts_no_pool(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = []
    monkeypatch.setattr(ingest_pool.OrderedLanding, "_start_pool", lambda self: started.append(self))
    monkeypatch.setenv(ingest_pool.WORKERS_ENV, "2")
    monkeypatch.setenv(ingest_pool.POOL_MIN_FILES_ENV, "100000")
    con = connect_memory()
    summary = ingest_landing(con, landing, _channels(), archive_dir=tmp_path / "archive", run_id="parallel")
    con.close()
    assert started == [] and summary.total_loaded_records > 0


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_worker_count_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ingest_pool.WORKERS_ENV, value)
    with pytest.raises(ValueError, match="OTKLIK_INGEST_WORKERS must be a whole number of 0 or more"):
        ingest_pool.ingest_workers()


INGEST = """
import sys
from pathlib import Path
from transforms.channels import load_channels
from transforms.channels.registry import parse_channels
from warehouse import connect
from warehouse.ingest import ingest_landing
channels = (*load_channels(), *parse_channels(Path(sys.argv[4]).read_text(), source="corpus"),
            *parse_channels(sys.argv[5], source="extra"))
with connect(sys.argv[1]) as con:
    ingest_landing(con, Path(sys.argv[2]), channels, archive_dir=Path(sys.argv[3]), run_id="crash", group_files=11)
"""


def _ingest_process(warehouse: Path, landing: Path, archive: Path, crash_at: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OTKLIK_CRASH_AT"}
    env.update({ingest_pool.WORKERS_ENV: "2", ingest_pool.POOL_MIN_FILES_ENV: "1"})
    if crash_at:
        env["OTKLIK_CRASH_AT"] = crash_at
    # The workers die with the killed process: were one left, it would hold the output pipes open and
    # this call would wait for it until the timeout.
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            INGEST,
            *map(str, (warehouse, landing, archive, BAD_INPUTS / "channels.yaml")),
            EXTRA_CHANNELS,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert process.returncode == (-9 if crash_at else 0), process.stderr[-2000:]
    return process.returncode


@pytest.mark.parametrize("crash_at", ["after_archive:5", "before_commit:2", "after_commit:3"])
def test_a_kill_during_a_pooled_ingest_is_recovered_by_the_next_run(
    serial_and_pooled: dict, landing: Path, tmp_path: Path, crash_at: str
) -> None:
    warehouse, archive = tmp_path / "w.duckdb", tmp_path / "archive"
    _ingest_process(warehouse, landing, archive, crash_at)
    _ingest_process(warehouse, landing, archive, None)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recovered = _rows(con, archive)
    serial = serial_and_pooled["serial"][0]
    for table in TABLES:
        expected = serial[table]
        if table in ("raw.batches", "quarantine.files", "quarantine.records"):  # the run id differs
            expected = [tuple("crash" if v == "parallel" else v for v in row) for row in expected]
        assert recovered[table] == expected, table
