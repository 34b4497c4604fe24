"""Named crash and pause points for the recovery and concurrency tests.

``crash_point("after_archive")`` kills this process with SIGKILL when OTKLIK_CRASH_AT names that
point (``after_archive`` for its first pass, ``after_archive:3`` for its third); otherwise it does
nothing. Production never sets the variable. The points sit between the steps whose order
matters for recovery, so a test can prove that a kill at each of them loses nothing and
duplicates nothing on the next run.

``pause_point("after_layer:staging")`` waits there when OTKLIK_PAUSE_AT names the point: it creates
``$OTKLIK_PAUSE_FILE.paused`` and waits (up to 120 s) until ``$OTKLIK_PAUSE_FILE.go`` exists, so a test
can start another process exactly between two steps (an ingest between two layers of a build).
"""

import os
import signal
import time
from collections import Counter
from pathlib import Path

CRASH_POINTS = ("after_archive", "before_commit", "after_commit")

_passes: Counter[str] = Counter()


def crash_point(name: str) -> None:
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    target = os.environ.get("OTKLIK_CRASH_AT")
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    _passes[name] += 1
    if _passes[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def pause_point(name: str) -> None:
    if os.environ.get("OTKLIK_PAUSE_AT") != name:
        return
    marker = Path(os.environ["OTKLIK_PAUSE_FILE"])
    marker.with_suffix(".paused").touch()
    deadline = time.monotonic() + 120
    while not marker.with_suffix(".go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
