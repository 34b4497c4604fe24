"""N ingest workers landing one generated month into a DuckLake at the same time: speed and exact totals.

A throwaway PostgreSQL (``otklik.local_postgres.LocalPostgres`` in a temporary folder, on a free port,
without fsync) holds the lake's catalog; the lake's data files go under ``--workdir``. The month's
channel folders are dealt into ``--workers`` groups of about the same number of files, and one OS
process per group (tests/integration/lake_ingest_worker.py: what flows/ingest.py's ``land-files`` does)
lands its group, committing every ``--group-files`` files. The workers start together (each waits at a
pause point once it holds its locks). Then the same landing is ingested by one process into a DuckDB
file, for the totals check and as the serial reference.

Prints: the wall time of the concurrent landing (from the common start to the last worker's end),
batches/s and items/s (payload rows), the conflicts retried (DuckLake's own commit retries, counted
in PostgreSQL's log as the losing inserts of a snapshot id, and the logical conflicts that
``retry_conflicts`` ran again), and the totals check (batches, payloads, quarantined records and files
per channel, lake against file).

    .venv/bin/python bench/bench_lake_ingest.py --items 5000 --workers 4 --workdir /tmp/bench-lake
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otklik.local_postgres import CATALOG_USER, LocalPostgres  # noqa: E402
from otklik.sample.generate import generate_landing  # noqa: E402
from tests.flows.extract.imap_server import free_port  # noqa: E402
from tests.integration.lake_ingest_worker import START_POINT, deal_into_groups  # noqa: E402
from transforms.channels import load_channels  # noqa: E402
from warehouse.connection import connect  # noqa: E402
from warehouse.ingest import ingest_landing  # noqa: E402
from warehouse.lake import parse_target  # noqa: E402

TOTALS = {
    "batches": "select channel_id, count(*) from raw.batches group by all",
    "payloads": "select channel_id, count(*) from raw.channel_payloads group by all",
    "quarantined records": "select channel_id, count(*) from quarantine.records group by all",
    "quarantined files": "select channel_id, count(*) from quarantine.files group by all",
}
SNAPSHOT_RACE = 'violates unique constraint "ducklake_snapshot_pkey"'


def totals(target) -> dict[str, dict[str, int]]:
    with connect(target, read_only=True) as con:
        return {name: dict(con.execute(sql).fetchall()) for name, sql in TOTALS.items()}


def run_workers(args: argparse.Namespace, setting: str, password: str, landing: Path, work: Path) -> dict:
    """Start one worker per group, let them go together; return the wall time and their reports."""
    groups = deal_into_groups(landing, args.workers)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_CRASH", "OTKLIK_PAUSE"))}
    processes = []
    for index, (channels, _files) in enumerate(groups):
        spec = {
            "landing": str(landing),
            "archive": str(work / "archive"),
            "report": str(work / f"worker-{index}.json"),
            "run_id": f"bench-group-{index}",
            "channels": channels,
            "group_files": args.group_files,
            "record_run": args.record_runs,
        }
        env = {
            **base,
            "PYTHONPATH": str(ROOT),
            "OTKLIK_WAREHOUSE": setting,
            "OTKLIK_LAKE_PASSWORD": password,
            "OTKLIK_LAKE_DATA_PATH": str(work / "data"),
            "OTKLIK_INGEST_WORKERS": str(args.read_workers),
            "OTKLIK_PAUSE_AT": START_POINT,
            "OTKLIK_PAUSE_FILE": str(work / f"worker-{index}"),
        }
        command = [sys.executable, "-m", "tests.integration.lake_ingest_worker", json.dumps(spec)]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env))
    while not all((work / f"worker-{i}.paused").exists() for i in range(len(groups))):
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker ended before the start")
        time.sleep(0.05)
    started = time.time()
    for index in range(len(groups)):
        (work / f"worker-{index}.go").touch()
    codes = [p.wait() for p in processes]
    if any(codes):
        raise SystemExit(f"workers failed: exit codes {codes}")
    reports = [json.loads((work / f"worker-{i}.json").read_text()) for i in range(len(groups))]
    return {"wall": max(r["finished"] for r in reports) - started, "reports": reports, "groups": groups}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--group-files", type=int, default=20, help="files per commit (default 20)")
    parser.add_argument("--read-workers", type=int, default=0, help="OTKLIK_INGEST_WORKERS of each worker (0: none)")
    parser.add_argument("--record-runs", action="store_true", help="also open and close each run in audit.runs")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("data", "archive", "reference-archive"):
        shutil.rmtree(work / stale, ignore_errors=True)
    for stale in [work / "reference.duckdb", *work.glob("worker-*")]:  # a last run's pause markers and reports
        stale.unlink(missing_ok=True)
    landing = work / f"landing-{args.month}-{args.items}-{args.seed}"
    if not landing.exists():
        generate_landing(landing, month=args.month, items=args.items, seed=args.seed)
    files = sum(1 for f in landing.rglob("*") if f.is_file())

    server = LocalPostgres(root=Path(tempfile.mkdtemp(prefix="otklik-bench-pg-")), port=free_port(), durable=False)
    try:
        server.start()
        setting = f"ducklake:postgres:dbname=otklik host=127.0.0.1 port={server.port} user={CATALOG_USER}"
        target = parse_target(
            setting, {"OTKLIK_LAKE_PASSWORD": server.password(), "OTKLIK_LAKE_DATA_PATH": str(work / "data")}
        )
        with connect(target):
            pass  # migrated before the clock starts
        log_before = server.log.read_text(errors="replace").count(SNAPSHOT_RACE)
        result = run_workers(args, setting, server.password(), landing, work)
        snapshot_races = server.log.read_text(errors="replace").count(SNAPSHOT_RACE) - log_before
        on_lake = totals(target)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)

    started = time.perf_counter()
    with connect(work / "reference.duckdb") as con:
        ingest_landing(con, landing, load_channels(), archive_dir=work / "reference-archive", run_id="reference")
    serial = time.perf_counter() - started
    on_file = totals(work / "reference.duckdb")

    batches = sum(on_lake["batches"].values())
    items = sum(on_lake["payloads"].values())
    retried = sum(r["conflicts_retried"] for r in result["reports"])
    print(f"{args.workers} workers, {files} files ({args.items} items, {args.month}), group_files {args.group_files}")
    print(f"groups (files): {[n for _, n in result['groups']]}")
    print(f"wall time (concurrent landing): {result['wall']:.2f} s")
    print(f"batches/s: {batches / result['wall']:.1f}  ({batches} batches)")
    print(f"items/s: {items / result['wall']:.1f}  ({items} payload rows)")
    print(f"conflicts retried: {snapshot_races} DuckLake commit retries (snapshot id), {retried} logical")
    for report in result["reports"]:
        print(f"  {report['run_id']}: {report['finished'] - report['started']:.2f} s")
    print(f"serial reference (one process, DuckDB file): {serial:.2f} s")
    differ = {name: (on_lake[name], on_file[name]) for name in TOTALS if on_lake[name] != on_file[name]}
    print("totals check: " + ("lake == file for " + ", ".join(TOTALS) if not differ else f"DIFFERENT {differ}"))
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
