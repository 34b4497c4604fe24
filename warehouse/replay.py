"""Replay a recorded build-warehouse run in a scratch warehouse and compare its table fingerprints.

A build is reproducible from what the ledger keeps: the exact input batches (every raw.batches row
up to the run's load-order bound, checked against the count and digest it recorded, or audit.run_inputs
for runs before migration 0014 → their archived bytes, verified by sha256), the configuration texts it used
(audit.runs.config_hashes → audit.config_versions), its ``as_of`` clock, and the PII key (a
secret, so the current one is used). The scratch warehouse re-lands those batches with their
recorded names, load order and load times, rebuilds every layer with that configuration, and
fingerprints every table the run fingerprinted. A difference is either tampering (an archived
file whose bytes no longer match its hash, reported before anything else), or a change of code
between the run's commit and now (both are printed), or a different PII key.

On a DuckLake warehouse (warehouse/lake.py) the run also recorded the snapshot it read its inputs at
(audit.runs.input_snapshot): the replay reads the input batches' ledger rows and what people had
entered from the lake as of that snapshot, and the scratch warehouse is a DuckDB in memory (or
``scratch_path``) as for a file, so the tables are compared with the same fingerprints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from transforms.channels import parse_channels
from transforms.costs import parse_channel_costs
from transforms.dag import BuildContext
from transforms.org import parse_org
from transforms.sla import parse_policies
from transforms.taxonomy import parse_feedback_types
from warehouse.build import CHECKED_LAYERS, build_and_check_layer, build_layer, fingerprint
from warehouse.connection import connect_memory, session_defaults
from warehouse.ingest import diagnose, ledger_row, write_batch
from warehouse.lake import open_lake, target_of
from warehouse.migrate import apply_migrations
from warehouse.runs import (
    CLASSIFIER_FILES,
    CONFIG_FILES,
    HUMAN_INPUTS,
    InputsChanged,
    code_version,
    input_batches_sql,
    run_config_texts,
    run_inputs,
)

CHANNELS, ORG, TAXONOMY, POLICIES, CHANNEL_COSTS = CONFIG_FILES


@dataclass(frozen=True)
class BatchProblem:
    """An input batch whose archived bytes cannot be used: gone, or not the bytes that were landed."""

    batch_id: str
    path: str | None
    kind: Literal["missing", "tampered"]
    detail: str


@dataclass(frozen=True)
class TableDiff:
    table: str
    rows_then: int
    hash_then: str
    rows_now: int | None  # None: the replay did not build the table
    hash_now: str | None


@dataclass
class ReplayResult:
    run_id: str
    as_of: datetime
    code_version_then: str | None
    code_version_now: str
    batches: int = 0
    tables: int = 0
    problems: list[BatchProblem] = field(default_factory=list)
    diffs: list[TableDiff] = field(default_factory=list)
    check_failure: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.problems and not self.diffs

    def report_lines(self) -> list[str]:
        same_code = self.code_version_then == self.code_version_now
        lines = [
            f"run {self.run_id}: as_of {self.as_of.isoformat()},"
            f" {self.batches} input batch(es), {self.tables} table(s)",
            f"code then: {self.code_version_then or 'unknown'}",
            f"code now:  {self.code_version_now}" + ("" if same_code else "  (different: may explain a difference)"),
        ]
        for problem in self.problems:
            lines.append(f"{problem.kind.upper()}: batch {problem.batch_id} at {problem.path}: {problem.detail}")
        if self.problems:
            lines.append(
                f"{len(self.problems)} input batch(es) missing or tampered with: the replay cannot reproduce the run"
            )
        if self.check_failure:
            lines.append(f"checks failed in the replay: {self.check_failure}")
        lines.extend(f"note: {note}" for note in self.notes)
        for diff in self.diffs:
            now = "not built" if diff.rows_now is None else f"{diff.rows_now} rows, hash {diff.hash_now}"
            lines.append(f"DIFF {diff.table}: run {diff.rows_then} rows, hash {diff.hash_then}; replay {now}")
        lines.append("identical" if self.identical else "NOT identical")
        return lines


def context_from_configs(texts: dict[str, str | None], as_of: datetime, pii_key: bytes) -> BuildContext:
    """The build context of stored configuration texts (not the files on disk)."""
    missing = [name for name in CONFIG_FILES if texts.get(name) is None]
    if missing:
        raise ValueError(f"the run recorded no content for {', '.join(missing)}")
    org = parse_org(texts[ORG])
    channels = parse_channels(texts[CHANNELS])
    policies_file = parse_policies(texts[POLICIES])
    return BuildContext(
        as_of=as_of,
        reporting_timezone=org.company.reporting_timezone,
        conversation_window_hours=org.company.conversation_window_hours,
        channels=channels,
        org=org,
        feedback_types=parse_feedback_types(texts[TAXONOMY], org),
        sla_policies=tuple(policies_file.policies),
        sla_calendars=tuple(policies_file.calendars),  # the calendars of the time, not today's
        channel_costs=parse_channel_costs(texts[CHANNEL_COSTS], [c.id for c in channels]),
        # None (a run from before the model was recorded) falls back to the model on disk
        classifier_model=texts.get(CLASSIFIER_FILES[0]),
        pii_key=pii_key,
    )


@contextmanager
def _as_read_by(con: duckdb.DuckDBPyConnection, run_id: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse as the run read its inputs: on a DuckLake the snapshot it recorded, else ``con``."""
    target = target_of(con)
    row = con.execute("select input_snapshot from audit.runs where run_id = ?", [run_id]).fetchone()
    if target is None or row is None or row[0] is None:
        yield con
        return
    pinned = open_lake(target, snapshot=row[0])
    try:
        session_defaults(pinned)
        yield pinned
    finally:
        pinned.close()


