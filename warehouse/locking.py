"""One writer at a time: processes queue for the warehouse file instead of failing on DuckDB's lock.

DuckDB lets one process open a file read-write, and no other process open it at all meanwhile
(read-only opens need every writer gone). Two scheduled flows that start together would otherwise
fail with "Could not set lock on file". Every open through ``warehouse.connect`` therefore takes
an advisory lock on ``<warehouse>.lock`` first: exclusive for writers, shared for readers (several
readers at once are fine), waiting up to a timeout and then failing with a message that names the
holder. Acquisitions nest within one process (a task opening the warehouse inside a flow that
holds it), so the lock never deadlocks against itself.

A run that must see the warehouse unchanged from its first read to its ledger entry (a build reads
the batches it records as its inputs, layer after layer) holds the exclusive lock for its whole
length (``warehouse.connection.hold_warehouse``); every open inside it nests. While a process waits,
it says once on stderr who holds the warehouse and since when.
"""

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

_held: dict[Path, tuple[str, int]] = {}  # lock file -> (mode, depth) held by this process


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for longer than the timeout."""


def say_waiting(message: str) -> None:
    """How a waiting process tells its operator (stderr: stdout may be a report)."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def warehouse_lock(
    target: Path, *, exclusive: bool, timeout_seconds: float, holder: str | None = None
) -> Iterator[None]:
    """Hold the warehouse's lock; ``holder`` says what holds it (a flow and its run) to the waiting."""
    lock_path = target.with_name(target.name + ".lock")
    mode = "exclusive" if exclusive else "shared"
    held = _held.get(lock_path)
    if held is not None and (held[0] == "exclusive" or not exclusive):
        _held[lock_path] = (held[0], held[1] + 1)
        try:
            yield
        finally:
            _held[lock_path] = (held[0], _held[lock_path][1] - 1)
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        _acquire(handle, lock_path, exclusive=exclusive, timeout_seconds=timeout_seconds)
        if exclusive:  # who holds it, for the message another process shows while it waits
            handle.seek(0)
            handle.truncate()
            info = {"pid": os.getpid(), "since": datetime.now(UTC).isoformat(), "what": holder}
            handle.write(json.dumps(info))
            handle.flush()
        _held[lock_path] = (mode, 1)
        try:
            yield
        finally:
            del _held[lock_path]
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, lock_path: Path, *, exclusive: bool, timeout_seconds: float) -> None:
    operation = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + timeout_seconds
    told = False
    while True:
        try:
            fcntl.flock(handle, operation)
            return
        except BlockingIOError:
            if not told:
                say_waiting(f"waiting for the warehouse: it is held by {_holder(lock_path)}")
                told = True
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse stayed locked for {timeout_seconds:.0f} s by another process "
                    f"({_holder(lock_path)}); it may be a long build: try again later, or raise "
                    "OTKLIK_WAREHOUSE_LOCK_TIMEOUT"
                ) from None
            time.sleep(0.1)


def _holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
    except (OSError, ValueError):
        return "holder unknown"
    what = f"{info['what']}, " if info.get("what") else ""
    return f"{what}pid {info.get('pid', '?')} since {info.get('since', '?')}"
