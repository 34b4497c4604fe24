"""Two processes at the warehouse at once: the second waits for the first instead of failing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse import connect
from warehouse.locking import WarehouseBusy

ROOT = Path(__file__).resolve().parent.parent.parent

HOLD = """
import sys, time
from warehouse import connect
with connect(sys.argv[1]) as con:
    con.execute("create table if not exists main.holder (n int)")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.execute("insert into main.holder values (1)")
"""


def _hold(warehouse: Path, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "holding"  # the other process has the file open now
    return process


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
def test_a_second_process_waits_for_the_writer_instead_of_failing(tmp_path: Path, read_only: bool) -> None:
    warehouse = tmp_path / "w.duckdb"
    holder = _hold(warehouse, 2.0)
    started = time.monotonic()
    with connect(warehouse, read_only=read_only) as con:  # without the lock: "Could not set lock on file"
        waited = time.monotonic() - started
        assert con.execute("select count(*) from main.holder").fetchone() == (1,)  # the writer had finished
    holder.wait(timeout=30)
    assert holder.returncode == 0
    assert waited >= 1.0


def test_a_writer_that_waits_too_long_gets_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "w.duckdb"
    holder = _hold(warehouse, 3.0)
    monkeypatch.setenv("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", "0.5")
    with pytest.raises(WarehouseBusy, match=rf"pid {holder.pid} since"), connect(warehouse):
        pass
    holder.wait(timeout=30)


def test_opens_nest_within_one_process(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as outer:
        outer.execute("create table main.t (n int)")
        outer.execute("checkpoint")
    with connect(warehouse) as con, connect(warehouse) as again:  # the same process: no self-deadlock
        assert con.execute("select count(*) from main.t").fetchone() == (0,)
        assert again is not None
    assert os.path.exists(str(warehouse) + ".lock")
