"""Land files from the landing folder into raw.channel_payloads, once per file content.

Layout: ``<landing>/<channel_id>/<file>``. Each file is a batch identified by its channel and
the SHA-256 of its bytes, so re-running on the same landing folder changes nothing, and a file
copied under a new name is not loaded twice. Each file is loaded in its own transaction (its
payloads, its ledger row and its quarantined records together), so a crash at any point leaves
only whole batches behind and the next run picks up the rest.

Files that cannot be read at all go to quarantine.files with a reason; single bad records of a
readable file go to quarantine.records. Nothing that lands is dropped silently.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import duckdb
import polars as pl

from transforms.channels import Channel
from transforms.readers import ReadResult, UnreadableFile, read_file

_EXCERPT_CHARS = 500


@dataclass
class IngestSummary:
    """What one ingest run did, per channel: files loaded, skipped as already loaded, quarantined."""

    loaded_files: dict[str, int] = field(default_factory=dict)
    loaded_records: dict[str, int] = field(default_factory=dict)
    rejected_records: dict[str, int] = field(default_factory=dict)
    skipped_files: dict[str, int] = field(default_factory=dict)
    quarantined_files: list[tuple[str, str, str]] = field(default_factory=list)  # (file, reason, detail)
    disabled_channels: list[str] = field(default_factory=list)

    def _bump(self, counter: dict[str, int], channel_id: str, n: int = 1) -> None:
        counter[channel_id] = counter.get(channel_id, 0) + n

    @property
    def total_loaded_records(self) -> int:
        return sum(self.loaded_records.values())


def batch_id_for(channel_id: str, sha256: str) -> str:
    return f"{channel_id}:{sha256[:20]}"


def _known_batches(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select batch_id from raw.batches union all select batch_id from quarantine.files")
    return {r[0] for r in rows.fetchall()}


def _landed_files(landing_dir: Path) -> Iterable[tuple[str, Path]]:
    """(folder name, file) for every regular file one level below a channel folder, sorted."""
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            yield folder.name, path


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    channels: tuple[Channel, ...],
    *,
    run_id: str | None = None,
    only: set[str] | None = None,
) -> IngestSummary:
    """Load every new file under ``landing_dir``; return what was done.

    ``only`` restricts the run to these channel folders (a schedule group); folders of other
    registered channels are left for their own group's run. Unregistered folders are always
    quarantined, whatever the group, so that a typo in a folder name is seen at once.
    """
    summary = IngestSummary()
    if not landing_dir.is_dir():
        raise FileNotFoundError(f"landing folder {landing_dir} does not exist: run `otklik generate` first")
    by_id = {c.id: c for c in channels}
    known = _known_batches(con)
    for folder, path in _landed_files(landing_dir):
        channel = by_id.get(folder)
        if channel is not None and only is not None and folder not in only:
            continue
        if channel is not None and not channel.enabled:
            if folder not in summary.disabled_channels:
                summary.disabled_channels.append(folder)
            continue
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        batch_id = batch_id_for(folder, sha256)
        relative = path.relative_to(landing_dir).as_posix()
        if batch_id in known:
            summary._bump(summary.skipped_files, folder)
            continue
        known.add(batch_id)
        problem = _file_problem(channel, folder, path, data)
        if problem is None:
            try:
                result = read_file(data, channel)
            except UnreadableFile as exc:
                problem = (exc.reason, exc.detail)
        if problem is not None:
            _quarantine_file(con, batch_id, folder, relative, sha256, problem, run_id)
            summary.quarantined_files.append((relative, *problem))
            continue
        _load_batch(con, channel, batch_id, relative, sha256, len(data), result, run_id)
        summary._bump(summary.loaded_files, folder)
        summary._bump(summary.loaded_records, folder, len(result.records))
        summary._bump(summary.rejected_records, folder, len(result.errors))
    return summary


def _file_problem(channel: Channel | None, folder: str, path: Path, data: bytes) -> tuple[str, str] | None:
    if channel is None:
        return ("unknown_channel", f"folder {folder!r} is not a channel in channels.yaml")
    if not fnmatch(path.name, channel.reader.file_glob):
        return ("unexpected_file", f"{path.name} does not match {channel.reader.file_glob!r} for {channel.id}")
    if not data.strip():
        return ("empty_file", f"{path.name} is empty")
    return None


def _quarantine_file(
    con: duckdb.DuckDBPyConnection,
    batch_id: str,
    channel_id: str,
    source_file: str,
    sha256: str,
    problem: tuple[str, str],
    run_id: str | None,
) -> None:
    con.execute(
        "insert into quarantine.files (batch_id, channel_id, source_file, content_sha256, reason, detail, run_id)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        [batch_id, channel_id, source_file, sha256, problem[0], problem[1], run_id],
    )


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    channel: Channel,
    batch_id: str,
    source_file: str,
    sha256: str,
    size_bytes: int,
    result: ReadResult,
    run_id: str | None,
) -> None:
    indexed = result.indexed_records()  # positions in the file, shared with the errors' numbering
    payloads = pl.DataFrame(
        {
            "payload": [json.dumps(r, ensure_ascii=False, default=str) for _, r in indexed],
            "_record_index": [i for i, _ in indexed],
        },
        schema={"payload": pl.String, "_record_index": pl.Int64},
    )
    errors = pl.DataFrame(
        {
            "record_index": [e.record_index for e in result.errors],
            "raw_excerpt": [e.raw_excerpt[:_EXCERPT_CHARS] for e in result.errors],
            "reason": [e.reason for e in result.errors],
            "detail": [e.detail for e in result.errors],
        },
        schema={"record_index": pl.Int64, "raw_excerpt": pl.String, "reason": pl.String, "detail": pl.String},
    )
    con.execute("begin transaction")
    try:
        con.register("_payloads", payloads)
        con.execute(
            "insert into raw.channel_payloads (channel_id, payload, _batch_id, _source_file, _record_index)"
            " select ?, payload::json, ?, ?, _record_index from _payloads",
            [channel.id, batch_id, source_file],
        )
        con.register("_errors", errors)
        con.execute(
            "insert into quarantine.records"
            " (batch_id, channel_id, source_file, record_index, raw_excerpt, reason, detail, run_id)"
            " select ?, ?, ?, record_index, raw_excerpt, reason, detail, ? from _errors",
            [batch_id, channel.id, source_file, run_id],
        )
        con.execute(
            "insert into raw.batches (batch_id, channel_id, source_file, content_sha256, size_bytes,"
            " record_count, rejected_count, status, run_id) values (?, ?, ?, ?, ?, ?, ?, 'loaded', ?)",
            [batch_id, channel.id, source_file, sha256, size_bytes, len(result.records), len(result.errors), run_id],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_payloads")
        con.unregister("_errors")
