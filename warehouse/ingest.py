"""Land batches (landed files or pulled pages) into raw, once per content, with their cursor.

A batch is the bytes of one file or one API page, identified by its channel and SHA-256: the same
bytes landed twice (or under another name) are loaded once. For each new batch, in this order:
1. the bytes are archived unchanged, content-addressed (``<archive>/<sha[:2]>/<sha>``);
2. one transaction writes its payloads, its quarantined records, its ledger row and the channel's
   cursor; a crash before the commit leaves nothing (the next run redoes the batch), a crash after
   it leaves the whole batch (the next run skips it by its hash).
Files that cannot be read at all go to quarantine.files with a reason (and their archived bytes,
so `otklik quarantine retry` can read them again after a fix); single bad records of a readable
file go to quarantine.records. Nothing that lands is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from transforms.channels import Channel
from transforms.readers import ReadResult, UnreadableFile, read_file
from warehouse.faults import crash_point

_EXCERPT_CHARS = 500


@dataclass(frozen=True)
class BatchOutcome:
    batch_id: str
    status: Literal["loaded", "skipped", "quarantined"]
    records: int = 0
    rejected: int = 0
    reason: str | None = None
    detail: str | None = None


@dataclass
class IngestSummary:
    """What one ingest run did, per channel: files loaded, skipped as already loaded, quarantined."""

    loaded_files: dict[str, int] = field(default_factory=dict)
    loaded_records: dict[str, int] = field(default_factory=dict)
    rejected_records: dict[str, int] = field(default_factory=dict)
    skipped_files: dict[str, int] = field(default_factory=dict)
    quarantined_files: list[tuple[str, str, str]] = field(default_factory=list)  # (file, reason, detail)
    disabled_channels: list[str] = field(default_factory=list)

    def add(self, channel_id: str, source_file: str, outcome: BatchOutcome) -> None:
        if outcome.status == "skipped":
            _bump(self.skipped_files, channel_id)
        elif outcome.status == "quarantined":
            self.quarantined_files.append((source_file, outcome.reason or "", outcome.detail or ""))
        else:
            _bump(self.loaded_files, channel_id)
            _bump(self.loaded_records, channel_id, outcome.records)
            _bump(self.rejected_records, channel_id, outcome.rejected)

    @property
    def total_loaded_records(self) -> int:
        return sum(self.loaded_records.values())


def _bump(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


def batch_id_for(channel_id: str, sha256: str) -> str:
    return f"{channel_id}:{sha256[:20]}"


def archive_bytes(archive_dir: Path, sha256: str, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` once under its hash; atomic (temp file + rename), so a crash leaves no torn file.

    ``durable`` fsyncs the file before it is renamed. A BatchGroup writes its files without it and
    calls ``os.sync()`` once before its commit: either way the bytes are on disk before the ledger
    that points at them.
    """
    target = archive_dir / sha256[:2] / sha256
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{sha256}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, target)
    return target


def channel_cursor(con: duckdb.DuckDBPyConnection, channel_id: str) -> str | None:
    row = con.execute("select cursor from raw.channel_cursors where channel_id = ?", [channel_id]).fetchone()
    return row[0] if row else None


def _already_landed(con: duckdb.DuckDBPyConnection, batch_id: str) -> bool:
    return (
        con.execute(
            "select count(*) from (select batch_id from raw.batches where batch_id = ?"
            " union all select batch_id from quarantine.files where batch_id = ? and resolved_at is null)",
            [batch_id, batch_id],
        ).fetchone()[0]
        > 0
    )


