"""Read landed files in a pool of worker processes while this process alone writes the warehouse.

``warehouse.ingest`` scans the landing folder and reads each file's bytes here (the scan's safety
against links and special files stays in one place); ``OrderedLanding`` then decides, file by file,
what becomes of them. A file whose content is already landed is skipped at once (its hash is known).
A new file goes to a worker process, which archives its bytes (content-addressed, not yet fsynced),
runs the channel's reader and turns the records into the JSON text of ``raw.channel_payloads`` and
the masked rows of ``quarantine.records`` (``warehouse.ingest.record_rows``, the same code as the
serial path). Results are applied in scan order, by this process only, through the same
``BatchGroup``: the same rows, the same load order (``batch_seq``), the same groups and the same
quarantine reasons as a run without workers. Staging's "first wins" follows ``batch_seq``, so this
order is kept exactly, not approximately.

Where the time of a run goes without the pool (100,000 items, 4 months, 13,540 files, 2 cores):
the readers ~50 % (e-mail alone ~35 %: the stdlib ``email`` parser and its header registry), the
archive ~20 % (creating one file per content), JSON text of the payloads ~15 %, the warehouse
writes ~12 %, the scan and reading the files ~3 %. All but the writes run in the workers.

Crash safety is the serial path's: a worker's archive write has finished before its result comes
back, and ``BatchGroup.flush`` calls ``os.sync()`` before its commit, so archived bytes reach the
disk before the ledger names them; ``crash_point("after_archive")`` fires here, as each archived
result is applied. The workers die with this process (``PR_SET_PDEATHSIG`` on Linux, otherwise a
thread that watches the parent), so a killed ingest leaves no worker writing behind it; what a
worker archived without a commit is redone by the next run, like a serial crash after the archive.

Workbooks (``CONTAINER_FORMATS``) stay in this process's guarded reader child
(``transforms.readers.guard``). A worker that dies (the kernel's OOM killer) breaks the pool: the
files it held, and all after them, are then read here as without a pool, so nothing is lost.

The pool starts only when a run has enough new files to pay for it: ``OTKLIK_INGEST_POOL_MIN_FILES``
(default 400 files, or 64 MiB) new files; until then files are held, and a run that stays below
the threshold (an incremental run, a test) is read here exactly as before. The first pool of a
process answers after ~0.9 s (its fork server starts and imports the readers, while the scan goes
on), a later one after ~40 ms (measured on the 2-core development machine under load).
``OTKLIK_INGEST_WORKERS`` sets the worker count (default: the machine's cores; 0: no pool, every
file read here at once, the serial ingest as it was).

DuckDB's own readers (``read_csv``, ``read_json``, ``read_json_objects``) are not used, because
they cannot land the same rows. ``raw.channel_payloads.payload`` holds the text of Python's
``json.dumps(record, ensure_ascii=False)`` (DuckDB's JSON cast keeps text as given): for the line
``{"a":1.0,"b":"\\u00e9"}`` that is ``{"a": 1.0, "b": "é"}``, while ``read_json_objects`` gives the
line's own text (escapes and spacing kept, a duplicate key kept twice where Python keeps the last),
``to_json`` over ``read_json`` gives ``{"a":1.0,"b":"é"}`` (and fails the whole file on a duplicate
key), and ``read_csv`` types cells from a sample (``{"id":1}`` where the CSV reader keeps the text
``{"id": "1"}``; ``all_varchar`` still differs in spacing). Beyond the text, the readers decide per
file and per record what DuckDB decides per scan: the encoding (cp1251, UTF-16 with or without a
byte-order mark, a declared charset that lies), ``wrong_format`` sniffing, one ``RecordError`` per
broken line or short row with its masked excerpt and line number, ``reader.max_record_bytes``,
``reader.record_filter``, NaN refused. And they are not where the time goes: on the 100,000-item
landing CSV, JSON Lines and JSON pages together take ~2.5 s of reading (of ~14 s in the readers),
which the workers now share.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from transforms.channels import Channel
from transforms.readers import CONTAINER_FORMATS
from warehouse.faults import crash_point
from warehouse.ingest import (
    BatchGroup,
    BatchOutcome,
    IngestSummary,
    ReadResult,
    RecordRows,
    _quarantine_unread,
    _Unread,
    archive_bytes,
    batch_id_for,
    diagnose,
    land_batch,
    ledger_row,
    quarantine_read_file,
    record_rows,
)

log = logging.getLogger(__name__)

WORKERS_ENV = "OTKLIK_INGEST_WORKERS"
POOL_MIN_FILES_ENV = "OTKLIK_INGEST_POOL_MIN_FILES"
DEFAULT_POOL_MIN_FILES = 400  # ~1 s of e-mails read serially: about what starting the pool costs
POOL_MIN_BYTES = 64 * 2**20
CHUNK_FILES = 64  # files per task: one round trip per file would cost more than a small .eml's reading
CHUNK_BYTES = 8 * 2**20
CHUNKS_IN_FLIGHT_PER_WORKER = 4  # bounds the bytes held in memory, keeps every worker busy
_PR_SET_PDEATHSIG = 1


def ingest_workers() -> int:
    """Worker processes for reading landed files: ``OTKLIK_INGEST_WORKERS``, default the machine's cores."""
    return _env_count(WORKERS_ENV, os.cpu_count() or 1)


