"""IO adapters that fetch channel data, keyed by how it arrives (STYLE B1): HTTP pages for now.

``pull_channel`` wires the committed cursor, the page loop (``http_pull``) and ``land_batch``, so
each page lands with its cursor in one transaction. ``pullable_channels`` and ``for_each_channel``
are the flow's plain helpers: which channels to pull now, and a loop in which one failing channel
does not stop the others.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx

from flows.extract.http_pull import PullError, PullRun, PullSummary
from flows.extract.providers import options_of, puller_for
from flows.extract.secrets import MissingSecretError, resolve_secret
from transforms.channels import Channel
from transforms.channels.registry import PULLED_KINDS
from warehouse.ingest import BatchOutcome, channel_cursor, land_batch

__all__ = [
    "PULLED_KINDS",
    "ChannelsFailed",
    "MissingSecretError",
    "PullError",
    "PullSummary",
    "for_each_channel",
    "pull_channel",
    "pullable_channels",
    "resolve_secret",
]


def pull_channel(
    con: duckdb.DuckDBPyConnection,
    channel: Channel,
    *,
    archive_dir: Path,
    run_id: str | None,
    secret: str | None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    base_url: str | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> PullSummary:
    """Pull what is new after ``channel``'s committed cursor into raw; ``base_url`` defaults to the env.

    The puller is the channel's extraction provider (flows/extract/providers); every one lands each
    page with its cursor in one transaction.
    """
    env = channel.how_extracted.base_url_env
    url = base_url or (os.environ.get(env) if env else None)
    if not url:
        raise PullError(f"{channel.id}: environment variable {env} (extraction.base_url_env) is not set")
    try:
        puller = puller_for(channel)
        options_of(channel)
    except ValueError as exc:
        raise PullError(str(exc)) from None

    def land(
        data: bytes, *, source_uri: str, source_file: str, cursor_before: str | None, cursor_after: str | None
    ) -> BatchOutcome:
        return land_batch(
            con,
            channel.id,
            channel,
            data,
            source_file=source_file,
            source_uri=source_uri,
            archive_dir=archive_dir,
            run_id=run_id,
            fetched_at=datetime.now(UTC),
            cursor_before=cursor_before,
            cursor_after=cursor_after,
        )

    cursor = channel_cursor(con, channel.id) if channel.pull is None or channel.pull.resume else None
    return puller.pull(channel, PullRun(url, cursor, land, secret, client, sleep, log))


def pullable_channels(
    channels: Iterable[Channel], environ: Mapping[str, str] | None = None
) -> tuple[list[Channel], dict[str, str]]:
    """(channels to pull now, {channel id: why skipped}) among the enabled pulled channels.

    Pulled: extraction kind pull, imap or sql. A channel whose base URL variable is unset is
    skipped, not failed: the demo and local checkouts land that channel's files instead.
    """
    environ = os.environ if environ is None else environ
    pull, skipped = [], {}
    for channel in channels:
        extraction = channel.how_extracted
        if extraction.kind not in PULLED_KINDS or not channel.enabled:
            continue
        if environ.get(extraction.base_url_env or ""):
            pull.append(channel)
        else:
            skipped[channel.id] = f"{extraction.base_url_env} is not set"
    return pull, skipped


class ChannelsFailed(RuntimeError):
    """Some channels failed; the others were done. The message names every failed channel."""


@dataclass
class ChannelResults:
    done: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # channel id → the error

    def raise_if_failed(self, what: str = "pull") -> None:
        if self.failed:
            details = "; ".join(f"{cid}: {error}" for cid, error in self.failed.items())
            raise ChannelsFailed(f"{what} failed for channels {sorted(self.failed)} — {details}")


def for_each_channel(channel_ids: Iterable[str], work: Callable[[str], Any]) -> ChannelResults:
    """Run ``work`` per channel, one after another; a failure is recorded and the loop goes on."""
    results = ChannelResults()
    for channel_id in channel_ids:
        try:
            results.done[channel_id] = work(channel_id)
        except Exception as exc:  # isolation is the point: any error of one channel, never the others
            results.failed[channel_id] = f"{type(exc).__name__}: {exc}"
    return results