def land_batch(
    con: duckdb.DuckDBPyConnection,
    channel_id: str,
    channel: Channel | None,
    data: bytes,
    *,
    source_file: str,
    source_uri: str,
    archive_dir: Path,
    run_id: str | None,
    fetched_at: datetime | None = None,
    cursor_before: str | None = None,
    cursor_after: str | None = None,
    group: BatchGroup | None = None,
    known: set[str] | None = None,
) -> BatchOutcome:
    """Land one file or page of ``channel_id`` (``channel`` None: not in the registry → quarantined).

    Without ``group`` the batch is committed before this returns (a pulled page with its cursor);
    with one, it is committed when the group flushes. ``known`` is the set of batch ids already in
    the warehouse (looked up per call when None); ids landed through it are added to it.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    batch_id = batch_id_for(channel_id, sha256)
    seen = batch_id in known if known is not None else _already_landed(con, batch_id)
    if seen or (group is not None and batch_id in group.pending_ids):
        if cursor_after is not None:  # the page was landed before; its cursor still moves on
            _advance_cursor(con, channel_id, cursor_after, batch_id)
        return BatchOutcome(batch_id, "skipped")
    archived = archive_bytes(archive_dir, sha256, data, durable=group is None)
    if group is not None:
        group.archived_unsynced = True
    crash_point("after_archive")
    problem, result = diagnose(channel, channel_id, source_file, data)
    if problem is not None:
        con.execute(
            "insert into quarantine.files (batch_id, channel_id, source_file, content_sha256, reason, detail,"
            " run_id, archive_path) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, channel_id, source_file, sha256, problem[0], problem[1], run_id, str(archived)],
        )
        if known is not None:
            known.add(batch_id)
        return BatchOutcome(batch_id, "quarantined", reason=problem[0], detail=problem[1])
    ledger = ledger_row(
        batch_id,
        channel_id,
        source_file,
        sha256,
        len(data),
        result,
        run_id=run_id,
        source_uri=source_uri,
        archive_path=archived,
        fetched_at=fetched_at,
        cursor_before=cursor_before,
        cursor_after=cursor_after,
    )
    if known is not None:
        known.add(batch_id)
    if group is None:
        write_batch(con, ledger, result)
    else:
        group.add(ledger, result)
    return BatchOutcome(batch_id, "loaded", records=len(result.records), rejected=len(result.errors))


def ledger_row(
    batch_id: str,
    channel_id: str,
    source_file: str,
    sha256: str,
    size_bytes: int,
    result: ReadResult,
    *,
    run_id: str | None,
    source_uri: str,
    archive_path: Path,
    fetched_at: datetime | None = None,
    cursor_before: str | None = None,
    cursor_after: str | None = None,
) -> dict:
    """The raw.batches row of a readable batch."""
    return {
        "batch_id": batch_id,
        "channel_id": channel_id,
        "source_file": source_file,
        "content_sha256": sha256,
        "size_bytes": size_bytes,
        "record_count": len(result.records),
        "rejected_count": len(result.errors),
        "status": "loaded",
        "run_id": run_id,
        "source_uri": source_uri,
        "fetched_at": fetched_at or datetime.now(UTC),
        "cursor_before": cursor_before,
        "cursor_after": cursor_after,
        "archive_path": str(archive_path),
    }


def diagnose(
    channel: Channel | None, channel_id: str, source_file: str, data: bytes
) -> tuple[tuple[str, str] | None, ReadResult | None]:
    """Read a batch's bytes: (None, records) or ((reason, detail), None) when the file cannot be read."""
    problem = _batch_problem(channel, channel_id, source_file, data)
    if problem is not None:
        return problem, None
    try:
        return None, read_file(data, channel)
    except UnreadableFile as exc:
        return (exc.reason, exc.detail), None


def _batch_problem(channel: Channel | None, channel_id: str, source_file: str, data: bytes) -> tuple[str, str] | None:
    name = source_file.rsplit("/", 1)[-1]
    if channel is None:
        return ("unknown_channel", f"folder {channel_id!r} is not a channel in channels.yaml")
    if not fnmatch(name, channel.reader.file_glob):
        return ("unexpected_file", f"{name} does not match {channel.reader.file_glob!r} for {channel.id}")
    if not data.strip():
        return ("empty_file", f"{name} is empty ({len(data)} bytes)")
    return None


