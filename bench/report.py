"""Render the measured tables of BENCHMARKS.md from bench/results/*.json.

    .venv/bin/python bench/report.py [--results bench/results] [--out BENCHMARKS.md]

Replaces the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` of the output file
(the rest of the file is written by hand); prints the tables when the file has no such markers.
"""

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"
STAGES = ("ingest", "normalize", "classify", "checks", "sla", "core", "marts", "audit", "review")


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f}"


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def _limit(machine: dict) -> str:
    """The run's OTKLIK_MEMORY_LIMIT, for runs that recorded it (runs before 2026-12-06 did not)."""
    return f"; OTKLIK_MEMORY_LIMIT={machine['memory_limit']}" if "memory_limit" in machine else ""


def load_results(folder: Path) -> list[dict]:
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("pipeline-*.json"))]
    return sorted(results, key=lambda r: r["items"])


def tables(results: list[dict]) -> str:
    lines = [
        "### Full rebuild from the landing folders (ingest → build → checks → the last month's review)",
        "",
        "| history | months | wall s | peak RSS GiB | floor s | wall ÷ floor | all but classify ÷ floor | "
        + " | ".join(STAGES)
        + " |",
        "|---" * (7 + len(STAGES)) + "|",
    ]
    for r in results:
        full, floor = r["full"], r["floor"]["seconds"]
        stages = full["stages"]
        not_classify = full["wall_seconds"] - stages.get("classify", 0.0)
        lines.append(
            f"| {r['items']:,} | {r['months']} | {_s(full['wall_seconds'])} | {_gib(full['peak_rss_bytes'])} | "
            f"{floor:.2f} | {full['wall_seconds'] / floor:.0f}× | {not_classify / floor:.0f}× | "
            + " | ".join(_s(stages.get(s)) for s in STAGES)
            + " |"
        )
    lines += [
        "",
        "### Incremental run (new items land; ingest, build and checks on top of the history)",
        "",
        "| history | new items | wall s | peak RSS GiB | " + " | ".join(STAGES[:-1]) + " |",
        "|---" * (4 + len(STAGES) - 1) + "|",
    ]
    for r in results:
        inc = r.get("incremental")
        if inc is None:
            continue
        lines.append(
            f"| {r['items']:,} | {inc['items']:,} | {_s(inc['wall_seconds'])} | {_gib(inc['peak_rss_bytes'])} | "
            + " | ".join(_s(inc["stages"].get(s)) for s in STAGES[:-1])
            + " |"
        )
    lines += ["", "### Inputs and machine of each run", ""]
    lines += ["| history | files | input MB | floor s | date | commit | machine |", "|---|---|---|---|---|---|---|"]
    for r in results:
        m, f = r["machine"], r["floor"]
        versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        lines.append(
            f"| {r['items']:,} | {f['files']:,} | {f['bytes'] / 1e6:.0f} | {f['seconds']:.2f} | {m['date'][:10]} | "
            f"{m['commit']} | {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB; "
            f"Python {m['python']}; {versions}{_limit(m)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    rendered = tables(load_results(args.results))
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if START not in text or END not in text:
        print(rendered)
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    args.out.write_text(f"{head}{START}\n{rendered}\n{END}{tail}", encoding="utf-8")
    print(f"updated {args.out}")


if __name__ == "__main__":
    main()
