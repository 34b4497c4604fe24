"""Validate a warehouse layer: every suite module and ``assert_*.sql`` check in ``expectations/<layer>/``.

``validate_layer(con, layer, run_id=..., as_of=...)`` writes one row per expectation into
``audit.validation_results`` and raises ``DataQualityError`` when a *critical* expectation fails;
failed *warnings* are recorded and returned in the ``LayerReport``, never raised.

Mechanics: GX over DuckDB's SQL path, not pandas dataframes.
  - The checks run where the data is. GX turns each expectation into aggregate SQL that DuckDB runs
    in parallel on its columnar storage; no table is copied into Python. Measured with
    ``bench/bench_fct_feedback.py``: the core suite (14 expectations) on 1M rows of
    core.fct_feedback takes 0.6-0.9 s (in memory), on 10M rows 8.3 s from a file with a 1.5 GB
    peak RSS. The pandas path first copies the table into a DataFrame (0.7-0.8 s per 1M rows) and
    then runs single-threaded: 2-3 s and ~850 MB for 1M rows of just 5 columns (docs/development.md), so
    10M rows of 18 columns within 60 s (issue 4) is not credible, and validating a per-day
    aggregate instead would lose the row-level checks (unique ids, allowed values).
  - GX reads through the caller's open connection (a cursor of it: same database instance, sees
    what the caller committed), so it works for an in-memory warehouse and for a file this process
    holds read-write. The cost is one small monkeypatch and the dialect's gaps (no regex/LIKE
    expectations), both confined to ``expectations/gx_duckdb.py``; checks GX expresses badly are
    ``assert_*.sql`` files that this module runs directly on ``con``.
  - Each call builds its own ephemeral GX context (~5 ms; nothing written into the repo), so calls
    from concurrent tasks share no GX state. The ~2 s GX import happens on the first call, not
    on ``import expectations``, or on a thread from ``prepare()`` on (``expectations.preload``).

Suites are declarative: ``TABLE``, ``build_suite()`` and optionally ``KEY_COLUMNS`` (the grain, shown
with each sample of bad values so the rows can be found); every expectation carries
``meta={"severity": "critical"|"warning", "why": ...}`` (``expectations.severity``). Suite parameters
available to expectations: ``{"$PARAMETER": "as_of"}``, the run's clock.

An ``assert_*.sql`` file holds one select returning the bad rows, headed by ``-- table: <schema.table>``,
``-- severity: critical|warning`` and ``-- why: <one line>`` comment lines; ``-- per_row: true`` when
each bad row is one row of that table judged on its own (and on tables it joins), ``-- per_key: <column>``
when each is about one value of that column, judged on that value's rows in every table it reads: a
scoped build then runs it on what changed only (``expectations.scope``).

A scoped build (``tables`` a ``CheckScope``, from ``warehouse.build.tables_to_check``) checks a table it
changed by key on its changed rows where that is sound, and the whole table for the rest; see
``expectations.scope``. Without Data Docs each table's expectations are validated directly, without the
Checkpoint and the stores that only the docs need.

Data Docs (only when ``docs_dir`` is given; about 0.5 s more per layer): see ``expectations.docs``.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from expectations import preload
from expectations.scope import ChangedRows, CheckScope, check_reads_a_change, on_keys, on_rows, others_unchanged
from expectations.severity import CRITICAL, SEVERITIES, WARNING
from warehouse.sql_text import quote_name

EXPECTATIONS_DIR = Path(__file__).resolve().parent
SAMPLE_SIZE = 5  # bad values (or rows, for SQL checks) kept per failed expectation
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
_ROWS_PER_INSERT = 200
_HEADER_KEY = re.compile(r"^--\s*(table|severity|why|per_row|per_key):\s*(.+?)\s*$")


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's verdict, as recorded in audit.validation_results."""

    suite: str  # the checked table, e.g. core.fct_feedback
    expectation: str  # GX expectation type, or the file stem of an assert_*.sql check
    column: str | None
    severity: str
    success: bool
    why: str
    observed_value: str | None = None
    unexpected_count: int | None = None
    element_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    detail: str = ""  # the expectation's arguments, e.g. "min_value=0, max_value=10"

    def describe(self) -> str:
        """One line a data engineer can act on: table, expectation, column, observed, sample, why."""
        what = f"{self.expectation}({self.detail})" if self.detail else self.expectation
        where = f" column {self.column}:" if self.column else ":"
        sample = f"; sample {_to_json(self.sample)}" if self.sample else ""
        return f"{self.suite} {what}{where} observed {self.observed_value}{sample}; why: {self.why}"