class BatchGroup:
    """Readable batches written together: one transaction, one insert per table, for many small files.

    A group is atomic like a single batch: a crash before its commit leaves none of its batches (the
    next run redoes them all), after it all of them. Grouping matters for small files: a mailbox
    lands one .eml per message, and a transaction per file costs about 8 ms on this machine.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, max_files: int = 1, max_bytes: int = 64 * 2**20) -> None:
        self.con = con
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.pending_ids: set[str] = set()
        self.archived_unsynced = False
        self._reset()

    def _reset(self) -> None:
        self._ledgers: list[dict] = []
        self._payloads: dict[str, list] = {k: [] for k in ("channel_id", "batch_id", "source_file", "payload", "index")}
        self._errors: dict[str, list] = {
            k: [] for k in ("channel_id", "batch_id", "source_file", "record_index", "raw_excerpt", "reason", "detail")
        }
        self._bytes = 0

    def add(self, ledger: dict, result: ReadResult) -> None:
        keys = (ledger["channel_id"], ledger["batch_id"], ledger["source_file"])
        for index, record in result.indexed_records():  # positions in the file, shared with the errors
            for name, value in zip(("channel_id", "batch_id", "source_file"), keys, strict=True):
                self._payloads[name].append(value)
            self._payloads["payload"].append(json.dumps(record, ensure_ascii=False, default=str))
            self._payloads["index"].append(index)
        for error in result.errors:
            for name, value in zip(("channel_id", "batch_id", "source_file"), keys, strict=True):
                self._errors[name].append(value)
            self._errors["record_index"].append(error.record_index)
            self._errors["raw_excerpt"].append(error.raw_excerpt[:_EXCERPT_CHARS])
            self._errors["reason"].append(error.reason)
            self._errors["detail"].append(error.detail)
        self._ledgers.append(ledger)
        self.pending_ids.add(ledger["batch_id"])
        self._bytes += ledger["size_bytes"]
        if len(self._ledgers) >= self.max_files or self._bytes >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._ledgers:
            return
        con = self.con
        payloads = pl.DataFrame(self._payloads, schema={**dict.fromkeys(self._payloads, pl.String), "index": pl.Int64})
        errors = pl.DataFrame(self._errors, schema={**dict.fromkeys(self._errors, pl.String), "record_index": pl.Int64})
        run_id = self._ledgers[0]["run_id"]
        if self.archived_unsynced:  # the archived bytes reach the disk before the ledger refers to them
            os.sync()
            self.archived_unsynced = False
        con.execute("begin transaction")
        try:
            con.register("_payloads", payloads)
            con.execute(
                "insert into raw.channel_payloads (channel_id, payload, _batch_id, _source_file, _record_index)"
                " select channel_id, payload::json, batch_id, source_file, index from _payloads"
            )
            con.register("_errors", errors)
            con.execute(
                "insert into quarantine.records"
                " (batch_id, channel_id, source_file, record_index, raw_excerpt, reason, detail, run_id)"
                " select batch_id, channel_id, source_file, record_index, raw_excerpt, reason, detail, ?"
                " from _errors",
                [run_id],
            )
            # Load order: one writer at a time (warehouse/connection.py), so max + n is safe here.
            last_seq = con.execute("select coalesce(max(batch_seq), 0) from raw.batches").fetchone()[0]
            # One set-based insert: executemany costs ~0.4 ms a row, which a mailbox of .eml files feels.
            con.register("_ledgers", _ledger_frame(self._ledgers, first_seq=last_seq + 1))
            con.execute("insert into raw.batches by name select * from _ledgers")
            for ledger in self._ledgers:
                if ledger["cursor_after"] is not None:
                    _advance_cursor(con, ledger["channel_id"], ledger["cursor_after"], ledger["batch_id"])
            crash_point("before_commit")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.unregister("_payloads")
            con.unregister("_errors")
            con.unregister("_ledgers")
        self._reset()
        self.pending_ids.clear()
        crash_point("after_commit")


_LEDGER_SCHEMA = {
    "batch_id": pl.String,
    "channel_id": pl.String,
    "source_file": pl.String,
    "content_sha256": pl.String,
    "size_bytes": pl.Int64,
    "record_count": pl.Int64,
    "rejected_count": pl.Int64,
    "status": pl.String,
    "run_id": pl.String,
    "source_uri": pl.String,
    "fetched_at": pl.Datetime("us", "UTC"),
    "cursor_before": pl.String,
    "cursor_after": pl.String,
    "archive_path": pl.String,
}


def _ledger_frame(ledgers: list[dict], *, first_seq: int) -> pl.DataFrame:
    """raw.batches rows of ``ledgers`` (ledger_row's keys), numbered in load order from ``first_seq``."""
    unknown = {key for ledger in ledgers for key in ledger} - set(_LEDGER_SCHEMA)
    if unknown:
        raise ValueError(f"raw.batches has no column for {sorted(unknown)}: add it to _LEDGER_SCHEMA")
    columns = {name: [ledger[name] for ledger in ledgers] for name in _LEDGER_SCHEMA}
    frame = pl.DataFrame(columns, schema=_LEDGER_SCHEMA)
    return frame.with_columns(batch_seq=pl.int_range(first_seq, first_seq + len(ledgers), dtype=pl.Int64))


def write_batch(con: duckdb.DuckDBPyConnection, ledger: dict, result: ReadResult) -> None:
    """Payloads, quarantined records, the ledger row and the cursor of one batch: one transaction."""
    group = BatchGroup(con)
    group.add(ledger, result)
    group.flush()


def _advance_cursor(con: duckdb.DuckDBPyConnection, channel_id: str, cursor: str, batch_id: str) -> None:
    con.execute(
        "insert or replace into raw.channel_cursors (channel_id, cursor, batch_id, updated_at)"
        " values (?, ?, ?, current_timestamp)",
        [channel_id, cursor, batch_id],
    )


def _landed_files(landing_dir: Path) -> Iterable[tuple[str, Path]]:
    """(folder name, file) for every regular file below a channel folder, sorted; dot-files skipped."""
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            yield folder.name, path


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    channels: tuple[Channel, ...],
    *,
    archive_dir: Path | None = None,
    run_id: str | None = None,
    only: set[str] | None = None,
    group_files: int = 500,
) -> IngestSummary:
    """Land every new file under ``landing_dir``; return what was done.

    ``only`` restricts the run to these channel folders (a schedule group); folders of other
    registered channels are left for their own group's run. Unregistered folders are always
    quarantined, whatever the group, so that a typo in a folder name is seen at once.
    ``archive_dir`` defaults to ``<landing_dir>/../archive``. Files are committed in groups of up
    to ``group_files`` (see BatchGroup).
    """
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist: run `otklik generate` first")
    archive = archive_dir or landing_dir.parent / "archive"
    summary = IngestSummary()
    by_id = {c.id: c for c in channels}
    known = _landed_batch_ids(con)
    group = BatchGroup(con, max_files=group_files)
    for folder, path in _landed_files(landing_dir):
        channel = by_id.get(folder)
        if channel is not None and only is not None and folder not in only:
            continue
        if channel is not None and not channel.enabled:
            if folder not in summary.disabled_channels:
                summary.disabled_channels.append(folder)
            continue
        relative = path.relative_to(landing_dir).as_posix()
        outcome = land_batch(
            con,
            folder,
            channel,
            path.read_bytes(),
            source_file=relative,
            source_uri=path.resolve().as_uri(),
            archive_dir=archive,
            run_id=run_id,
            fetched_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
            group=group,
            known=known,
        )
        summary.add(folder, relative, outcome)
    group.flush()
    return summary


def _landed_batch_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select batch_id from raw.batches union all select batch_id from quarantine.files where resolved_at is null"
    )
    return {r[0] for r in rows.fetchall()}