def _scratch(path: Path | None) -> duckdb.DuckDBPyConnection:
    if path is None:
        return connect_memory()
    con = duckdb.connect(str(path))
    session_defaults(con)
    apply_migrations(con)
    return con


def _archived_file(recorded: str | None, sha256: str, archive_dir: Path | None) -> Path | None:
    candidates = [Path(recorded)] if recorded else []
    if archive_dir is not None:
        candidates.append(archive_dir / sha256[:2] / sha256)
    return next((p for p in candidates if p.is_file()), None)


_BATCH_COLUMNS = (
    "channel_id",
    "source_file",
    "content_sha256",
    "record_count",
    "rejected_count",
    "run_id",
    "source_uri",
    "fetched_at",
    "cursor_before",
    "cursor_after",
    "archive_path",
    "batch_seq",
    "loaded_at",
)


def replay_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    pii_key: bytes,
    archive_dir: Path | None = None,
    scratch_path: Path | None = None,
    checks: bool = True,
) -> ReplayResult:
    """Replay build-warehouse run ``run_id`` of the warehouse ``con`` (read only) in a scratch warehouse.

    ``archive_dir`` is where to look for an archived file that is not at its recorded path (an
    archive moved by its sha256 layout). ``scratch_path`` is a DuckDB file for the scratch
    warehouse (default: in memory). ``checks`` validates each layer as the build did (a failed
    check stops the replay's build there, as it stopped the run); without them every layer is
    built, which is faster and compares the same tables. Raises ValueError for an unknown run or one that
    cannot be replayed (another flow, no as_of, configuration not stored).
    """
    row = con.execute(
        "select flow, as_of, code_version, started_at from audit.runs where run_id = ?", [run_id]
    ).fetchone()
    if row is None:
        raise ValueError(f"no run {run_id!r} in audit.runs (see `otklik runs`)")
    flow, as_of, version_then, started_at = row
    if flow != "build-warehouse":
        raise ValueError(f"run {run_id} is a {flow} run: only build-warehouse runs can be replayed")
    if as_of is None:
        raise ValueError(f"run {run_id} recorded no as_of clock and cannot be replayed")
    ctx = context_from_configs(run_config_texts(con, run_id), as_of, pii_key)
    result = ReplayResult(run_id, as_of, version_then, code_version())

    with _as_read_by(con, run_id) as then:
        read = input_batches_sql(then, run_id)
        inputs = then.execute(
            f"select i.batch_id, {', '.join('b.' + c for c in _BATCH_COLUMNS)}"
            f" from ({read}) as i left join raw.batches as b on b.batch_id = i.batch_id"
            " order by b.batch_seq nulls first, i.batch_id"
        ).fetchall()
        try:  # raw.batches is never deleted from; if a batch was, the replay says so
            run_inputs(then, run_id)
        except InputsChanged as error:
            result.problems.append(BatchProblem("(the run's inputs)", None, "missing", str(error)))
        names = ("batch_id", *_BATCH_COLUMNS)
        channels = {c.id: c for c in ctx.channels}
        scratch = _scratch(scratch_path)
        try:
            for values in inputs:
                batch = dict(zip(names, values, strict=True))
                result.batches += 1
                _reland(scratch, batch, channels, archive_dir, result)
            _copy_human_inputs(then, scratch, started_at)
        except BaseException:
            scratch.close()
            raise
    try:
        for layer in CHECKED_LAYERS:
            try:
                if checks:
                    build_and_check_layer(scratch, layer, ctx, run_id=None)
                elif layer != "raw":
                    build_layer(scratch, layer, ctx)
            except Exception as exc:  # a failed check (or a build error) stops the replay's build here
                result.check_failure = f"layer {layer}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                break
        recorded = con.execute(
            "select table_name, row_count, content_hash from audit.table_fingerprints where run_id = ?"
            " order by built_at, table_name",
            [run_id],
        ).fetchall()
        expected = {table: (rows, digest) for table, rows, digest in recorded}
        result.tables = len(expected)
        for table, (rows, digest) in expected.items():
            try:
                rows_now, digest_now = fingerprint(scratch, table)
            except duckdb.CatalogException:
                rows_now, digest_now = None, None
            if (rows_now, digest_now) != (rows, digest):
                result.diffs.append(TableDiff(table, rows, digest, rows_now, digest_now))
    finally:
        scratch.close()
    return result


