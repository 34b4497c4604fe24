"""Every SQL statement of a run, timed, with the function that ran it; and a summary of such logs.

    .venv/bin/python bench/run_stages.py ... --statements run.tsv        # log a run's statements
    .venv/bin/python bench/statements.py run-1m.tsv run-100k.tsv         # summarise, side by side
    .venv/bin/python bench/statements.py run-1m.tsv run-100k.tsv --statements   # which statements differ

A +1,000 build runs about 2,300 statements. Where a stage's time goes at 1M against 100k, and whether a
change saves what it should, shows in them long before it shows above the noise of a run's wall time
(BENCHMARKS.md, issue #20's entries). While ``record_statements`` is active, every connection that
``warehouse.connection`` opens is wrapped so that each ``execute``, ``sql`` and ``query`` call writes one
line: its start (seconds since the log began), its seconds, the caller (``module.py:function``, the first
frame outside this file) and the statement on one line. The wrapper passes everything else through. Not in
the log: the time a statement's result takes to fetch afterwards (the pipeline's statements fetch little),
and the statements run on a cursor of a connection, among them Great Expectations' own queries
(expectations/gx_duckdb.py): the ``checks`` stage of bench/run_stages.py times those.

The summary groups the statements by shape, because the shapes grow differently with the history:

- ``commit``: commits and checkpoints (DuckDB writes the changed row groups there). A statement run outside a
  transaction commits itself, and when its commit takes the write-ahead log past DuckDB's threshold, the
  checkpoint runs in it: a one-row insert can take a second. Look at the largest statements too;
- ``rowid``: statements that pick rows by row id (``rowid in ...``): the scoped build's, the checks' and the
  readers' copy's reads and deletes of the rows of changed keys. Old rows that change lie all over a table,
  so these cost more as the table grows (BENCHMARKS.md, «2026-12-07 (sixteenth)»);
- ``other``: everything else.

``--statements`` lists the statements themselves, each with its caller and its text up to
``PATTERN_CHARS`` characters, with what varies from run to run (numbers, times, the checks' scratch
names) blanked so that the same statement of two runs falls together; the largest difference between the
first two logs first.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HEADER = "start\tseconds\tcaller\tstatement\n"
STATEMENT_CHARS = 400  # of each statement kept in the log, on one line
SHAPES = ("commit", "rowid", "other")
PATTERN_CHARS = 200  # of a statement's text that names it in --statements
_VARYING = (
    (re.compile(r"_otklik_checks_[0-9a-f]+"), "_otklik_checks_#"),  # the checks' scratch database of a run
    (re.compile(r"'?\d{4}-\d\d-\d\d[T ][0-9:.+]*'?"), "#"),  # times
    (re.compile(r"\b\d+\b"), "#"),  # numbers: row ids, counts
)
_HERE = Path(__file__).resolve()


@dataclass(frozen=True)
class Statement:
    start: float
    seconds: float
    caller: str
    statement: str

    @property
    def shape(self) -> str:
        text = self.statement.lower()
        if text in ("commit", "checkpoint") or text.startswith(("commit;", "checkpoint ")):
            return "commit"
        return "rowid" if "rowid in" in text else "other"


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and Path(frame.f_code.co_filename).resolve() == _HERE:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"


class TimedConnection:
    """A DuckDB connection whose ``execute``, ``sql`` and ``query`` calls are each written to ``log``."""

    def __init__(self, con: Any, log: IO[str], origin: float) -> None:
        object.__setattr__(self, "_con", con)
        object.__setattr__(self, "_log", log)
        object.__setattr__(self, "_origin", origin)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._con, name, value)

    def __enter__(self) -> TimedConnection:
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._con.__exit__(*exc)

    def _timed(self, method: str, statement: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return getattr(self._con, method)(statement, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            text = " ".join(str(statement).split())[:STATEMENT_CHARS]
            self._log.write(f"{started - self._origin:.4f}\t{seconds:.4f}\t{_caller()}\t{text}\n")

    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self._timed("execute", statement, *args, **kwargs)

    def sql(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self._timed("sql", statement, *args, **kwargs)

    def query(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return self._timed("query", statement, *args, **kwargs)


@contextmanager
def record_statements(path: Path) -> Iterator[None]:
    """Log every statement of the connections ``warehouse.connection`` opens meanwhile to ``path``."""
    from warehouse import connection

    opened = connection.open_duckdb
    origin = time.perf_counter()
    with open(path, "w", encoding="utf-8") as log:
        log.write(HEADER)

        def open_timed(target: Path, *, read_only: bool) -> Any:
            return TimedConnection(opened(target, read_only=read_only), log, origin)

        connection.open_duckdb = open_timed
        try:
            yield
        finally:
            connection.open_duckdb = opened


def read_log(path: Path) -> list[Statement]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] + "\n" != HEADER:
        raise ValueError(f"{path}: not a statements log (its first line is not {HEADER.strip()!r})")
    statements = []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t", 3)
        if len(parts) != 4:
            raise ValueError(f"{path}, line {number}: expected 4 tab-separated fields, found {len(parts)}")
        statements.append(Statement(float(parts[0]), float(parts[1]), parts[2], parts[3]))
    return statements


def by_shape(statements: Iterable[Statement]) -> dict[str, tuple[int, float]]:
    """shape -> (statements, seconds), every shape present (zero when none)."""
    totals = {shape: [0, 0.0] for shape in SHAPES}
    for statement in statements:
        totals[statement.shape][0] += 1
        totals[statement.shape][1] += statement.seconds
    return {shape: (count, seconds) for shape, (count, seconds) in totals.items()}


def by_caller(statements: Iterable[Statement]) -> dict[str, float]:
    """caller -> seconds, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for statement in statements:
        totals[statement.caller] += statement.seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def pattern(statement: Statement) -> str:
    """The caller and what the statement says, without what varies between runs."""
    text = statement.statement
    for varying, blank in _VARYING:
        text = varying.sub(blank, text)
    return f"{statement.caller} | {text[:PATTERN_CHARS]}"


