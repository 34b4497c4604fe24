"""Run the scheduled deployments locally: a Prefect server, the deployments of prefect.yaml and a worker.

    .venv/bin/python -m otklik.serve [--port 4200]      (or: make serve)

Starts ``prefect server start`` on 127.0.0.1 (SQLite under .prefect/ unless
PREFECT_API_DATABASE_CONNECTION_URL is set), waits for /api/health, creates the process work
pool if it is missing, runs ``prefect --no-prompt deploy --all`` with OTKLIK_PROJECT_DIR set to
this checkout, starts a worker on the pool, and prints the UI and the next scheduled runs. The
webhook receiver (``otklik receive``, docs/webhooks.md) starts first, on --receiver-port (8088 or
$OTKLIK_RECEIVER_PORT), and is up when /health answers.
Ctrl-C stops the worker, the receiver and the server: SIGINT first, SIGTERM after a grace period
(the worker only escalates on a second signal), then SIGKILL of the whole process group.

Prefect is driven through its CLI and REST API only, so this module never imports prefect
(tests/integration/test_serve.py reuses it without touching the test harness of tests/flows).
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from otklik.prefect_env import DEFAULTS, PROJECT_ROOT

WORK_POOL = "local-process"  # prefect.yaml: definitions.work_pools.local_process
DEFAULT_PORT = 4200
DEFAULT_RECEIVER_PORT = 8088  # otklik/receive_cli.py
RECEIVER_TIMEOUT_SECONDS = 60.0
# A new SQLite database takes about 16 s on an idle machine; a loaded CI box, more.
HEALTH_TIMEOUT_SECONDS = 180.0
CLI_TIMEOUT_SECONDS = 300.0
STOP_GRACE_SECONDS = 10.0


class ServeError(RuntimeError):
    """The stack did not come up; the message says which step and quotes its output."""


def prefect_executable() -> str:
    beside = Path(sys.executable).parent / "prefect"
    return str(beside) if beside.exists() else "prefect"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def stack_env(
    base: Mapping[str, str],
    *,
    api_url: str,
    prefect_home: Path,
    project_dir: Path = PROJECT_ROOT,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of every process of the stack: ``base`` plus the settings the stack needs."""
    env = dict(base)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", DEFAULTS["PREFECT_SERVER_ANALYTICS_ENABLED"])
    env.setdefault("DO_NOT_TRACK", DEFAULTS["DO_NOT_TRACK"])
    # Its own SQLite file, so that an ephemeral run (`otklik demo`) in the same PREFECT_HOME does
    # not open the database this long-running server writes to. Production sets a Postgres URL.
    env.setdefault("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{prefect_home / 'serve.db'}")
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=api_url,
        PREFECT_UI_API_URL=api_url,
        PREFECT_SERVER_EPHEMERAL_ENABLED="false",
        OTKLIK_PROJECT_DIR=str(project_dir),
    )
    env.update(extra or {})
    return env


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(proc: subprocess.Popen, *, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
    """SIGINT to the process group, SIGTERM after ``grace_seconds``, then SIGKILL.

    Every process of the stack leads its own session (start_new_session), so the group holds
    its children too (uvicorn under the server, flow runs under the worker) and none is left behind.
    """
    pgid = proc.pid  # the session leader's pid is its group id
    # The second signal is SIGTERM: it escalates like a second SIGINT, and works even when SIGINT
    # is ignored (a process started with `&` from a script inherits SIGINT ignored).
    for sig, wait in ((signal.SIGINT, grace_seconds), (signal.SIGTERM, grace_seconds / 2)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # The leader is gone or stuck: kill it and anything still in its group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(timeout=30)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


TRANSIENT_STATUS = {429, 502, 503, 504}


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in TRANSIENT_STATUS
    return isinstance(exc, httpx.TransportError)


@dataclass
class Stack:
    """A Prefect server, the project's deployments, one worker and the webhook receiver, as child processes."""

    env: dict[str, str]
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    project_dir: Path = PROJECT_ROOT
    log_dir: Path | None = None  # server.log and worker.log; None: the worker writes to our stdout
    server: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    receiver_port: int | None = None  # None: a free port, chosen when the receiver starts
    receiver: subprocess.Popen | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def receiver_url(self) -> str:
        """The receiver's root: deliveries go to ``{receiver_url}/hooks/<channel id>``."""
        return f"http://{self.host}:{self.receiver_port}"

    def _log(self, name: str) -> IO[bytes] | None:
        if self.log_dir is None:
            return None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(handle)
        return handle

    def log_tail(self, name: str) -> str:
        return _tail(self.log_dir / f"{name}.log" if self.log_dir else None)

    def _spawn(
        self,
        args: list[str],
        log: IO[bytes] | None,
        extra_env: Mapping[str, str] | None = None,
        program: list[str] | None = None,  # None: the prefect CLI
    ):
        return subprocess.Popen(
            [*(program or [prefect_executable()]), *args],
            cwd=self.project_dir,
            env={**self.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,  # our own group: signalled as a whole, untouched by a terminal's Ctrl-C
        )

    def _cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [prefect_executable(), *args],
            cwd=self.project_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )

    # --- start ----------------------------------------------------------------------------

    def start_server(self, timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
        if port_in_use(self.host, self.port):
            raise ServeError(f"port {self.port} on {self.host} is already in use (another Prefect server?)")
        Path(self.env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
        self.server = self._spawn(
            ["server", "start", "--host", self.host, "--port", str(self.port)],
            self._log("server") or subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.server.poll() is not None:
                    raise ServeError(
                        f"the Prefect server exited with {self.server.returncode}\n{self.log_tail('server')}"
                    )
                try:
                    if client.get(f"{self.api_url}/health").json() is True:
                        return
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.5)
        raise ServeError(f"the Prefect server was not healthy after {timeout:.0f} s\n{self.log_tail('server')}")

    def ensure_work_pool(self, name: str = WORK_POOL) -> bool:
        """Create the process work pool unless it exists; True when it was created."""
        if httpx.get(f"{self.api_url}/work_pools/{name}", timeout=30).status_code == 200:
            return False
        done = self._cli("work-pool", "create", name, "--type", "process")
        if done.returncode != 0:
            raise ServeError(f"prefect work-pool create {name} failed\n{done.stdout}\n{done.stderr}")
        return True

    def deploy_all(self) -> str:
        done = self._cli("--no-prompt", "deploy", "--all")
        if done.returncode != 0:
            raise ServeError(f"prefect deploy --all failed\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start_worker(self, pool: str = WORK_POOL, extra_env: Mapping[str, str] | None = None) -> None:
        self.worker = self._spawn(["worker", "start", "--pool", pool], self._log("worker"), extra_env)

    def start_receiver(self, timeout: float = RECEIVER_TIMEOUT_SECONDS) -> None:
        """``otklik receive`` on ``receiver_port``, landing where the stack's OTKLIK_LANDING says."""
        if self.receiver_port is None:
            self.receiver_port = free_port(self.host)
        elif port_in_use(self.host, self.receiver_port):
            raise ServeError(f"port {self.receiver_port} on {self.host} is already in use (another receiver?)")
        self.receiver = self._spawn(
            ["--host", self.host, "--port", str(self.receiver_port)],
            self._log("receiver") or subprocess.DEVNULL,
            program=[sys.executable, "-m", "otklik.receive_cli"],
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.receiver.poll() is not None:
                    raise ServeError(
                        f"the webhook receiver exited with {self.receiver.returncode}\n{self.log_tail('receiver')}"
                    )
                try:
                    if client.get(f"{self.receiver_url}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
        raise ServeError(f"the webhook receiver did not answer after {timeout:.0f} s\n{self.log_tail('receiver')}")

    def start(self, worker_env: Mapping[str, str] | None = None) -> None:
        self.start_receiver()
        self.start_server()
        self.ensure_work_pool()
        self.deploy_all()
        self.start_worker(extra_env=worker_env)

    # --- inspect --------------------------------------------------------------------------

    @retry(
        retry=retry_if_exception(_transient),
        wait=wait_exponential(multiplier=0.5, max=8),
        stop=stop_after_attempt(8),
        reraise=True,
    )
    def api(self, method: str, path: str, json: Any = None) -> Any:
        """One call of the server's REST API; retried, as Prefect's own client does, when the server
        says it is busy (429, 502, 503, 504: its SQLite database is locked by the scheduler or a
        worker for a moment) or the connection drops."""
        response = httpx.request(method, f"{self.api_url}{path}", json=json, timeout=30)
        response.raise_for_status()
        return response.json()

    def deployments(self) -> list[dict]:
        """Every deployment as {name: "<flow>/<deployment>", id, schedules, next_runs}, by name."""
        flows = {f["id"]: f["name"] for f in self.api("POST", "/flows/filter", {})}
        deployments = self.api("POST", "/deployments/filter", {})
        runs = self.api(
            "POST",
            "/flow_runs/filter",
            {
                "deployments": {"id": {"any_": [d["id"] for d in deployments]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                "sort": "EXPECTED_START_TIME_ASC",
                "limit": 200,
            },
        )
        out = []
        for d in deployments:
            out.append(
                {
                    "name": f"{flows.get(d['flow_id'], '?')}/{d['name']}",
                    "id": d["id"],
                    "schedules": [s["schedule"] for s in d.get("schedules") or []],
                    "next_runs": [r["expected_start_time"] for r in runs if r["deployment_id"] == d["id"]],
                }
            )
        return sorted(out, key=lambda d: d["name"])

    def wait_for_schedules(self, timeout: float) -> list[dict]:
        """The deployments once every scheduled one has a SCHEDULED run (or at ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deployments()
            if all(d["next_runs"] for d in found if d["schedules"]) or time.monotonic() > deadline:
                return found
            time.sleep(1)

    def alive(self) -> bool:
        receiver = (self.receiver,) if self.receiver is not None else ()
        return all(p is not None and p.poll() is None for p in (self.server, self.worker, *receiver))

    # --- stop -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Worker first (it may be running a flow that reports to the server), the receiver, then the server."""
        try:
            for proc in (self.worker, self.receiver, self.server):
                if proc is not None:
                    stop_process(proc)
        finally:
            for handle in self._logs:
                handle.close()
            self._logs.clear()


def _schedule_text(schedule: Mapping[str, Any]) -> str:
    if "cron" in schedule:
        return f"cron {schedule['cron']!r} {schedule.get('timezone') or 'UTC'}"
    return str(schedule)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otklik.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("OTKLIK_PREFECT_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--receiver-port", type=int, default=int(os.environ.get("OTKLIK_RECEIVER_PORT", DEFAULT_RECEIVER_PORT))
    )
    args = parser.parse_args(argv)

    prefect_home = Path(os.environ.get("PREFECT_HOME", PROJECT_ROOT / ".prefect")).resolve()
    api_url = f"http://{args.host}:{args.port}/api"
    stack = Stack(
        env=stack_env(os.environ, api_url=api_url, prefect_home=prefect_home),
        host=args.host,
        port=args.port,
        log_dir=prefect_home / "serve",
        receiver_port=args.receiver_port,
    )
    # Explicit handlers: `kill <pid>` stops the stack as cleanly as Ctrl-C, and SIGINT works (and
    # is not ignored by the children either) even when we were started in the background.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        stack.start_receiver()
        print(f"webhook receiver on {stack.receiver_url}/hooks/<channel id> (log: {stack.log_dir / 'receiver.log'})")
        print(f"starting the Prefect server on {stack.ui_url} (log: {stack.log_dir / 'server.log'}) ...", flush=True)
        stack.start_server()
        if stack.ensure_work_pool():
            print(f"created work pool {WORK_POOL!r}")
        print("deploying prefect.yaml ...", flush=True)
        stack.deploy_all()
        stack.start_worker()
        print(f"worker started on pool {WORK_POOL!r} (log: {stack.log_dir / 'worker.log'})")
        print(f"\nPrefect UI: {stack.ui_url}\n")
        for d in stack.wait_for_schedules(timeout=30):
            schedules = ", ".join(_schedule_text(s) for s in d["schedules"]) or "no schedule"
            print(f"  {d['name']:<40} {schedules}")
            nxt = d["next_runs"][:3]
            print(f"  {'':<40} next: {', '.join(nxt) if nxt else '(the scheduler has not created runs yet)'}")
        print("\nCtrl-C stops the worker, the receiver and the server.", flush=True)
        while stack.alive():
            time.sleep(1)
        print("a process of the stack exited on its own; stopping", file=sys.stderr)
        print(*(stack.log_tail(name) for name in ("server", "worker", "receiver")), sep="\n", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the worker, the receiver and the server ...", flush=True)
        return 0
    except ServeError as exc:
        print(f"otklik serve: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not interrupt the shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        started = time.monotonic()
        stack.stop()
        print(f"stopped in {time.monotonic() - started:.1f} s.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
