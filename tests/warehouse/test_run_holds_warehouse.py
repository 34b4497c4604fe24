"""A build holds the warehouse for its whole run: an ingest forced between two of its layers waits.

The build runs in a subprocess against a warehouse file and pauses after its raw layer
(warehouse/faults.py ``pause_point``), which is where, with a lock per layer, an ingest landed a
batch that staging read but the run had not recorded as its input, so that `otklik replay` of the
untampered run reported «NOT identical». Here the ingest is started exactly there: it must wait,
land after the build, and the replay of the build must be identical.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.golden import AS_OF, GOLDEN
from transforms.channels import load_channels
from warehouse import connect
from warehouse.ingest import ingest_landing
from warehouse.locking import WarehouseBusy
from warehouse.replay import replay_run
from warehouse.runs import mark_abandoned_runs, new_run_id, run_inputs, start_run

ROOT = Path(__file__).resolve().parent.parent.parent
KEY = "golden-test-key-0123456789abcdef"

BUILD = """
import sys
from datetime import datetime
from flows._tasks import build_context
from warehouse import connect
from warehouse.build import CHECKED_LAYERS, build_and_check_layer
from warehouse.build_run import run_build

as_of = datetime.fromisoformat(sys.argv[1])
ctx = build_context(as_of)

def step(layer, run_id):
    with connect() as con:
        return build_and_check_layer(con, layer, ctx, run_id=run_id)

run_id, _ = run_build(CHECKED_LAYERS, step, as_of=as_of, parameters={"as_of": sys.argv[1]})
print(run_id, flush=True)
"""


def _more_calls(landing: Path) -> None:
    """A file that lands later: the next day's post-call survey of the golden IVR file."""
    ivr = landing / "ivr_post_call_survey"
    more = (ivr / "ivr_2026-10-05.csv").read_bytes().replace(b"CALL-", b"CALL-9").replace(b"05.10.2026", b"06.10.2026")
    (ivr / "ivr_2026-10-06.csv").write_bytes(more)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_an_ingest_started_between_two_layers_of_a_build_waits_and_the_replay_is_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, archive, warehouse = tmp_path / "landing", tmp_path / "archive", tmp_path / "w.duckdb"
    pause = tmp_path / "pause"
    shutil.copytree(GOLDEN, landing)
    with connect(warehouse) as con:
        ingest_landing(con, landing, load_channels(), archive_dir=archive, run_id="ingest-1")
        before = {r[0] for r in con.execute("select batch_id from raw.batches").fetchall()}
    _more_calls(landing)

    env = os.environ | {
        "OTKLIK_WAREHOUSE": str(warehouse),
        "OTKLIK_PII_KEY": KEY,
        "OTKLIK_PAUSE_AT": "after_layer:raw",
        "OTKLIK_PAUSE_FILE": str(pause),
    }
    build = subprocess.Popen(
        [sys.executable, "-c", BUILD, AS_OF.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(pause.with_suffix(".paused"), build)  # the build has recorded its inputs and checked raw

        monkeypatch.setenv("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", "0.3")
        busy = rf"build-warehouse run \S+, pid {build.pid} since"
        with pytest.raises(WarehouseBusy, match=busy), connect(warehouse):
            pass
        monkeypatch.setenv("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", "300")

        landed: dict[str, object] = {}

        def ingest() -> None:
            with connect(warehouse) as con:
                landed["at"] = time.monotonic()
                landed["summary"] = ingest_landing(
                    con, landing, load_channels(), archive_dir=archive, run_id="ingest-2"
                )

        ingesting = threading.Thread(target=ingest)
        ingesting.start()
        time.sleep(1.0)
        assert "at" not in landed  # still waiting for the build
        pause.with_suffix(".go").touch()
        out, err = build.communicate(timeout=300)
        build_ended = time.monotonic()
        ingesting.join(timeout=300)
    finally:
        if build.poll() is None:
            build.kill()
    assert build.returncode == 0, err
    assert landed["at"] <= build_ended and sum(landed["summary"].loaded_files.values()) == 1
    run_id = out.split()[-1]

    with connect(warehouse, read_only=True) as con:
        after = {r[0] for r in con.execute("select batch_id from raw.batches").fetchall()}
        assert len(after) == len(before) + 1  # the ingest landed, after the build
        assert set(run_inputs(con, run_id)) == before
        assert con.execute("select state from audit.runs where run_id = ?", [run_id]).fetchone() == ("completed",)
        result = replay_run(con, run_id, pii_key=KEY.encode(), checks=False)
    assert result.identical, "\n".join(result.report_lines())
    assert "waiting for the warehouse" not in err  # the build itself never waited


START_AND_DIE = """
import os, signal, sys
from warehouse import connect
from warehouse.runs import start_run
with connect(sys.argv[1]) as con:
    start_run(con, sys.argv[2], "build-warehouse", {})
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_whose_process_died_is_marked_abandoned_by_the_next_run(tmp_path: Path) -> None:
    warehouse, dead = tmp_path / "w.duckdb", new_run_id()
    died = subprocess.run([sys.executable, "-c", START_AND_DIE, str(warehouse), dead], cwd=ROOT, timeout=120)
    assert died.returncode == -signal.SIGKILL
    with connect(warehouse) as con:
        assert con.execute("select state from audit.runs where run_id = ?", [dead]).fetchone() == ("running",)
        alive = new_run_id()
        start_run(con, alive, "ingest-channels", {})
        state, message = con.execute("select state, message from audit.runs where run_id = ?", [dead]).fetchone()
        assert state == "abandoned"
        assert message.startswith("its process (pid ") and "ended without finishing the run" in message
        assert con.execute("select state from audit.runs where run_id = ?", [alive]).fetchone() == ("running",)
        assert mark_abandoned_runs(con) == []  # this process's own run is alive
