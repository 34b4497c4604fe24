"""A temporary Prefect server stops when the process that started it is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from otklik.server_guard import gone

ROOT = Path(__file__).resolve().parent.parent.parent

START_SERVER = """
from otklik.prefect_env import configure_prefect_env
configure_prefect_env()
from prefect.client.orchestration import get_client
from prefect.server.api.server import SubprocessASGIServer
with get_client(sync_client=True) as client:
    client.api_healthcheck()
print(SubprocessASGIServer().server_process.pid, flush=True)
import time
time.sleep(600)
"""


def _wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_temporary_server_does_not_outlive_a_killed_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"PREFECT_HOME": str(tmp_path / "prefect")}
    run = subprocess.Popen([sys.executable, "-c", START_SERVER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        server = int(run.stdout.readline())
        assert not gone(server)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        assert _wait_until_gone(server, 15), f"the temporary server (pid {server}) outlived its run"
    finally:
        run.kill()


def test_the_guard_of_a_server_stopped_normally_ends_by_itself(tmp_path: Path) -> None:
    """A stand-in server (sleep) that stops first: its guard leaves, nothing is killed."""
    from otklik.prefect_server import start_guard

    server = subprocess.Popen(["sleep", "30"])
    guard = start_guard(server.pid)
    server.terminate()
    server.wait(timeout=10)
    assert guard.wait(timeout=10) == 0


START_AHEAD = """
from otklik.prefect_env import configure_prefect_env
configure_prefect_env()
from otklik.prefect_server import TemporaryServer
server = TemporaryServer()
url = server.wait_ready(timeout=120)
from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

@flow
def hello() -> int:
    return 42

with temporary_settings(updates={PREFECT_API_URL: url}):
    assert hello() == 42
    from prefect.client.orchestration import get_client
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=1, sort="START_TIME_DESC")
assert runs and runs[0].state.is_completed() and runs[0].flow_id, runs
import sys
sys.modules.get("prefect.server.api.server") is None or sys.exit("the server module was imported here")
print(server.process.pid, flush=True)
server.stop()
print("stopped", flush=True)
import time
time.sleep(600)
"""


def test_a_server_started_ahead_serves_the_flow_runs_and_stops_with_its_starter() -> None:
    # the suite's Prefect home (tests/conftest.py): its database is migrated already, which saves ~8 s
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.Popen([sys.executable, "-c", START_AHEAD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        server = int(run.stdout.readline())
        assert run.stdout.readline().strip() == "stopped"
        assert _wait_until_gone(server, 15), f"stop() left the server (pid {server}) running"
    finally:
        run.kill()
        run.wait()


def test_a_server_that_cannot_start_says_why(tmp_path: Path, monkeypatch) -> None:
    """A server process that exits at once (here a stand-in interpreter that says why and exits): the
    wait ends with its last words, not a timeout."""
    import pytest

    import otklik.prefect_server as prefect_server

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ERROR: address already in use' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(prefect_server.sys, "executable", str(fake))
    server = prefect_server.TemporaryServer()
    try:
        with pytest.raises(RuntimeError, match="temporary Prefect server exited: ERROR: address already in use"):
            server.wait_ready(timeout=60)
    finally:
        server.stop()
    assert server.process is None