@dataclass(frozen=True)
class LayerReport:
    """What ``validate_layer`` found: every result, in suite order; failures by severity as properties."""

    layer: str
    run_id: str | None
    results: tuple[ExpectationResult, ...]
    docs_index: Path | None = None

    @property
    def failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.success)

    @property
    def critical_failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.failures if r.severity == CRITICAL)

    @property
    def warnings(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.failures if r.severity == WARNING)

    @property
    def success(self) -> bool:
        return not self.critical_failures


class DataQualityError(Exception):
    """A critical expectation failed; the message has one line per failure."""

    def __init__(self, report: LayerReport) -> None:
        self.report = report
        failures = report.critical_failures
        lines = [
            f"{len(failures)} critical data-quality failure(s) in layer {report.layer!r} "
            f"(run {report.run_id}); details in audit.validation_results:",
            *(f"  - {r.describe()}" for r in failures),
        ]
        if report.warnings:
            lines.append(f"  (+{len(report.warnings)} warning(s) recorded, not raised)")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[type, tuple[LayerReport]]:
        # Pickled with its report (Prefect may serialise a task's exception), not its message.
        return type(self), (self.report,)


@dataclass(frozen=True)
class SqlCheck:
    """A select of the bad rows of ``table``; ``per_row`` when each is one row of ``table`` judged on its own
    (and on tables it joins); ``per_key`` when each is about one value of that column, judged on the rows
    of that value in every table it reads (expectations.scope)."""

    name: str
    table: str
    severity: str
    why: str
    sql: str
    per_row: bool = False
    per_key: str | None = None  # each bad row is about one value of this column, judged on that value's rows


