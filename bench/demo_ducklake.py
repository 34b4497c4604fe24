"""The demo on a DuckLake against the demo on a DuckDB file: the fingerprint of every core and marts table.

Runs ``otklik demo`` twice on the same generated landing folder, the same PII key and the same clock:
once on a DuckDB file, once on a DuckLake whose catalog is the project's PostgreSQL (``otklik postgres
start``; a fresh catalog database per run, dropped at the end) and whose data files are in the work
folder. Then it fingerprints every core and marts table on both without the columns its spec declares
run-local (``warehouse.build.comparable_fingerprint``; ``run_local`` in transforms/sql/<layer>/<name>.yml):
the two runs load the same files at different wall-clock times, so a column that holds or falls back
to when this warehouse loaded a batch differs by those times and nothing else. It prints the columns
left out and why, the tables identical and differing, and in a differing table the columns that
differ; it exits 1 when any table differs outside its run-local columns (or is missing on the lake).
The demo's QA verdicts are dated on the demo's clock (flows/sample_checks.py), so they are compared.

    .venv/bin/python bench/demo_ducklake.py --workdir /tmp/demo-lake [--months 13 --items 1400]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from otklik.local_postgres import CATALOG_USER, local_postgres  # noqa: E402
from transforms.model_specs import run_local_columns  # noqa: E402
from warehouse.build import comparable_fingerprint, fingerprint  # noqa: E402
from warehouse.connection import connect  # noqa: E402
from warehouse.lake import parse_target  # noqa: E402

AS_OF = "2026-11-01T00:00:00+00:00"


def run_demo(env: dict[str, str], args: argparse.Namespace) -> float:
    started = time.perf_counter()
    command = [str(ROOT / ".venv/bin/otklik"), "demo", "--months", str(args.months), "--items", str(args.items)]
    subprocess.run([*command, "--as-of", AS_OF], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def tables(con) -> list[str]:
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        " and schema_name in ('core', 'marts') order by all"
    ).fetchall()
    return [f"{schema}.{name}" for schema, name in rows]


def column_fingerprints(con, table: str) -> dict[str, tuple[int, str]]:
    """The fingerprint of each column of ``table`` alone: which columns make two tables differ."""
    columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    return {column: fingerprint(con, f'(select "{column}" from {table})') for column in columns}


def fingerprints(con, names: list[str]) -> dict[str, dict]:
    """Of each table: its comparable fingerprint, its whole one, and each column's."""
    return {
        t: {
            "comparable": comparable_fingerprint(con, t),
            "whole": fingerprint(con, t),
            "columns": column_fingerprints(con, t),
        }
        for t in names
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--items", type=int, default=1400)
    args = parser.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    server = local_postgres()
    server.start()
    database = f"otklik_demo_bench_{os.getpid()}"
    with server.admin() as pg:
        pg.execute(f"create database {database} owner {CATALOG_USER}")
    base = {
        **os.environ,
        "OTKLIK_LANDING": str(work / "landing"),
        "OTKLIK_ARCHIVE": str(work / "archive"),
        "OTKLIK_PII_KEY": "demo-bench-key-0123456789abcdef0123",
    }
    file_env = {**base, "OTKLIK_WAREHOUSE": str(work / "otklik.duckdb"), "OTKLIK_REPORTS": str(work / "reports-file")}
    setting = server.warehouse_setting().replace(f"dbname={CATALOG_USER}", f"dbname={database}")
    lake_env = {
        **base,
        "OTKLIK_WAREHOUSE": setting,
        "OTKLIK_LAKE_PASSWORD": server.password(),
        "OTKLIK_LAKE_DATA_PATH": str(work / "lake"),
        "OTKLIK_REPORTS": str(work / "reports-lake"),
    }
    try:
        seconds = {"file": run_demo(file_env, args), "lake": run_demo(lake_env, args)}
        with connect(work / "otklik.duckdb", read_only=True) as file:
            names = tables(file)
            on_file = fingerprints(file, names)
        with connect(parse_target(setting, lake_env), read_only=True) as lake:
            lake_names = tables(lake)
            on_lake = fingerprints(lake, [t for t in names if t in lake_names])
    finally:
        with server.admin() as pg:
            pg.execute(f"drop database if exists {database} with (force)")
    report = compare(on_file, on_lake, names)
    report = {
        "months": args.months,
        "items": args.items,
        "demo_seconds": {k: round(v, 1) for k, v in seconds.items()},
    } | report
    print(json.dumps(report, indent=2, ensure_ascii=False))
    sys.exit(1 if report["differ"] or report["missing_on_lake"] else 0)


def compare(on_file: dict[str, dict], on_lake: dict[str, dict], names: list[str]) -> dict:
    """The tables identical and differing once their run-local columns are left out, and the columns left out."""

    def differing_columns(table: str) -> list[str]:
        lake_columns = on_lake.get(table, {}).get("columns", {})
        return sorted(c for c, fp in on_file[table]["columns"].items() if lake_columns.get(c) != fp)

    present = [t for t in names if t in on_lake]
    differ = sorted(t for t in present if on_lake[t]["comparable"] != on_file[t]["comparable"])
    excluded = {t: run_local_columns(t) for t in names if run_local_columns(t)}
    return {
        "tables": len(names),
        "missing_on_lake": sorted(set(names) - set(on_lake)),
        "run_local_excluded": excluded,
        # the run-local columns that did differ (the reason they are left out), table by table
        "run_local_differing": {
            t: [c for c in differing_columns(t) if c in excluded[t]] for t in excluded if t in on_lake
        },
        "identical": len(present) - len(differ),
        "identical_whole": sum(on_lake[t]["whole"] == on_file[t]["whole"] for t in present),
        "differ": {
            t: {"file": on_file[t]["comparable"], "lake": on_lake[t]["comparable"], "columns": differing_columns(t)}
            for t in differ
        },
    }


if __name__ == "__main__":
    main()
