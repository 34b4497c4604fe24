"""The guard of a temporary Prefect server: it stops the server when the process that started it is gone.

Prefect starts its temporary (ephemeral) API server as a child process and stops it at exit; a run
killed with SIGKILL (the OOM killer, ``kill -9``, a CI timeout) never gets there, and the server
lived on, holding a port and its SQLite file, until someone found it. ``otklik.prefect_env`` starts
this guard beside every such server; it is a script run with ``python -S`` (standard library only,
so it costs milliseconds), watching its own parent: when the parent is gone, it sends the server
SIGTERM, then SIGKILL after 5 s. It ends by itself when the server stops first. Ctrl-C is left to
the parent, which stops the server on its way out.

Usage: ``python -S server_guard.py <parent pid> <server pid>``.
"""

import os
import signal
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def gone(pid: int) -> bool:
    """The process has exited (or is a zombie waiting for its parent to collect it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): alive as far as we can tell
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def is_server(pid: int) -> bool:
    """Still the uvicorn server it was started as (not a new process that reused its pid)."""
    try:
        return b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not gone(pid) and not Path("/proc/self").exists()
    except OSError:
        return False


def stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def guard(parent: int, server: int) -> None:
    while os.getppid() == parent:
        if gone(server):
            return
        time.sleep(POLL_SECONDS)
    if not gone(server) and is_server(server):
        stop(server)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    guard(int(sys.argv[1]), int(sys.argv[2]))
