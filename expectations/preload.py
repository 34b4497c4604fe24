"""Import Great Expectations in the background while a run does other work, so its checks need not wait.

Importing GX costs ~2 s of pure Python (pandas, scipy, altair, pydantic models), and the first layer a
build checks (raw) paid it in full. ``prepare()``, called as a run starts, imports GX on a thread while
the run ingests and starts its build: DuckDB and the ingest's reader processes leave the interpreter
free part of that time (a +1,000 run at 1M: raw checks 2.15 s → 0.45 s, ingest 1.8 s → 2.6 s).
``validate_layer`` waits for the thread (``wait()``) before it imports anything of GX itself, so GX is
never imported by two threads at once, and a failed background import costs nothing but the time: the
import on the checks' own thread raises the error where it did before.

Call ``prepare()`` once the run's own modules are imported (an import on the main thread that meets the
background one mid-way waits for it), and only in a process that goes on to validate: GX takes ~200 MB.
A thread that imports is no hazard to a fork of the process, as there is none: the ingest's workers
start from a fork server or by spawn (warehouse/ingest_pool.py), its readers in fresh interpreters.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None


def prepare() -> None:
    """Start importing GX on a background thread, unless it is imported or being imported already."""
    global _thread
    with _lock:
        if _thread is not None or "great_expectations" in sys.modules:
            return
        _thread = threading.Thread(target=_import_gx, name="otklik-import-great-expectations", daemon=True)
        _thread.start()


def wait() -> None:
    """Return once the background import (if one was started) has ended, however it ended."""
    thread = _thread
    if thread is not None:
        thread.join()


# What the first validation imports: GX, what the suites are built of, the validator that runs them.
MODULES = ("great_expectations", "great_expectations.expectations", "great_expectations.validator.v1_validator")


def _import_gx() -> None:
    # A failure is left to the checks' own import, which raises it again where it is reported.
    with contextlib.suppress(Exception):
        for name in MODULES:
            importlib.import_module(name)
