"""Land batches (landed files or pulled pages) into raw, once per content, with their cursor.

A batch is the bytes of one file or one API page, identified by its channel and SHA-256: the same
bytes landed twice (or under another name) are loaded once. For each new batch, in this order:
1. the bytes are archived unchanged, content-addressed (``<archive>/<sha[:2]>/<sha>``);
2. one transaction writes its payloads, its quarantined records, its ledger row and the channel's
   cursor; a crash before the commit leaves nothing (the next run redoes the batch), a crash after
   it leaves the whole batch (the next run skips it by its hash).
Files that cannot be read at all go to quarantine.files with a reason (and their archived bytes,
so `otklik quarantine retry` can read them again after a fix); single bad records of a readable
file go to quarantine.records. Nothing that lands is dropped silently: records that a channel's
``reader.record_filter`` rules out (service messages) are counted (``IngestSummary.filtered_records``).

Bad records keep only a masked excerpt (``transforms.readers.base.excerpt``: phones, e-mail
addresses and card numbers masked, the first 500 characters), because personal data lives only in
the ``restricted`` schema; their detail names the archived file, where the whole record can be read
by whoever may read the archive (raw.batches.archive_path of the same batch_id says the same).

The landing scan (``_landed_files``) stays inside the landing folder. It walks it through open
directory descriptors (``openat`` with ``O_NOFOLLOW``), so neither a link nor a folder swapped for
one during the scan leads out of it, and it reads regular files only. A symbolic link is never
followed, wherever it points: it is quarantined unread as ``symlink_outside_landing`` (its target
resolves outside the landing folder), ``symlink_in_landing`` (inside it: a file in a channel folder
lands under its own path, and a link must not be a second way in, e.g. from another channel's
folder) or ``dangling_link`` (no target, or a loop). A channel folder that is a link counts as one
(point the landing folder itself at the real folder instead). Also quarantined unread:
``not_a_regular_file`` (a FIFO would block the run), ``unopenable_file`` (no permission) and
``too_large`` (over the channel's ``reader.max_file_bytes``: never read into memory). What is not
read has no content to hash: its batch id is ``batch_id_for(channel, sha256(identity))``, where
the identity is the reason and the path (for ``too_large`` also the size, mtime and limit, so a
changed file or a raised limit is looked at again; for ``unopenable_file`` the inode change time,
so a chmod is), content_sha256 holds that hash, archive_path is null, and the detail names the
path (and a link's target path, never anything read through it). A re-run finds the id among the
known batches and skips it: nothing is quarantined twice.

The readers of container formats (XLSX) run in one child process per ingest run, with memory and
time limits (``transforms.readers.guard``): a workbook that crashes or exhausts its reader is
quarantined (``reader_crashed``, ``out_of_memory``, ``timeout``) and the run goes on.

A run with many new files archives and reads them in a pool of worker processes
(``warehouse.ingest_pool``, ``OTKLIK_INGEST_WORKERS``); this process alone writes the warehouse, in
the scan's order, so the rows, their load order and the quarantine are those of a serial run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

import duckdb
import polars as pl

from transforms.channels import Channel
from transforms.channels.registry import ReaderOptions
from transforms.readers import CONTAINER_FORMATS, ReadResult, UnreadableFile, guard, read_file
from transforms.readers.base import excerpt
from warehouse.connection import hold_channels
from warehouse.faults import crash_point
from warehouse.lake import next_numbers, retry_conflicts, target_of

_DEFAULT_READER = ReaderOptions()
_SHOWN_TARGET_CHARS = 200


@dataclass(frozen=True)
class BatchOutcome:
    batch_id: str
    status: Literal["loaded", "skipped", "quarantined"]
    records: int = 0
    rejected: int = 0
    filtered: int = 0  # records dropped by the channel's reader.record_filter (not feedback, by rule)
    reason: str | None = None
    detail: str | None = None


@dataclass
class IngestSummary:
    """What one ingest run did, per channel: files loaded, skipped as already loaded, quarantined."""

    loaded_files: dict[str, int] = field(default_factory=dict)
    loaded_records: dict[str, int] = field(default_factory=dict)
    rejected_records: dict[str, int] = field(default_factory=dict)
    filtered_records: dict[str, int] = field(default_factory=dict)  # dropped by reader.record_filter
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
            if outcome.filtered:
                _bump(self.filtered_records, channel_id, outcome.filtered)

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
    # Archived files are payloads as landed (names, phones, e-mails): owner-only, like the live warehouse.
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f"{sha256}.{os.getpid()}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(data)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, target)
    return target


def channel_cursor(con: duckdb.DuckDBPyConnection, channel_id: str) -> str | None:
    row = con.execute("select cursor from raw.channel_cursors where channel_id = ?", [channel_id]).fetchone()
    return row[0] if row else None


def reset_cursor(con: duckdb.DuckDBPyConnection, channel_id: str, cursor: str | None, *, run_id: str) -> str | None:
    """Set a channel's committed cursor by hand (None: remove it); return the cursor it replaced.

    For an operator after a provider change (a cursor of the old interface means nothing to the new
    one) or to pull again from the start: pages landed before are then skipped by their content
    hash, so nothing counts twice. ``run_id`` is the run that records the reset (audit.runs); a
    cursor set by hand names it as its batch (``reset:<run id>``).
    """
    before = channel_cursor(con, channel_id)
    if cursor is None:
        con.execute("delete from raw.channel_cursors where channel_id = ?", [channel_id])
    else:
        _advance_cursor(con, channel_id, cursor, f"reset:{run_id}")
    return before


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
            retry_conflicts(lambda: _advance_cursor(con, channel_id, cursor_after, batch_id))
        return BatchOutcome(batch_id, "skipped")
    archived = archive_bytes(archive_dir, sha256, data, durable=group is None)
    if group is not None:
        group.archived_unsynced = True
    crash_point("after_archive")
    problem, result = diagnose(channel, channel_id, source_file, data)
    if problem is not None:
        quarantine_read_file(
            con, batch_id, channel_id, source_file, sha256, problem, run_id=run_id, archive_path=str(archived)
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
    return BatchOutcome(
        batch_id, "loaded", records=len(result.records), rejected=len(result.errors), filtered=result.filtered
    )


def quarantine_read_file(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    channel_id: str,
    source_file: str,
    sha256: str,
    problem: tuple[str, str],
    *,
    run_id: str | None,
    archive_path: str,
) -> None:
    """The quarantine.files row of an archived file that cannot be read (``problem``: reason, detail)."""
    con.execute(
        "insert into quarantine.files (batch_id, channel_id, source_file, content_sha256, reason, detail,"
        " run_id, archive_path) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [batch_id, channel_id, source_file, sha256, problem[0], problem[1], run_id, archive_path],
    )


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


@dataclass(frozen=True)
class RecordRows:
    """A read batch as the rows it writes: payloads as JSON text, bad records as quarantine.records values."""

    indexes: list[int]  # _record_index of each payload: positions in the file, shared with the errors
    payloads: list[str]
    errors: list[tuple[int, str, str, str]]  # (record_index, masked excerpt, reason, detail)


def record_rows(result: ReadResult, archive_path: str) -> RecordRows:
    """The rows of a read batch archived at ``archive_path`` (the parent's BatchGroup or an ingest worker)."""
    indexes, payloads = [], []
    for index, record in result.indexed_records():
        indexes.append(index)
        payloads.append(json.dumps(record, ensure_ascii=False, default=str))
    errors = [
        # masked again here (readers already mask): quarantine.records is not a restricted table
        (e.record_index, excerpt(e.raw_excerpt), e.reason, f"{e.detail}; the whole record is in {archive_path}")
        for e in result.errors
    ]
    return RecordRows(indexes, payloads, errors)


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
        self.add_rows(ledger, record_rows(result, ledger["archive_path"]))

    def add_rows(self, ledger: dict, rows: RecordRows) -> None:
        """``add`` of a batch whose records are JSON text already (``record_rows``, e.g. in a worker)."""
        keys = (ledger["channel_id"], ledger["batch_id"], ledger["source_file"])
        for name, value in zip(("channel_id", "batch_id", "source_file"), keys, strict=True):
            self._payloads[name].extend([value] * len(rows.payloads))
            self._errors[name].extend([value] * len(rows.errors))
        self._payloads["payload"].extend(rows.payloads)
        self._payloads["index"].extend(rows.indexes)
        for error in rows.errors:
            for column, value in zip(("record_index", "raw_excerpt", "reason", "detail"), error, strict=True):
                self._errors[column].append(value)
        self._ledgers.append(ledger)
        self.pending_ids.add(ledger["batch_id"])
        self._bytes += ledger["size_bytes"]
        if len(self._ledgers) >= self.max_files or self._bytes >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        if not self._ledgers:
            return
        payloads = pl.DataFrame(self._payloads, schema={**dict.fromkeys(self._payloads, pl.String), "index": pl.Int64})
        errors = pl.DataFrame(self._errors, schema={**dict.fromkeys(self._errors, pl.String), "record_index": pl.Int64})
        run_id = self._ledgers[0]["run_id"]
        if self.archived_unsynced:  # the archived bytes reach the disk before the ledger refers to them
            os.sync()
            self.archived_unsynced = False
        # On a DuckLake another channel's writer may commit to the same tables meanwhile; a lost conflict
        # rolls this transaction back whole, and it is simply run again (warehouse/lake.py).
        retry_conflicts(lambda: self._commit(payloads, errors, run_id))
        self._reset()
        self.pending_ids.clear()
        crash_point("after_commit")

    def _commit(self, payloads: pl.DataFrame, errors: pl.DataFrame, run_id: str | None) -> None:
        """Payloads, quarantined records, ledger rows and cursors of the pending batches: one transaction."""
        con = self.con
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
            # One set-based insert: executemany costs ~0.4 ms a row, which a mailbox of .eml files feels.
            con.register("_ledgers", _ledger_frame(self._ledgers, seqs=_load_order(con, len(self._ledgers))))
            _refuse_landed_twice(con)
            con.execute("insert into raw.batches by name select * from _ledgers")
            for ledger in self._ledgers:
                if ledger["cursor_after"] is not None:
                    _advance_cursor(con, ledger["channel_id"], ledger["cursor_after"], ledger["batch_id"])
            crash_point("before_commit")
            con.execute("commit")
        except BaseException:
            with suppress(duckdb.TransactionException):  # a commit that failed has rolled back already
                con.execute("rollback")
            raise
        finally:
            con.unregister("_payloads")
            con.unregister("_errors")
            con.unregister("_ledgers")


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


class BatchLandedTwice(RuntimeError):
    """A batch about to be committed is in raw.batches already, or twice in its group: nothing was committed."""


def _refuse_landed_twice(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse the group's transaction when a batch id of ``_ledgers`` is landed already or repeated in it.

    This is what raw.batches' primary key did until migration 0016: a file is loaded at most once. The
    ingest skips known batch ids before it reads a file (``land_batch``), and one writer holds the file
    (one per channel on a lake), so this finds nothing unless that is broken; then the payloads of the
    group must not land a second time either, so the whole transaction is rolled back. It reads one
    column of the ledger at every commit (5-18 ms at 80,000-200,000 batches once read, up to 0.2 s for
    the first read), where the key added about 0.2 s to every checkpoint."""
    twice = con.execute(
        "select batch_id from _ledgers where batch_id in (select batch_id from raw.batches)"
        " union (select batch_id from _ledgers group by batch_id having count(*) > 1)"
        " order by batch_id limit 6"
    ).fetchall()
    if twice:
        ids = ", ".join(row[0] for row in twice[:5]) + (" …" if len(twice) > 5 else "")
        raise BatchLandedTwice(
            f"batches landed already, or twice in one commit: {ids}; nothing of this group was committed"
            " (another process wrote the warehouse without holding it?)"
        )


def _load_order(con: duckdb.DuckDBPyConnection, count: int) -> list[int]:
    """``count`` load-order numbers (raw.batches.batch_seq) for the batches being committed.

    On a DuckDB file one writer at a time (warehouse/connection.py), so the largest so far plus one is
    safe; on a DuckLake writers of several channels commit at once, and a PostgreSQL sequence gives
    each distinct numbers (``warehouse.lake.next_numbers``).
    """
    if target_of(con) is not None:
        return next_numbers(con, "raw.batch_seq_numbers", count)
    last_seq = con.execute("select coalesce(max(batch_seq), 0) from raw.batches").fetchone()[0]
    return list(range(last_seq + 1, last_seq + 1 + count))


def _ledger_frame(ledgers: list[dict], *, seqs: list[int]) -> pl.DataFrame:
    """raw.batches rows of ``ledgers`` (ledger_row's keys), numbered in load order by ``seqs``."""
    unknown = {key for ledger in ledgers for key in ledger} - set(_LEDGER_SCHEMA)
    if unknown:
        raise ValueError(f"raw.batches has no column for {sorted(unknown)}: add it to _LEDGER_SCHEMA")
    columns = {name: [ledger[name] for ledger in ledgers] for name in _LEDGER_SCHEMA}
    frame = pl.DataFrame(columns, schema=_LEDGER_SCHEMA)
    return frame.with_columns(batch_seq=pl.Series(seqs, dtype=pl.Int64))


def write_batch(con: duckdb.DuckDBPyConnection, ledger: dict, result: ReadResult) -> None:
    """Payloads, quarantined records, the ledger row and the cursor of one batch: one transaction."""
    group = BatchGroup(con)
    group.add(ledger, result)
    group.flush()


def _advance_cursor(con: duckdb.DuckDBPyConnection, channel_id: str, cursor: str, batch_id: str) -> None:
    # One statement (atomic on its own), keyed by channel_id in the statement rather than by the table's
    # key: a DuckLake has no keys (warehouse/lake.py), and there the channel's lock keeps it one row.
    con.execute(
        "merge into raw.channel_cursors as c"
        " using (select ? as channel_id, ? as cursor, ? as batch_id) as n on c.channel_id = n.channel_id"
        " when matched then update set cursor = n.cursor, batch_id = n.batch_id, updated_at = current_timestamp"
        " when not matched then insert (channel_id, cursor, batch_id, updated_at)"
        " values (n.channel_id, n.cursor, n.batch_id, current_timestamp)",
        [channel_id, cursor, batch_id],
    )


@dataclass(frozen=True)
class LandedEntry:
    """One entry below a channel folder as the scan found it, not followed if it is a link."""

    folder: str  # the channel folder's name
    path: str  # below the landing folder, "/"-separated, as the file system spells it
    kind: Literal["file", "link", "special", "unopenable"]
    dir_fd: int  # the open folder that holds it: valid while the scan stands at this entry
    name: str  # its name in that folder

    @property
    def source_file(self) -> str:
        """``path`` as stored text: a name that is not UTF-8 keeps its bytes as \\x escapes."""
        return _shown(self.path)


def _shown(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _landed_files(landing_dir: Path) -> Iterator[LandedEntry]:
    """Every file, link and special file below a channel folder, sorted by path; dot-files skipped.

    Walks open folders (``openat``, ``O_NOFOLLOW``): a link is reported, never followed, and a
    folder swapped for a link after it was listed is not entered. Plain files directly in the
    landing folder belong to no channel and are not reported (as before).
    """
    root = os.open(landing_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name, kind in _folder_entries(root):
            if kind == "dir":
                yield from _walk(root, name, name, name)
            elif kind == "link":
                yield LandedEntry(name, name, "link", root, name)
    finally:
        os.close(root)


def _walk(parent_fd: int, name: str, folder: str, path: str) -> Iterator[LandedEntry]:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _kind_of(parent_fd, name) == "link":
            yield LandedEntry(folder, path, "link", parent_fd, name)  # swapped for a link since it was listed
        elif exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            yield LandedEntry(folder, path, "unopenable", parent_fd, name)  # e.g. a folder without permissions
        return
    try:
        for child, kind in _folder_entries(fd):
            child_path = f"{path}/{child}"
            if kind == "dir":
                yield from _walk(fd, child, folder, child_path)
            else:
                yield LandedEntry(folder, child_path, kind, fd, child)
    finally:
        os.close(fd)


def _folder_entries(fd: int) -> list[tuple[str, str]]:
    """(name, kind) of an open folder's entries, sorted; kind: dir | file | link | special | unopenable."""
    entries = []
    with os.scandir(fd) as listing:
        for entry in listing:
            if entry.name.startswith("."):
                continue
            kind = _kind_of(fd, entry.name)
            if kind is not None:
                entries.append((entry.name, kind))
    return sorted(entries)


def _kind_of(dir_fd: int, name: str) -> str | None:
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None  # removed since it was listed
    except OSError:
        return "unopenable"  # a folder that lists its names but lets nobody look at them
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "special"


@dataclass(frozen=True)
class _Unread:
    """Why an entry is quarantined without its content, and the identity its batch id is made from."""

    reason: str
    detail: str
    identity: str


def _link_problem(entry: LandedEntry, landing_real: str) -> _Unread:
    """The quarantine reason of a link: where it points, found without opening anything through it."""
    try:
        target = os.readlink(entry.name, dir_fd=entry.dir_fd)
    except OSError:
        target = "?"
    resolved = os.path.realpath(os.path.join(landing_real, entry.path))
    shown = _shown(target)[:_SHOWN_TARGET_CHARS]
    identity = f"link\0{entry.path}"
    what = f"{entry.source_file} is a symbolic link to {shown!r}"
    if not os.path.exists(resolved):
        return _Unread("dangling_link", f"{what}, which does not exist (or loops): nothing was read", identity)
    if resolved == landing_real or resolved.startswith(landing_real.rstrip(os.sep) + os.sep):
        return _Unread(
            "symlink_in_landing",
            f"{what} inside the landing folder: links are not followed (land the file itself); nothing was read",
            identity,
        )
    return _Unread(
        "symlink_outside_landing",
        f"{what}, outside the landing folder: links are not followed; nothing was read",
        identity,
    )


def _special_problem(entry: LandedEntry) -> _Unread:
    return _Unread(
        "not_a_regular_file",
        f"{entry.source_file} is not a regular file (a pipe, socket or device): not read",
        f"special\0{entry.path}",
    )


def _read_landed(
    entry: LandedEntry, max_bytes: int, landing_real: str
) -> tuple[bytes, os.stat_result] | _Unread | None:
    """The bytes of a landed file (opened without following links), why they are not read, or None if it is gone."""
    if entry.kind == "link":
        return _link_problem(entry, landing_real)
    if entry.kind == "special":
        return _special_problem(entry)
    if entry.kind == "unopenable":
        return _unopenable_problem(entry, "permission denied")
    try:
        fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=entry.dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link since it was listed
            return _link_problem(entry, landing_real)
        return _unopenable_problem(entry, exc.strerror or type(exc).__name__)
    with open(fd, "rb") as handle:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return _special_problem(entry)
        too_large = _Unread(
            "too_large",
            f"{entry.source_file} has {status.st_size:,} bytes, over reader.max_file_bytes {max_bytes:,}: "
            "not read and not archived (a raised limit or a changed file is looked at again)",
            f"too_large\0{entry.path}\0{status.st_size}\0{status.st_mtime_ns}\0{max_bytes}",
        )
        if status.st_size > max_bytes:
            return too_large
        data = handle.read(status.st_size + 1)
        if len(data) > status.st_size:  # it grew while being read
            data += handle.read(max_bytes + 1 - len(data))
            if len(data) > max_bytes:
                return too_large
    return data, status


def _unopenable_problem(entry: LandedEntry, why: str) -> _Unread:
    try:
        ctime = os.stat(entry.name, dir_fd=entry.dir_fd, follow_symlinks=False).st_ctime_ns
    except OSError:
        ctime = 0
    return _Unread(
        "unopenable_file",
        f"{entry.source_file} cannot be opened: {why}",
        f"unopenable_file\0{entry.path}\0{ctime}",
    )


def _quarantine_unread(
    con: duckdb.DuckDBPyConnection,
    channel_id: str,
    source_file: str,
    problem: _Unread,
    *,
    run_id: str | None,
    known: set[str] | None = None,
) -> BatchOutcome:
    """Quarantine an entry that was not read (a link, a special file, a file over the size limit).

    Its batch id is derived from the channel and ``problem.identity`` (no content was read to hash);
    content_sha256 holds the identity's hash and archive_path stays null (module docstring).
    """
    sha256 = hashlib.sha256(problem.identity.encode("utf-8", "surrogateescape")).hexdigest()
    batch_id = batch_id_for(channel_id, sha256)
    seen = batch_id in known if known is not None else _already_landed(con, batch_id)
    if seen:
        return BatchOutcome(batch_id, "skipped")
    con.execute(
        "insert into quarantine.files (batch_id, channel_id, source_file, content_sha256, reason, detail,"
        " run_id, archive_path) values (?, ?, ?, ?, ?, ?, ?, null)",
        [batch_id, channel_id, source_file, sha256, problem.reason, problem.detail, run_id],
    )
    if known is not None:
        known.add(batch_id)
    return BatchOutcome(batch_id, "quarantined", reason=problem.reason, detail=problem.detail)


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
    landing_real = os.path.realpath(landing_dir)
    by_id = {c.id: c for c in channels}
    # On a DuckLake other processes ingest other channel groups meanwhile; each holds its channels
    # (connect(channels=...)), and a folder of no channel is held by whoever quarantines it, so that no
    # file is landed twice. A folder that appears after this listing waits for the next run there.
    unregistered = _unregistered_folders(landing_dir, by_id) if target_of(con) is not None else None
    with hold_channels(con, sorted(unregistered or ())):
        return _ingest_held(con, landing_dir, by_id, archive, landing_real, run_id, only, group_files, unregistered)


def _unregistered_folders(landing_dir: Path, by_id: dict[str, Channel]) -> set[str]:
    with os.scandir(landing_dir) as listing:
        return {_shown(e.name) for e in listing if not e.name.startswith(".") and _shown(e.name) not in by_id}


def _ingest_held(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    by_id: dict[str, Channel],
    archive: Path,
    landing_real: str,
    run_id: str | None,
    only: set[str] | None,
    group_files: int,
    unregistered: set[str] | None,
) -> IngestSummary:
    """``ingest_landing`` once its folders are held; ``unregistered`` (on a DuckLake) the folders of no
    channel that it may quarantine."""
    channels = tuple(by_id.values())
    summary = IngestSummary()
    known = _landed_batch_ids(con)
    group = BatchGroup(con, max_files=group_files)
    # One reader child process for the run's workbooks, started now (when such a channel's folder
    # holds anything) so that its start-up of ~0.4 s overlaps the scan of the other folders.
    containers = any(
        c.format in CONTAINER_FORMATS
        and c.enabled
        and (only is None or c.id in only)
        and _has_entries(landing_dir / c.id)
        for c in channels
    )
    from warehouse.ingest_pool import OrderedLanding  # it imports this module (its workers do too)

    with (
        guard.session(prestart=containers),
        OrderedLanding(con, group, known, summary, channels=channels, archive_dir=archive, run_id=run_id) as files,
    ):
        for entry in _landed_files(landing_dir):
            folder = _shown(entry.folder)
            channel = by_id.get(folder)
            if channel is not None and only is not None and folder not in only:
                continue
            if channel is None and unregistered is not None and folder not in unregistered:
                continue
            if channel is not None and not channel.enabled:
                if folder not in summary.disabled_channels:
                    summary.disabled_channels.append(folder)
                continue
            relative = entry.source_file
            read = _read_landed(entry, (channel.reader if channel else _DEFAULT_READER).max_file_bytes, landing_real)
            if read is None:
                continue  # removed since the scan listed it: nothing landed
            if isinstance(read, _Unread):
                files.unread(folder, relative, read)
                continue
            data, status = read
            # Written in scan order by this process; read by a pool of workers when there are enough
            # new files (warehouse.ingest_pool), else here by land_batch.
            files.landed(
                folder,
                channel,
                data,
                source_file=relative,
                source_uri=Path(landing_real, entry.path).as_uri(),
                fetched_at=datetime.fromtimestamp(status.st_mtime, UTC),
            )
        files.finish()
        group.flush()
    return summary


def _has_entries(folder: Path) -> bool:
    try:
        with os.scandir(folder) as listing:
            return any(not entry.name.startswith(".") for entry in listing)
    except OSError:
        return False


def _landed_batch_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select batch_id from raw.batches union all select batch_id from quarantine.files where resolved_at is null"
    )
    return {r[0] for r in rows.fetchall()}