def by_pattern(logs: dict[str, list[Statement]]) -> list[tuple[str, list[float]]]:
    """(pattern, seconds in each log), the largest difference between the first two logs first (with one
    log: the largest first)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(logs))
    for position, statements in enumerate(logs.values()):
        for statement in statements:
            totals[pattern(statement)][position] += statement.seconds
    if len(logs) == 1:
        return sorted(totals.items(), key=lambda item: -item[1][0])
    return sorted(totals.items(), key=lambda item: -(item[1][0] - item[1][1]))


def statements_report(logs: dict[str, list[Statement]], top: int = 20) -> str:
    """A Markdown table of the ``top`` statements (``by_pattern``), seconds in each log."""
    names = list(logs)
    rows = by_pattern(logs)[:top]
    which = "that differ most between the first two logs" if len(names) > 1 else "that took longest"
    out = [
        f"the {len(rows)} statements {which} (seconds)\n\n",
        "| caller \\| statement | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n",
    ]
    for name, seconds in rows:
        cell = name.replace("|", "\\|")
        out.append(f"| {cell} | " + " | ".join(f"{s:.3f}" for s in seconds) + " |\n")
    return "".join(out)


def report(logs: dict[str, list[Statement]], top: int = 20) -> str:
    """A Markdown summary of one or more logs, side by side: totals by shape, then the ``top`` callers
    (by their largest seconds in any log)."""
    names = list(logs)
    head = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    shapes = {name: by_shape(statements) for name, statements in logs.items()}
    out = ["statements by shape (count, seconds)\n\n", head]
    for shape in (*SHAPES, "all"):
        cells = []
        for name in names:
            if shape == "all":
                count, seconds = sum(c for c, _ in shapes[name].values()), sum(s for _, s in shapes[name].values())
            else:
                count, seconds = shapes[name][shape]
            cells.append(f"{count}, {seconds:.2f} s")
        out.append(f"| {shape} | " + " | ".join(cells) + " |\n")
    callers = {name: by_caller(statements) for name, statements in logs.items()}
    ranked = sorted(
        {caller for totals in callers.values() for caller in totals},
        key=lambda caller: -max(totals.get(caller, 0.0) for totals in callers.values()),
    )
    out += [f"\nthe {min(top, len(ranked))} callers that took longest (seconds)\n\n", head]
    for caller in ranked[:top]:
        out.append(f"| {caller} | " + " | ".join(f"{callers[n].get(caller, 0.0):.2f}" for n in names) + " |\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="statement logs of bench/run_stages.py --statements")
    parser.add_argument("--top", type=int, default=20, help="how many callers (or statements) to list")
    parser.add_argument("--statements", action="store_true", help="list statements, not callers (see above)")
    args = parser.parse_args(argv)
    names = [path.name for path in args.logs]
    if len(set(names)) < len(names):  # two logs of the same name in other folders: name them by their paths
        names = [str(path) for path in args.logs]
    if len(set(names)) < len(names):
        print("error: a log is named twice", file=sys.stderr)
        return 2
    try:
        logs = {name: read_log(path) for name, path in zip(names, args.logs, strict=True)}
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((statements_report if args.statements else report)(logs, top=args.top), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
