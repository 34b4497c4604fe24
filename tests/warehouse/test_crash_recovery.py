"""kill -9 at every crash point of an ingest, then a normal run: nothing lost, nothing doubled.

Each case runs the real ingest in a subprocess against a warehouse file, kills it with SIGKILL at
one point (warehouse/faults.py), checks that what the kill left is consistent (no half batch),
runs the ingest again, and compares the end state with a run that was never interrupted.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse.faults import CRASH_POINTS

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_landing"
ROOT = Path(__file__).resolve().parent.parent.parent

INGEST = """
import sys
from pathlib import Path
from transforms.channels import load_channels
from warehouse import connect
from warehouse.ingest import ingest_landing
with connect(sys.argv[1]) as con:
    ingest_landing(
        con, Path(sys.argv[2]), load_channels(), archive_dir=Path(sys.argv[3]), run_id="crash-test",
        group_files=int(sys.argv[4]),
    )
"""

STATE = {
    "payloads": "select count(*) from raw.channel_payloads",
    "batches": "select count(*) from raw.batches",
    "quarantined_files": "select count(*) from quarantine.files",
    "quarantined_records": "select count(*) from quarantine.records",
    "distinct_payloads": "select count(distinct (_batch_id, _record_index)) from raw.channel_payloads",
    "ledger_records": "select coalesce(sum(record_count), 0) from raw.batches",
}


def _ingest(warehouse: Path, landing: Path, archive: Path, crash_at: str | None = None, group_files: int = 500) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OTKLIK_CRASH_AT"}
    if crash_at:
        env["OTKLIK_CRASH_AT"] = crash_at
    process = subprocess.run(
        [sys.executable, "-c", INGEST, str(warehouse), str(landing), str(archive), str(group_files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return process.returncode


def _state(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(sql).fetchone()[0] for name, sql in STATE.items()}


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    work = tmp_path_factory.mktemp("clean")
    shutil.copytree(GOLDEN, work / "landing")
    assert _ingest(work / "w.duckdb", work / "landing", work / "archive") == 0
    return _state(work / "w.duckdb")


# The golden landing has 4 readable files: in groups of 500 they commit once (a kill at the first
# pass), one file per group commits four times (a kill at the third pass leaves two committed).
CASES = [(f"{p}:1", 500) for p in CRASH_POINTS] + [(f"{p}:3", 1) for p in CRASH_POINTS]


@pytest.mark.parametrize(("crash_at", "group_files"), CASES)
def test_a_kill_at_any_point_is_recovered_by_the_next_run(
    tmp_path: Path, clean_state: dict[str, int], crash_at: str, group_files: int
) -> None:
    shutil.copytree(GOLDEN, tmp_path / "landing")
    warehouse, landing, archive = tmp_path / "w.duckdb", tmp_path / "landing", tmp_path / "archive"

    killed = _ingest(warehouse, landing, archive, crash_at=crash_at, group_files=group_files)
    assert killed == -9, "the crash point was not reached"
    if warehouse.exists():
        after_kill = _state(warehouse)
        # what the kill left is whole batches only: the ledger and the payloads agree
        assert after_kill["ledger_records"] == after_kill["payloads"] == after_kill["distinct_payloads"]
        assert after_kill["payloads"] <= clean_state["payloads"]

    assert _ingest(warehouse, landing, archive) == 0
    assert _state(warehouse) == clean_state
    assert _ingest(warehouse, landing, archive) == 0
    assert _state(warehouse) == clean_state  # and once more: a third run adds nothing
