"""The whole pipeline at scale: generate, measure the floor, full rebuild, then an incremental run.

    .venv/bin/python bench/bench_pipeline.py --items 1000000 --months 12 --label 1M
    .venv/bin/python bench/report.py            # the tables of BENCHMARKS.md from bench/results/

1. **Generate** ``--items`` feedback items spread evenly over ``--months`` months ending with
   ``--last-month`` (``otklik generate``, one landing folder per month, two months at a time), and
   ``--incremental`` items of the month after into a folder of their own. Generated folders are kept
   in ``--workdir`` and reused by the next run with the same sizes.
2. **Floor**: DuckDB reads every input file of the run once (``read_blob`` of all files, and
   ``read_json_objects`` parses every JSON/JSONL record), best of three.
3. **Full rebuild**: an empty warehouse, ``bench/run_stages.py`` ingests every month, builds and checks
   every layer and publishes the last month's review, under ``/usr/bin/time -v`` (wall, peak RSS).
4. **Incremental run**: ``--incremental`` new items land; ingest and build again on the same warehouse.

Writes ``bench/results/pipeline-<label>.json`` (or ``--results``) with the machine and versions.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb

from flows.backfill import month_range
from transforms.review.periods import add_months, parse_month

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TIME = "/usr/bin/time"
PII_KEY = "bench-pii-key-not-a-secret-0123456789"


def shift(month: str, by: int) -> str:
    """The month ``by`` months after ``month`` (YYYY-MM)."""
    return f"{add_months(parse_month(month), by):%Y-%m}"


def generate(folder: Path, month: str, items: int, seed: int) -> Path:
    """Sample data of ``items`` into ``folder`` unless a complete earlier generation of the same size is there.

    The marker file (a dot-file: ingestion skips it) holds how many feedback items the generator
    wrote: ``items`` plus what the channels written on top of them add (generate.ON_TOP_WRITERS).
    """
    marker = folder / f".complete-{month}-{items}-{seed}"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    script = (
        "import sys; from pathlib import Path; from otklik.sample.generate import generate_landing; "
        "s = generate_landing(Path(sys.argv[1]), month=sys.argv[2], items=int(sys.argv[3]), seed=int(sys.argv[4])); "
        "print(s.items)"
    )
    done = subprocess.run(
        [PYTHON, "-c", script, str(folder), month, str(items), str(seed)],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
    )
    marker.write_text(done.stdout.strip().splitlines()[-1])
    return folder


def generated_items(folder: Path) -> int:
    """The feedback items ``generate`` wrote into ``folder`` (from its marker)."""
    return sum(int(marker.read_text()) for marker in folder.glob(".complete-*"))


def _env() -> dict[str, str]:
    return {**os.environ, "OTKLIK_PII_KEY": PII_KEY, "COLUMNS": "200"}


def files_of(folders: list[Path]) -> dict[str, list[str]]:
    """Every landed file below the channel folders (dot-files excluded): all, the JSONL and the JSON ones."""
    found: dict[str, list[str]] = {"all": [], ".jsonl": [], ".json": []}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                found["all"].append(str(path))
                if path.suffix in found:
                    found[path.suffix].append(str(path))
    return found


def floor_seconds(folders: list[Path], repeat: int = 3) -> dict:
    """The time DuckDB needs to read every input file once (best of ``repeat``), and what it read.

    Every file is read as bytes; on top, every JSONL line and every JSON document is parsed. CSV,
    TSV, e-mail and XLSX files count as bytes read: their parsing is left out of the floor.
    """
    files = files_of(folders)
    best, found = float("inf"), {}
    for _ in range(repeat):
        con = duckdb.connect()
        started = time.perf_counter()
        n_files, n_bytes = con.execute(
            "select count(*), sum(octet_length(content)) from read_blob(?)", [files["all"]]
        ).fetchone()
        lines = documents = 0
        if files[".jsonl"]:
            lines = con.execute(
                "select count(*) from read_json_objects(?, format = 'newline_delimited', ignore_errors = true)",
                [files[".jsonl"]],
            ).fetchone()[0]
        if files[".json"]:
            documents = con.execute(
                "select count(*) filter (where json_valid(content)) from read_text(?)", [files[".json"]]
            ).fetchone()[0]
        best = min(best, time.perf_counter() - started)
        found = {"files": n_files, "bytes": int(n_bytes or 0), "jsonl_records": lines, "json_documents": documents}
        con.close()
    return {"seconds": round(best, 3), **found}


def parse_time_v(text: str) -> dict:
    """Wall seconds and peak RSS (bytes) from GNU time's ``-v`` report."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if wall is None or rss is None:
        raise RuntimeError(f"no /usr/bin/time -v report in:\n{text[-2000:]}")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {"wall_seconds": round(seconds, 2), "peak_rss_bytes": int(rss.group(1)) * 1024}


