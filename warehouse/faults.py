"""Named crash points for the crash-recovery tests (kill -9 between two steps of an ingest).

``crash_point("after_archive")`` kills this process with SIGKILL when OTKLIK_CRASH_AT names that
point (``after_archive`` for its first pass, ``after_archive:3`` for its third); otherwise it does
nothing. Production never sets the variable. The points sit between the steps whose order
matters for recovery, so a test can prove that a kill at each of them loses nothing and
duplicates nothing on the next run.
"""

import os
import signal
from collections import Counter

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
