"""Ingest + normalize throughput on generated native-format exports.

    .venv/bin/python bench/bench_ingest.py --items 25000          # the demo volume
    .venv/bin/python bench/bench_ingest.py --items 1000000        # 40x: ~200k .eml files among them
    .venv/bin/python bench/bench_ingest.py --landing L1 L2 --workers 0 --no-normalize   # ingest only, serial

Generates a landing folder (not timed in the rates), or takes the given ones (``--landing``: e.g. the
month folders bench/bench_pipeline.py generated, ingested in order), ingests it into a fresh file
warehouse (landing → archive → raw), builds the staging layer (normalization of every channel), and
prints wall times and rows per second for each step and both together. ``--workers`` sets
OTKLIK_INGEST_WORKERS (0: no reader pool, the serial ingest; default: the machine's cores). Run on
an otherwise idle machine.
"""

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from otklik.sample import generate_landing
from transforms.channels import load_channels
from transforms.dag import BuildContext
from transforms.org import load_org
from transforms.schemas import ENTITY_SCHEMAS
from transforms.sla import load_policies
from transforms.taxonomy import load_feedback_types
from warehouse import connect
from warehouse.build import build_layer
from warehouse.ingest import ingest_landing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=25_000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--workdir", type=Path, default=None, help="kept afterwards when given")
    parser.add_argument("--landing", type=Path, nargs="+", help="ingest these landing folders instead of generating")
    parser.add_argument("--workers", type=int, default=None, help="OTKLIK_INGEST_WORKERS for this run")
    parser.add_argument("--no-normalize", action="store_true", help="ingest only")
    args = parser.parse_args()
    if args.workers is not None:
        os.environ["OTKLIK_INGEST_WORKERS"] = str(args.workers)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="otklik-bench-"))
    landings = args.landing or [work / "landing"]
    if not args.landing:
        if landings[0].exists():
            shutil.rmtree(landings[0])
        started = time.perf_counter()
        generate_landing(landings[0], month=args.month, items=args.items, seed=1)
        print(f"generated {args.items:,} items: {time.perf_counter() - started:.1f} s")
    inputs = [p for landing in landings for p in landing.rglob("*") if p.is_file()]
    print(f"landing: {len(inputs):,} files, {sum(p.stat().st_size for p in inputs) / 2**20:,.0f} MiB")

    ctx = BuildContext(
        as_of=datetime(2026, 12, 1, tzinfo=UTC),
        reporting_timezone="Europe/Moscow",
        channels=load_channels(),
        org=load_org(),
        feedback_types=load_feedback_types(),
        sla_policies=load_policies(),
        pii_key=b"bench-key-0123456789abcdef012345",
    )
    warehouse = work / "bench.duckdb"
    warehouse.unlink(missing_ok=True)
    shutil.rmtree(work / "archive", ignore_errors=True)
    with connect(warehouse) as con:
        started = time.perf_counter()
        records = 0
        for landing in landings:
            summary = ingest_landing(con, landing, ctx.channels, archive_dir=work / "archive", run_id="bench")
            records += summary.total_loaded_records
        ingest_s = time.perf_counter() - started
        workers = os.environ.get("OTKLIK_INGEST_WORKERS", f"default ({os.cpu_count()})")
        print(
            f"ingest:    {records:,} records in {ingest_s:.1f} s = {records / ingest_s:,.0f} records/s"
            f" (OTKLIK_INGEST_WORKERS={workers}); CPU of this process and its children so far: {_cpu_seconds()}"
        )
        if args.no_normalize:
            if args.workdir is None:
                shutil.rmtree(work)
            return
        started = time.perf_counter()
        built = build_layer(con, "staging", ctx)
        staging_s = time.perf_counter() - started
    entity_tables = {schema.staging_table for schema in ENTITY_SCHEMAS.values()}
    staged = sum(v for k, v in built.items() if k in entity_tables)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"normalize: {staged:,} staged rows in {staging_s:.1f} s = {staged / staging_s:,.0f} rows/s")
    print(f"together:  {records / (ingest_s + staging_s):,.0f} records/s; peak RSS {rss_mb:,.0f} MB")
    if args.workdir is None:
        shutil.rmtree(work)


def _cpu_seconds() -> str:
    """CPU seconds (user + system) of this process and every process below it, reader workers included.

    The reader workers are children of the pool's fork server, which reaps them; it is still running,
    so its own time and its reaped children's are read from /proc (Linux only).
    """
    used = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = used.ru_utime + used.ru_stime + reaped.ru_utime + reaped.ru_stime
    try:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    except OSError:
        return "n/a (no /proc)"
    tick = os.sysconf("SC_CLK_TCK")
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds += sum(int(v) for v in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return f"{seconds:.1f} s"


if __name__ == "__main__":
    main()