def run_stages(workdir: Path, landings: list[Path], *, as_of: str, month: str | None, name: str) -> dict:
    """``bench/run_stages.py`` under ``/usr/bin/time -v``; its stage timings plus wall time and peak RSS."""
    out = workdir / f"{name}.json"
    command = [
        TIME, "-v", PYTHON, str(ROOT / "bench" / "run_stages.py"),
        "--warehouse", str(workdir / "warehouse" / "otklik.duckdb"),
        "--landing", *map(str, landings),
        "--archive", str(workdir / "archive"),
        "--reports", str(workdir / "reports"),
        "--as-of", as_of,
        "--json", str(out),
    ]  # fmt: skip
    if month:
        command += ["--month", month]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=workdir)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return {**parse_time_v(done.stderr), **json.loads(out.read_text())}


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("duckdb", "polars", "prefect", "great-expectations", "xlsxwriter")},
        "commit": commit.strip(),
        # DuckDB's memory per connection (warehouse/connection.py): the peak RSS depends on it
        "memory_limit": os.environ.get("OTKLIK_MEMORY_LIMIT") or "DuckDB's default",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=25_000, help="feedback items of the full history")
    parser.add_argument("--months", type=int, default=1, help="months the items are spread over")
    parser.add_argument("--last-month", default="2026-10")
    parser.add_argument("--incremental", type=int, default=1_000, help="new items of the incremental run (0: none)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label", help="results name (default: the item count)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/otklik-bench"))
    parser.add_argument("--results", type=Path, help="results file (default bench/results/pipeline-<label>.json)")
    parser.add_argument("--no-review", action="store_true", help="skip publishing the last month's review")
    args = parser.parse_args()

    label = args.label or str(args.items)
    months = month_range(shift(args.last_month, 1 - args.months), args.last_month)
    data = args.workdir / "data"
    per_month = [args.items // args.months + (1 if i < args.items % args.months else 0) for i in range(args.months)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:  # each generation is a process of its own
        jobs = [
            pool.submit(generate, data / f"landing-{m}-{n}", m, n, args.seed + i)
            for i, (m, n) in enumerate(zip(months, per_month, strict=True))
        ]
        landings = [job.result() for job in jobs]
    extra_month = shift(args.last_month, 1)
    increment = (
        generate(data / f"incremental-{extra_month}-{args.incremental}", extra_month, args.incremental, args.seed + 999)
        if args.incremental
        else None
    )
    print(f"generated {args.items:,} items over {args.months} month(s) in {time.perf_counter() - started:.0f} s")

    run_dir = args.workdir / f"run-{label}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    floor = floor_seconds(landings)
    print(f"floor: {floor}")
    first_of_next = date.fromisoformat(f"{extra_month}-01")
    full = run_stages(
        run_dir,
        landings,
        as_of=f"{first_of_next.isoformat()}T00:00:00+00:00",
        month=None if args.no_review else args.last_month,
        name="full",
    )
    expected = sum(generated_items(landing) for landing in landings)
    if full["counts"]["feedback_items"] != expected:  # nothing lost, nothing counted twice
        raise SystemExit(f"the warehouse holds {full['counts']['feedback_items']:,} of {expected:,} generated items")
    print(
        f"full rebuild: {full['wall_seconds']} s, peak RSS {full['peak_rss_bytes'] / 2**30:.2f} GiB, {full['stages']}"
    )
    results = {
        "label": label,
        "items": args.items,
        "generated_items": expected,  # items plus the channels written on top of them
        "months": args.months,
        "machine": machine(),
        "floor": floor,
        "full": full,
        "ratio_to_floor": round(full["wall_seconds"] / floor["seconds"], 1),
    }
    if increment is not None:
        # the new items are of the month after the history: the clock moves to the end of that month
        as_of = f"{shift(extra_month, 1)}-01T00:00:00+00:00"
        incremental = run_stages(run_dir, [increment], as_of=as_of, month=None, name="incremental")
        added = generated_items(increment)
        if incremental["counts"]["feedback_items"] != expected + added:
            raise SystemExit(
                f"after the increment the warehouse holds {incremental['counts']['feedback_items']:,}"
                f" of {expected + added:,} generated items"
            )
        results["incremental"] = {"items": args.incremental, "generated_items": added, **incremental}
        print(f"incremental (+{args.incremental:,}): {incremental['wall_seconds']} s, {incremental['stages']}")
    target = args.results or ROOT / "bench" / "results" / f"pipeline-{label}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