def pool_min_files() -> int:
    """New files a run must have before it starts the pool (``OTKLIK_INGEST_POOL_MIN_FILES``)."""
    return _env_count(POOL_MIN_FILES_ENV, DEFAULT_POOL_MIN_FILES)


def _env_count(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of 0 or more, not {text!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be a whole number of 0 or more, not {text!r}")
    return value


# --- what a worker does --------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A new landed file archived and read by a worker: its archive path and either a problem or its rows."""

    archive_path: str
    problem: tuple[str, str] | None
    rows: RecordRows | None
    filtered: int = 0


_worker_channels: dict[str, Channel] = {}
_worker_archive = Path()


def _start_worker(channels: tuple[Channel, ...], archive_dir: str, parent_pid: int) -> None:
    global _worker_channels, _worker_archive
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops the pool
    _worker_channels = {c.id: c for c in channels}
    _worker_archive = Path(archive_dir)


def _die_with_parent(parent_pid: int) -> None:
    """End this worker as soon as the ingest process ends, however it ends (a kill -9 included).

    A worker's parent is the fork server, not the ingest process, and the fork server lives as long
    as any worker does; so the worker watches the ingest process itself. It must not wait for that
    process to be reaped: whoever started it may wait for our output pipes to close first.
    """
    if sys.platform.startswith("linux"):  # under spawn the parent is the ingest process: the kernel ends us
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        watched = os.pidfd_open(parent_pid)  # readable once the process has ended, reaped or not
    except (AttributeError, OSError):
        watched = None
    threading.Thread(target=_watch_parent, args=(parent_pid, watched), daemon=True).start()


def _watch_parent(parent_pid: int, pidfd: int | None) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])
        os._exit(1)
    while _alive(parent_pid):
        time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        return stat_line.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def prepare_files(jobs: list[tuple[str, str, str, bytes]]) -> list[Prepared]:
    """Archive and read each (folder, source file, sha256, bytes); the worker's task."""
    return [_prepare(*job) for job in jobs]


def _prepare(folder: str, source_file: str, sha256: str, data: bytes) -> Prepared:
    archived = archive_bytes(_worker_archive, sha256, data, durable=False)
    problem, result = diagnose(_worker_channels.get(folder), folder, source_file, data)
    if problem is not None:
        return Prepared(str(archived), problem, None)
    return Prepared(str(archived), None, record_rows(result, str(archived)), result.filtered)


# --- the parent: one writer, in scan order -------------------------------------------------------


@dataclass
class _Item:
    """One entry of the scan, kept until it is written, in order."""

    kind: Literal["unread", "skipped", "new"]
    folder: str
    source_file: str
    batch_id: str
    channel: Channel | None = None
    problem: _Unread | None = None
    source_uri: str = ""
    fetched_at: datetime | None = None
    data: bytes = b""
    sha256: str = ""

    @property
    def pooled(self) -> bool:
        """Read by a worker: a new file of any format but the workbooks (read in the guarded child here)."""
        return self.kind == "new" and (self.channel is None or self.channel.format not in CONTAINER_FORMATS)


