"""Ingest + normalize throughput on generated native-format exports.

    .venv/bin/python bench/bench_ingest.py --items 25000          # the demo volume
    .venv/bin/python bench/bench_ingest.py --items 1000000        # 40x: ~200k .eml files among them

Generates a landing folder (not timed in the rates), ingests it into a fresh file warehouse
(landing → archive → raw), builds the staging layer (normalization of every channel), and prints
wall times and rows per second for each step and both together. Run on an otherwise idle machine.
"""

import argparse
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
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="otklik-bench-"))
    landing = work / "landing"
    if landing.exists():
        shutil.rmtree(landing)

    started = time.perf_counter()
    generate_landing(landing, month=args.month, items=args.items, seed=1)
    files = sum(1 for p in landing.rglob("*") if p.is_file())
    print(f"generated {args.items:,} items in {files:,} files: {time.perf_counter() - started:.1f} s")

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
    with connect(warehouse) as con:
        started = time.perf_counter()
        summary = ingest_landing(con, landing, ctx.channels, archive_dir=work / "archive", run_id="bench")
        ingest_s = time.perf_counter() - started
        records = summary.total_loaded_records
        started = time.perf_counter()
        built = build_layer(con, "staging", ctx)
        staging_s = time.perf_counter() - started
    entity_tables = {schema.staging_table for schema in ENTITY_SCHEMAS.values()}
    staged = sum(v for k, v in built.items() if k in entity_tables)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ingest:    {records:,} records in {ingest_s:.1f} s = {records / ingest_s:,.0f} records/s")
    print(f"normalize: {staged:,} staged rows in {staging_s:.1f} s = {staged / staging_s:,.0f} rows/s")
    print(f"together:  {records / (ingest_s + staging_s):,.0f} records/s; peak RSS {rss_mb:,.0f} MB")
    if args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