def _reland(
    scratch: duckdb.DuckDBPyConnection,
    batch: dict,
    channels: dict,
    archive_dir: Path | None,
    result: ReplayResult,
) -> None:
    """Land one recorded input batch into the scratch warehouse as it was landed, or report why not."""
    batch_id, sha256 = batch["batch_id"], batch["content_sha256"]
    if sha256 is None:
        result.problems.append(BatchProblem(batch_id, None, "missing", "the batch is no longer in raw.batches"))
        return
    path = _archived_file(batch["archive_path"], sha256, archive_dir)
    if path is None:
        result.problems.append(
            BatchProblem(batch_id, batch["archive_path"], "missing", "the archived file does not exist")
        )
        return
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        result.problems.append(
            BatchProblem(batch_id, str(path), "tampered", f"sha256 is {actual}, the ledger recorded {sha256}")
        )
        return
    problem, read = diagnose(channels.get(batch["channel_id"]), batch["channel_id"], batch["source_file"], data)
    if problem is not None:
        result.notes.append(f"batch {batch_id} is unreadable with the run's configuration now: {problem[0]}")
        return
    if (len(read.records), len(read.errors)) != (batch["record_count"], batch["rejected_count"]):
        result.notes.append(
            f"batch {batch_id} reads as {len(read.records)} record(s) and {len(read.errors)} reject(s) now, "
            f"{batch['record_count']} and {batch['rejected_count']} when it was landed"
        )
    ledger = ledger_row(
        batch_id,
        batch["channel_id"],
        batch["source_file"],
        sha256,
        len(data),
        read,
        run_id=batch["run_id"],
        source_uri=batch["source_uri"],
        archive_path=path,
        fetched_at=batch["fetched_at"],
        cursor_before=batch["cursor_before"],
        cursor_after=batch["cursor_after"],
    )
    write_batch(scratch, ledger, read)
    # The load order and load time are the recorded ones (staging orders edits by batch_seq, and
    # channel freshness reads loaded_at), not the replay's.
    scratch.execute(
        "update raw.batches set batch_seq = ?, loaded_at = ? where batch_id = ?",
        [batch["batch_seq"], batch["loaded_at"], batch_id],
    )
    scratch.execute(
        "update raw.channel_payloads set _loaded_at = ? where _batch_id = ?", [batch["loaded_at"], batch_id]
    )


def _copy_human_inputs(
    con: duckdb.DuckDBPyConnection, scratch: duckdb.DuckDBPyConnection, started_at: datetime
) -> None:
    """What people entered (``HUMAN_INPUTS``) as it was when the run started."""
    for table, entered_at in HUMAN_INPUTS.items():
        rows = con.execute(f"select * from {table} where {entered_at} <= ?", [started_at]).pl()
        if table == "raw.qa_verdicts":  # a verdict superseded after the run was still in force for it
            rows = rows.with_columns(
                superseded_at=pl.when(pl.col("superseded_at") <= started_at).then(pl.col("superseded_at"))
            )
        scratch.register("_human_rows", rows)
        try:
            scratch.execute(f"insert into {table} by name select * from _human_rows")
        finally:
            scratch.unregister("_human_rows")


def replay_json(result: ReplayResult) -> str:
    document = {
        "run_id": result.run_id,
        "as_of": result.as_of.isoformat(),
        "code_version_then": result.code_version_then,
        "code_version_now": result.code_version_now,
        "batches": result.batches,
        "tables": result.tables,
        "identical": result.identical,
        "problems": [vars(p) for p in result.problems],
        "diffs": [vars(d) for d in result.diffs],
        "check_failure": result.check_failure,
        "notes": result.notes,
    }
    return json.dumps(document, ensure_ascii=False, indent=2)
