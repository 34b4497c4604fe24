"""The quarantine, for the data engineer: what is in it, and retrying files after a fix.

Whole files that could not be read stay in quarantine.files with their archived bytes. After the
cause is fixed (a channel added to channels.yaml, a reader fixed, a glob widened), ``retry_files``
reads each unresolved file again from the archive with the current code and configuration: a file
that now reads is landed as a normal batch and its quarantine row is marked resolved; one that
still fails stays, with its new reason. Records rejected by normalization need no retry: they are
re-normalized by every build, so a fixed normalizer takes them in on the next `otklik build`.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.channels import Channel
from warehouse.ingest import diagnose, ledger_row, write_batch


@dataclass(frozen=True)
class RetryOutcome:
    source_file: str
    previous_reason: str
    status: str  # loaded | still_failing | archive_missing
    detail: str


def quarantine_overview(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int]]:
    """(where, channel, reason, count) for every unresolved quarantine entry, largest first."""
    return con.execute(
        """
        select 'file' as stage, channel_id, reason, count(*) as n
        from quarantine.files where resolved_at is null group by all
        union all
        select 'record', channel_id, reason, count(*) from quarantine.records group by all
        union all
        select 'staging', channel_id, reason, count(*) from quarantine.staging_rejects group by all
        order by n desc, stage, channel_id, reason
        """
    ).fetchall()


def quarantined_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str, str]]:
    """(batch_id, channel_id, source_file, reason, detail) of unresolved quarantined files."""
    return con.execute(
        "select batch_id, channel_id, source_file, reason, detail from quarantine.files"
        " where resolved_at is null order by quarantined_at, source_file"
    ).fetchall()


def retry_files(
    con: duckdb.DuckDBPyConnection, channels: tuple[Channel, ...], *, archive_dir: Path, run_id: str | None
) -> list[RetryOutcome]:
    """Read every unresolved quarantined file again; land the ones that now read.

    Crash-safe in any order: the batch is written first (one transaction, as any batch), and only
    then is its quarantine row marked resolved; a row whose batch is already in raw.batches is
    simply marked resolved by the next retry.
    """
    by_id = {c.id: c for c in channels}
    rows = con.execute(
        "select batch_id, channel_id, source_file, content_sha256, reason, archive_path from quarantine.files"
        " where resolved_at is null order by quarantined_at, source_file"
    ).fetchall()
    outcomes = []
    for batch_id, channel_id, source_file, sha256, reason, archive_path in rows:
        if con.execute("select count(*) from raw.batches where batch_id = ?", [batch_id]).fetchone()[0]:
            _resolve(con, batch_id)
            outcomes.append(RetryOutcome(source_file, reason, "loaded", "already landed by an earlier retry"))
            continue
        archived = Path(archive_path) if archive_path else archive_dir / sha256[:2] / sha256
        if not archived.is_file() or hashlib.sha256(archived.read_bytes()).hexdigest() != sha256:
            outcomes.append(RetryOutcome(source_file, reason, "archive_missing", f"no intact copy at {archived}"))
            continue
        data = archived.read_bytes()
        problem, result = diagnose(by_id.get(channel_id), channel_id, source_file, data)
        if problem is not None:
            con.execute(
                "update quarantine.files set reason = ?, detail = ?, run_id = ? where batch_id = ?",
                [problem[0], problem[1], run_id, batch_id],
            )
            outcomes.append(RetryOutcome(source_file, reason, "still_failing", f"{problem[0]}: {problem[1]}"))
            continue
        ledger = ledger_row(
            batch_id,
            channel_id,
            source_file,
            sha256,
            len(data),
            result,
            run_id=run_id,
            source_uri=archived.resolve().as_uri(),
            archive_path=archived,
        )
        write_batch(con, ledger, result)
        _resolve(con, batch_id)
        outcomes.append(RetryOutcome(source_file, reason, "loaded", f"{len(result.records)} records"))
    return outcomes


def _resolve(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    con.execute(
        "update quarantine.files set resolved_at = current_timestamp, resolved_batch_id = ? where batch_id = ?",
        [batch_id, batch_id],
    )