@dataclass
class _Chunk:
    items: list[_Item] = field(default_factory=list)
    jobs: int = 0
    size: int = 0
    future: Future | None = None


class OrderedLanding:
    """The landed files of one run: read by a pool when there are enough, written here in scan order."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        group: BatchGroup,
        known: set[str],
        summary: IngestSummary,
        *,
        channels: tuple[Channel, ...],
        archive_dir: Path,
        run_id: str | None,
    ) -> None:
        self.con = con
        self.group = group
        self.known = known
        self.summary = summary
        self.channels = channels
        self.archive_dir = archive_dir
        self.run_id = run_id
        self.workers = ingest_workers()
        self.min_files = pool_min_files()
        self.pool_started = False
        self._claimed: set[str] = set()  # batch ids met in this run's scan (the first file of a content wins)
        self._held: list[_Item] = []  # before the pool starts
        self._new_files = 0
        self._new_bytes = 0
        self._chunks: deque[_Chunk] = deque()
        self._current = _Chunk()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def __enter__(self) -> OrderedLanding:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)

    def unread(self, folder: str, source_file: str, problem: _Unread) -> None:
        """An entry quarantined without being read (a link, a special file, one over the size limit)."""
        if self.workers == 0:  # no pool: written at once, exactly as the serial ingest does
            self._write(_Item("unread", folder, source_file, "", problem=problem), None)
            return
        sha256 = hashlib.sha256(problem.identity.encode("utf-8", "surrogateescape")).hexdigest()
        batch_id = batch_id_for(folder, sha256)
        self._put(
            _Item("skipped" if self._seen(batch_id) else "unread", folder, source_file, batch_id, problem=problem)
        )

    def landed(
        self,
        folder: str,
        channel: Channel | None,
        data: bytes,
        *,
        source_file: str,
        source_uri: str,
        fetched_at: datetime,
    ) -> None:
        """A landed file's bytes: skipped when its content is landed, else archived, read and written."""
        if self.workers == 0:
            self._write(_Item("new", folder, source_file, "", channel, None, source_uri, fetched_at, data), None)
            return
        sha256 = hashlib.sha256(data).hexdigest()
        batch_id = batch_id_for(folder, sha256)
        if self._seen(batch_id):
            self._put(_Item("skipped", folder, source_file, batch_id))
            return
        item = _Item("new", folder, source_file, batch_id, channel, None, source_uri, fetched_at, data, sha256)
        self._new_files += 1
        self._new_bytes += len(data)
        self._put(item)

    def finish(self) -> None:
        """Write everything still held or in the pool, in order."""
        if not self.pool_started:
            for item in self._held:
                self._write(item, None)
            self._held.clear()
            return
        self._close_chunk()
        while self._chunks:
            self._write_chunk(self._chunks.popleft())

    def close(self, *, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None

    def _seen(self, batch_id: str) -> bool:
        if batch_id in self.known or batch_id in self._claimed:
            return True
        self._claimed.add(batch_id)
        return False

    def _put(self, item: _Item) -> None:
        if not self.pool_started:
            self._held.append(item)
            if self._new_files >= self.min_files or self._new_bytes >= POOL_MIN_BYTES:
                self._start_pool()
            return
        self._add_to_chunk(item)

    def _start_pool(self) -> None:
        started = time.perf_counter()
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=_context(),
            initializer=_start_worker,
            initargs=(self.channels, str(self.archive_dir), os.getpid()),
        )
        self.pool_started = True
        log.debug("ingest pool of %d workers created in %.3f s", self.workers, time.perf_counter() - started)
        held, self._held = self._held, []
        for item in held:
            self._add_to_chunk(item)

    def _add_to_chunk(self, item: _Item) -> None:
        chunk = self._current
        chunk.items.append(item)
        if item.pooled:
            chunk.jobs += 1
            chunk.size += len(item.data)
        if chunk.jobs >= CHUNK_FILES or chunk.size >= CHUNK_BYTES or len(chunk.items) >= 16 * CHUNK_FILES:
            self._close_chunk()

    def _close_chunk(self) -> None:
        chunk, self._current = self._current, _Chunk()
        if not chunk.items:
            return
        if chunk.jobs and not self._broken:
            jobs = [(i.folder, i.source_file, i.sha256, i.data) for i in chunk.items if i.pooled]
            try:
                chunk.future = self._pool.submit(prepare_files, jobs)
            except BrokenProcessPool:
                self._pool_broke()
        self._chunks.append(chunk)
        # Write what is ready, and wait for the oldest when too much is in flight.
        in_flight_limit = CHUNKS_IN_FLIGHT_PER_WORKER * max(self.workers, 1)
        while self._chunks and (
            len(self._chunks) > in_flight_limit or self._chunks[0].future is None or self._chunks[0].future.done()
        ):
            self._write_chunk(self._chunks.popleft())

    def _write_chunk(self, chunk: _Chunk) -> None:
        prepared: list[Prepared] | None = None
        if chunk.future is not None:
            try:
                prepared = chunk.future.result()
            except BrokenProcessPool:
                self._pool_broke()
        results = iter(prepared or ())
        for item in chunk.items:
            self._write(item, next(results) if prepared is not None and item.pooled else None)

    def _pool_broke(self) -> None:
        if not self._broken:
            log.warning("an ingest worker process died; the rest of this run is read in this process")
        self._broken = True

    def _write(self, item: _Item, prepared: Prepared | None) -> None:
        """Write one entry as the serial path does (``land_batch``), or from a worker's result."""
        if item.kind == "skipped":
            outcome = BatchOutcome(item.batch_id, "skipped")
        elif item.kind == "unread":
            outcome = _quarantine_unread(
                self.con, item.folder, item.source_file, item.problem, run_id=self.run_id, known=self.known
            )
        elif prepared is None:
            outcome = land_batch(
                self.con,
                item.folder,
                item.channel,
                item.data,
                source_file=item.source_file,
                source_uri=item.source_uri,
                archive_dir=self.archive_dir,
                run_id=self.run_id,
                fetched_at=item.fetched_at,
                group=self.group,
                known=self.known,
            )
        else:
            outcome = self._write_prepared(item, prepared)
        item.data = b""
        self.summary.add(item.folder, item.source_file, outcome)

    def _write_prepared(self, item: _Item, prepared: Prepared) -> BatchOutcome:
        """``land_batch`` after its archive and reading, which a worker did."""
        self.group.archived_unsynced = True
        crash_point("after_archive")
        self.known.add(item.batch_id)
        if prepared.problem is not None:
            reason, detail = prepared.problem
            quarantine_read_file(
                self.con,
                item.batch_id,
                item.folder,
                item.source_file,
                item.sha256,
                prepared.problem,
                run_id=self.run_id,
                archive_path=prepared.archive_path,
            )
            return BatchOutcome(item.batch_id, "quarantined", reason=reason, detail=detail)
        rows = prepared.rows
        ledger = ledger_row(
            item.batch_id,
            item.folder,
            item.source_file,
            item.sha256,
            len(item.data),
            ReadResult(),
            run_id=self.run_id,
            source_uri=item.source_uri,
            archive_path=Path(prepared.archive_path),
            fetched_at=item.fetched_at,
        )
        ledger.update(record_count=len(rows.payloads), rejected_count=len(rows.errors))
        self.group.add_rows(ledger, rows)
        return BatchOutcome(
            item.batch_id, "loaded", records=len(rows.payloads), rejected=len(rows.errors), filtered=prepared.filtered
        )


def _context() -> multiprocessing.context.BaseContext:
    """A fork server where there is one, else spawn: never a fork of this process, which holds the
    warehouse connection. The fork server imports the readers once for all workers, and its workers
    do not run the caller's main module again (``warehouse.ingest_forkserver``); under spawn a script
    that starts an ingest must guard its top level with ``if __name__ == "__main__":``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["warehouse.ingest_forkserver"])
        return context
    return multiprocessing.get_context("spawn")