def validate_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    *,
    run_id: str | None,
    as_of: datetime,
    docs_dir: Path | None = None,
    tables: Collection[str] | None = None,
) -> LayerReport:
    """Run the layer's suites and SQL checks, record them, raise on a critical failure.

    Args:
        con: open connection to the warehouse; left open. Validation sees what it has committed.
        layer: a folder of ``expectations/`` (``core``, ``marts``); a layer without one has no checks.
        run_id: the run ledger's id, written to every result row (None for ad-hoc checks).
        as_of: timezone-aware clock of the run, the ``$as_of`` suite parameter.
        docs_dir: build Data Docs for this run into it (optional; about 0.5 s more per layer). Only with
            a whole check (``tables`` not a ``CheckScope``).
        tables: only check these tables (``schema.table``); default every table of the layer. A
            ``CheckScope`` (a scoped build) also says how the build changed each: then a table changed by
            key is checked on its changed rows where that is sound, an unchanged one only by the SQL
            checks that read a change (``expectations.scope``).

    Raises:
        DataQualityError: a critical expectation failed (after every result was recorded).
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    preload.wait()  # GX is imported here, by the suites, once the background import (if any) is done
    scope = tables if isinstance(tables, CheckScope) else None
    if scope is not None and docs_dir is not None:
        raise ValueError("Data Docs are written by a whole check, not a scoped one (tables=CheckScope)")
    suites = [m for m in suite_modules(layer) if tables is None or m.TABLE in tables]
    checks = [c for c in sql_checks(layer) if tables is None or c.table in tables]
    if scope is not None:
        # an unchanged table's suite reads only that table; its SQL checks run when they read a change
        suites = [m for m in suites if scope[m.TABLE].changed]
        checks = [c for c in checks if check_reads_a_change(c.sql, c.table, scope)]
    rows = ChangedRows(con, scope) if scope is not None else None
    results: list[ExpectationResult] = []
    pages: dict[str, str] = {}  # suite -> its GX validation page under docs_dir
    try:
        if suites:
            from expectations.gx_run import run_suites  # imports GX (~2 s, once per process)

            results, pages = run_suites(con, suites, as_of=as_of, run_id=run_id, docs_dir=docs_dir, rows=rows)
        results += run_sql_checks(con, [_on_changed_rows(check, scope, rows) for check in checks])
    finally:
        if rows is not None:
            rows.close()
    report = LayerReport(layer=layer, run_id=run_id, results=tuple(results))
    record_results(con, report)
    if docs_dir is not None:
        from expectations.docs import write_summary

        summary = write_summary(Path(docs_dir), report, pages, as_of=as_of)
        report = LayerReport(layer=layer, run_id=run_id, results=report.results, docs_index=summary)
    if not report.success:
        raise DataQualityError(report)
    return report


def _on_changed_rows(check: SqlCheck, scope: CheckScope | None, rows: ChangedRows | None) -> SqlCheck:
    """``check`` reading only what the build changed where that is sound (expectations.scope): the changed
    rows of its table for a ``per_row`` check whose other tables did not change, the changed values of
    its key in every table for a ``per_key`` check; else ``check`` as it is."""
    if scope is None or rows is None:
        return check
    if check.per_key is not None:
        sql = on_keys(check.sql, check.per_key, scope, con=rows.con)
        return check if sql is None else replace(check, sql=sql)
    if not check.per_row or not others_unchanged(check.sql, check.table, scope):
        return check
    relation = rows.any_relation(check.table)
    if relation is None:  # changed as a whole (or not at all)
        return check
    return replace(check, sql=on_rows(check.sql, check.table, relation))


def suite_modules(layer: str) -> list[Any]:
    """The suites of a layer: its suite modules in file-name order, then the suites generated from the
    specs of its SQL models (``expectations.declared``). A table has one or the other, never both."""
    from expectations.declared import declared_suites

    folder = _layer_dir(layer)
    names = sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_")) if folder else []
    modules: list[Any] = [importlib.import_module(f"expectations.{layer}.{name}") for name in names]
    for module in modules:
        if not hasattr(module, "TABLE") or not hasattr(module, "build_suite"):
            raise TypeError(f"{module.__name__} must define TABLE and build_suite()")
    declared = declared_suites(layer) if layer in ("staging", "core", "marts") else []
    twice = sorted({m.TABLE for m in modules} & {d.TABLE for d in declared})
    if twice:
        raise TypeError(f"{', '.join(twice)}: both a suite module and a spec; keep the spec (transforms/sql/)")
    return [*modules, *declared]


def sql_checks(layer: str) -> list[SqlCheck]:
    """The ``assert_*.sql`` checks of a layer, with their header parsed, then the row-wise checks the
    specs of its SQL models declare (``expectations.declared``)."""
    from expectations.declared import declared_checks

    folder = _layer_dir(layer)
    files = [parse_sql_check(p) for p in sorted(folder.glob("assert_*.sql"))] if folder else []
    return [*files, *(declared_checks(layer) if layer in ("staging", "core", "marts") else [])]


def parse_sql_check(path: Path) -> SqlCheck:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if match := _HEADER_KEY.match(line):
            header[match[1]] = match[2]
    missing = sorted({"table", "severity", "why"} - set(header))
    if missing:
        raise ValueError(f"{path.name}: header lacks {missing} (see expectations/validate.py)")
    if header["severity"] not in SEVERITIES:
        raise ValueError(f"{path.name}: severity {header['severity']!r} not in {SEVERITIES}")
    per_row = header.get("per_row", "false")
    if per_row not in ("true", "false"):
        raise ValueError(f"{path.name}: per_row {per_row!r} is neither true nor false")
    sql = text.strip().rstrip(";")
    per_key = header.get("per_key")
    return SqlCheck(path.stem, header["table"], header["severity"], header["why"], sql, per_row == "true", per_key)


def run_sql_checks(con: duckdb.DuckDBPyConnection, checks: list[SqlCheck]) -> list[ExpectationResult]:
    """Run SQL checks, in order: the bad rows of all of them counted by one query, then a sample of the bad
    rows of each check that found some. A check that finds none is run once, not twice (count and sample)."""
    counts = _bad_row_counts(con, checks)
    return [run_sql_check(con, check, bad_count=count) for check, count in zip(checks, counts, strict=True)]


def _bad_row_counts(con: duckdb.DuckDBPyConnection, checks: list[SqlCheck]) -> list[int | None]:
    """Each check's number of bad rows, from one query (a layer's ~90 small checks cost ~90 round trips
    apart); all None when that query fails, so that each check runs on its own and the one that fails says
    so in its own result."""
    if len(checks) < 2:
        return [None] * len(checks)
    # Each check wrapped as it is alone, so that what fails alone fails here too (and runs alone then).
    counts = " union all ".join(
        f"select {number} as check_number, count(*) as bad_count from ({check.sql}) as bad_rows"
        for number, check in enumerate(checks)
    )
    try:
        found = dict(con.execute(counts).fetchall())
    except duckdb.Error:
        return [None] * len(checks)
    # A check ending in a comment comments out the next one's number: not one count each, each alone then.
    if sorted(found) != list(range(len(checks))):
        return [None] * len(checks)
    return [found[number] for number in range(len(checks))]


def run_sql_check(
    con: duckdb.DuckDBPyConnection, check: SqlCheck, *, bad_count: int | None = None
) -> ExpectationResult:
    """Run one SQL check; every row it returns is a failure. ``bad_count``: its bad rows, counted already."""
    base = {"suite": check.table, "expectation": check.name, "column": None, "severity": check.severity}
    try:
        if bad_count is None:
            bad_count = con.execute(f"select count(*) from ({check.sql}) as bad_rows").fetchone()[0]
        sample: list[dict[str, Any]] = []
        if bad_count:  # no bad row, no sample: the select would run the check a second time to return nothing
            cursor = con.execute(f"select * from ({check.sql}) as bad_rows limit {SAMPLE_SIZE}")
            columns = [d[0] for d in cursor.description]
            sample = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.Error as exc:
        return ExpectationResult(**base, success=False, why=check.why, observed_value=f"error: {exc}")
    return ExpectationResult(
        **base,
        success=bad_count == 0,
        why=check.why,
        observed_value=f"{bad_count} bad row(s)",
        unexpected_count=bad_count,
        sample=sample,
    )


def record_results(con: duckdb.DuckDBPyConnection, report: LayerReport) -> None:
    rows = [
        (
            report.run_id,
            report.layer,
            r.suite,
            r.expectation,
            r.column,
            r.severity,
            r.success,
            r.observed_value,
            r.unexpected_count,
            r.element_count,
            _to_json(r.sample) if r.sample else None,
            r.why if r.success else r.describe(),
        )
        for r in report.results
    ]
    # One insert of many rows: executemany inserts one row per statement (0.6 s for a build's ~330 results).
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        con.execute(
            "insert into audit.validation_results (run_id, layer, suite, expectation, column_name, severity,"
            " success, observed_value, unexpected_count, element_count, sample, message) values "
            + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` (``schema.name``) is a table or view ``con`` can read.

    Bound, not looked up: the catalog functions enumerate every table (``duckdb_columns()`` ~7 ms a call at a
    million items, ``duckdb_tables()`` ~19 ms on a DuckLake, which asks its catalog for statistics), binding
    one statement costs under a millisecond on either. A statement that fails to bind leaves an open
    transaction usable (the scoped build asks inside its transactions)."""
    schema, name = table.split(".")
    try:
        con.execute(f"select 1 from {quote_name(schema)}.{quote_name(name)} limit 0")
    except duckdb.CatalogException:
        return False
    return True


def _layer_dir(layer: str) -> Path | None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", layer):
        raise ValueError(f"bad layer name {layer!r}")
    folder = EXPECTATIONS_DIR / layer
    return folder if folder.is_dir() else None


def _to_json(values: Iterable[Any] | Any) -> str:
    return json.dumps(values, default=str, ensure_ascii=False)
