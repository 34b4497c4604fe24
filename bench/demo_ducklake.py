"""The demo on a DuckLake against the demo on a DuckDB file: the fingerprint of every core and marts table.

Runs ``otklik demo`` twice on the same generated landing folder, the same PII key and the same clock:
once on a DuckDB file, once on a DuckLake whose catalog is the project's PostgreSQL (``otklik postgres
start``; a fresh catalog database per run, dropped at the end) and whose data files are in the work
folder. Then it fingerprints every core and marts table on both (``warehouse.build.fingerprint``) and
prints the tables that differ, and in them the columns that differ. The two runs land the same files
at different times and draw and check their QA samples at different times, so a column that holds or
follows from such a time (when a batch was loaded, when a sample was drawn) differs by those times.

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
from warehouse.build import fingerprint  # noqa: E402
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
    found = {}
    for column in columns:
        con.execute(f'create or replace temp view _column as select "{column}" from {table}')
        found[column] = fingerprint(con, "_column")
    return found


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
            on_file = {t: fingerprint(file, t) for t in names}
            file_columns = {t: column_fingerprints(file, t) for t in names}
        with connect(parse_target(setting, lake_env), read_only=True) as lake:
            lake_names = tables(lake)
            on_lake = {t: fingerprint(lake, t) for t in names if t in lake_names}
            lake_columns = {t: column_fingerprints(lake, t) for t in names if t in lake_names}
    finally:
        with server.admin() as pg:
            pg.execute(f"drop database if exists {database} with (force)")
    differ = sorted(t for t in names if on_lake.get(t) != on_file[t])
    report = {
        "months": args.months,
        "items": args.items,
        "demo_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "tables": len(names),
        "missing_on_lake": sorted(set(names) - set(lake_names)),
        "identical": len(names) - len(differ),
        "differ": {t: {"file": on_file[t], "lake": on_lake.get(t)} for t in differ},
        "columns_that_differ": {
            t: sorted(c for c, fp in file_columns[t].items() if lake_columns.get(t, {}).get(c) != fp) for t in differ
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
