"""One ingest worker of a channel group on a DuckLake warehouse, run as an OS process of its own.

It stands in for a Prefect worker on another host: it does what ``flows/ingest.py``'s ``land-files``
task does (``connect(channels=...)``, ``start_run``, ``ingest_landing(only=...)``, ``finish_run``) for the
channel folders it is given, on the lake that ``OTKLIK_WAREHOUSE`` names. Used by
tests/integration/test_lake_concurrent_ingest.py and bench/bench_lake_ingest.py:

    python -m tests.integration.lake_ingest_worker '<json spec>'

The spec: ``landing``, ``archive``, ``report`` (a JSON file it writes), ``run_id``, ``channels``,
``group_files`` (files per commit: small, so that concurrent workers commit many times), and
``record_run`` / ``land`` (default both): whether it opens and closes its run in audit.runs as the
flow does (``start_run``, ``finish_run``), and whether it lands anything. Once it holds its locks it
waits at the pause point ``lake_ingest:start`` (warehouse/faults.py; when the caller sets
``OTKLIK_PAUSE_AT``), so that a caller can let all workers go at the same moment. Its report says when
it started, recorded its run, finished landing and finished, what it landed and how many lost DuckLake
conflicts it ran again (``retry_conflicts``, counted by wrapping it; nothing else of the ingest is
changed). A kill (``-9``, or ``OTKLIK_CRASH_AT``) leaves the report with its start only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

START_POINT = "lake_ingest:start"


class ConflictCounter:
    """Counts the attempts that ``retry_conflicts`` ran again (each one a transaction that lost a conflict)."""

    def __init__(self) -> None:
        self.retried = 0

    def install(self) -> None:
        for module in [m for name, m in sys.modules.items() if name in ("warehouse.ingest", "warehouse.runs")]:
            module.retry_conflicts = self._wrap(module.retry_conflicts)

    def _wrap(self, retry_conflicts):
        def counted(action, **options):
            attempts = 0

            def attempt():
                nonlocal attempts
                attempts += 1
                return action()

            try:
                return retry_conflicts(attempt, **options)
            finally:
                self.retried += max(0, attempts - 1)

        return counted


def deal_into_groups(landing: Path, count: int) -> list[tuple[list[str], int]]:
    """The channel folders dealt into ``count`` groups of about the same number of files (largest first)."""
    sizes = {
        folder.name: sum(1 for f in folder.rglob("*") if f.is_file()) for folder in landing.iterdir() if folder.is_dir()
    }
    groups: list[tuple[list[str], int]] = [([], 0) for _ in range(count)]
    for name, files in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        smallest = min(range(count), key=lambda i: groups[i][1])
        groups[smallest] = (groups[smallest][0] + [name], groups[smallest][1] + files)
    return groups


def _write(path: Path, report: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report), encoding="utf-8")
    os.replace(temporary, path)


def run(spec: dict) -> dict:
    """Land the spec's channel folders on the lake; return (and write) the worker's report."""
    from transforms.channels import load_channels
    from warehouse.connection import connect
    from warehouse.faults import pause_point
    from warehouse.ingest import ingest_landing

    record_run, land = bool(spec.get("record_run", True)), bool(spec.get("land", True))
    if record_run:
        from warehouse.runs import finish_run, start_run
    counter = ConflictCounter()
    counter.install()
    only = set(spec["channels"])
    report_path = Path(spec["report"])
    with connect(channels=only) as con:
        pause_point(START_POINT)
        report = {"pid": os.getpid(), "run_id": spec["run_id"], "started": time.time()}
        _write(report_path, report)
        if record_run:
            start_run(con, spec["run_id"], "ingest-channels", {"channels": sorted(only), "landing": spec["landing"]})
            report["run_recorded"] = time.time()
        if land:
            summary = ingest_landing(
                con,
                Path(spec["landing"]),
                load_channels(),
                archive_dir=Path(spec["archive"]),
                run_id=spec["run_id"],
                only=only,
                group_files=int(spec["group_files"]),
            )
            report |= {"landed": time.time(), "summary": asdict(summary)}
        if record_run:
            finish_run(con, spec["run_id"], "completed")
        report |= {"finished": time.time(), "conflicts_retried": counter.retried}
    _write(report_path, report)
    return report


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
