"""What an operator asks of the channels: how each is extracted, where it stands, and does it work.

``channel_statuses`` is the table of ``otklik channels list``: every channel with its extraction
(pull, webhook, imap, sql, file), schedule group, last successful extraction and committed cursor
(from the warehouse, if there is one), and whether its credentials and URL resolve. Nothing secret
is read out: a credential is reported as where it lives and whether it is there.

``check_channel`` is ``otklik channels check NAME``: it resolves the credentials, validates the
provider's options and asks the source for the first page after the committed cursor, then stops.
Nothing lands: the page is read by the channel's reader in memory and counted.
"""

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import httpx

from flows.extract.http_fetch import PullError
from flows.extract.http_pull import PullRun
from flows.extract.providers import options_of, puller_for
from flows.extract.secrets import MissingSecretError, resolve_secret
from transforms.channels import Channel
from transforms.channels.registry import PULLED_KINDS
from transforms.readers import read_file
from transforms.readers.base import UnreadableFile
from warehouse.ingest import BatchOutcome

__all__ = ["ChannelStatus", "CheckResult", "channel_statuses", "check_channel", "extraction_facts"]


@dataclass(frozen=True)
class ChannelStatus:
    channel_id: str
    display_name: str
    enabled: bool
    extraction: str  # pull | webhook | imap | sql | file
    provider: str | None
    schedule_group: str
    endpoint: str | None  # webhook: the receiver's path; pulled: the variable holding the URL
    url_set: bool | None  # pulled: is the URL variable set (None: not applicable)
    credentials: str | None  # where the secret lives (names only), None: the channel needs none
    credentials_resolve: bool | None  # None: the channel needs none
    last_extracted_at: str | None  # the newest landed batch (fetched_at, or loaded_at for files)
    cursor: str | None
    why_file: str | None  # file: why there is no interface

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def extraction_facts(
    con: duckdb.DuckDBPyConnection | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """({channel: last successful extraction ISO}, {channel: committed cursor}) from the warehouse."""
    if con is None:
        return {}, {}
    last = con.execute(
        "select channel_id, max(coalesce(fetched_at, loaded_at)) from raw.batches where status = 'loaded'"
        " group by channel_id"
    ).fetchall()
    cursors = con.execute("select channel_id, cursor from raw.channel_cursors").fetchall()
    return {c: t.isoformat() for c, t in last if t is not None}, dict(cursors)


def channel_statuses(
    channels: Iterable[Channel],
    con: duckdb.DuckDBPyConnection | None,
    *,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], str | None] | None = None,
) -> list[ChannelStatus]:
    """One status per channel, in registry order (see the module docstring)."""
    environ = os.environ if environ is None else environ
    last, cursors = extraction_facts(con)
    statuses = []
    for channel in channels:
        extraction = channel.how_extracted
        places = _secret_places(channel)
        resolves = None
        if places:
            kwargs = {"load_block": load_block} if load_block else {}
            try:
                resolves = resolve_secret(channel, environ, **kwargs) is not None
            except MissingSecretError:
                resolves = False
        pulled = extraction.kind in PULLED_KINDS
        endpoint = f"/hooks/{channel.id}" if extraction.kind == "webhook" else extraction.base_url_env
        statuses.append(
            ChannelStatus(
                channel_id=channel.id,
                display_name=channel.display_name,
                enabled=channel.enabled,
                extraction=extraction.kind,
                provider=extraction.provider if extraction.kind in ("pull", "webhook") else None,
                schedule_group=channel.schedule_group,
                endpoint=endpoint,
                url_set=bool(environ.get(extraction.base_url_env or "")) if pulled else None,
                credentials=places,
                credentials_resolve=resolves,
                last_extracted_at=last.get(channel.id),
                cursor=cursors.get(channel.id),
                why_file=extraction.why,
            )
        )
    return statuses


def _secret_places(channel: Channel) -> str | None:
    places = [f"env {channel.credentials_env}"] if channel.credentials_env else []
    places += [f"block {channel.credentials_block}"] if channel.credentials_block else []
    return " or ".join(places) or None


@dataclass(frozen=True)
class CheckResult:
    channel_id: str
    ok: bool
    message: str
    records: int | None = None  # records on the first page (pulled channels)
    bytes: int | None = None


class _FirstPage(Exception):
    """Stops a check's pull at its first page; carries what the page held."""

    def __init__(self, data: bytes, source_file: str) -> None:
        super().__init__(source_file)
        self.data, self.source_file = data, source_file


def check_channel(
    channel: Channel,
    *,
    cursor: str | None,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], str | None] | None = None,
    client: httpx.Client | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> CheckResult:
    """Try ``channel``'s credentials and its first page after ``cursor``, landing nothing."""
    environ = os.environ if environ is None else environ
    extraction = channel.how_extracted
    try:
        kwargs = {"load_block": load_block} if load_block else {}
        secret = resolve_secret(channel, environ, **kwargs)
    except MissingSecretError as exc:
        return CheckResult(channel.id, False, str(exc))
    if extraction.kind == "file":
        return CheckResult(channel.id, True, f"files are dropped into its landing folder ({extraction.why})")
    if extraction.kind == "webhook":
        if channel.credentials_env or channel.credentials_block:
            return CheckResult(channel.id, True, f"the receiver verifies deliveries at /hooks/{channel.id}")
        return CheckResult(channel.id, False, f"{channel.id}: a webhook channel needs a secret to verify deliveries")
    url = environ.get(extraction.base_url_env or "")
    if not url:
        return CheckResult(
            channel.id, False, f"{channel.id}: environment variable {extraction.base_url_env} is not set"
        )
    try:
        puller = puller_for(channel)
        options_of(channel)
    except ValueError as exc:
        return CheckResult(channel.id, False, str(exc))

    def land(data: bytes, *, source_uri: str, source_file: str, **_: Any) -> BatchOutcome:
        raise _FirstPage(data, source_file)

    try:
        summary = puller.pull(channel, PullRun(url, cursor, land, secret, client, lambda seconds: None, log))
    except _FirstPage as page:
        return _first_page_result(channel, page)
    except PullError as exc:
        return CheckResult(channel.id, False, str(exc))
    return CheckResult(channel.id, True, f"answered; nothing new after cursor {cursor!r} ({summary.stopped})", 0, 0)


def _first_page_result(channel: Channel, page: _FirstPage) -> CheckResult:
    try:
        result = read_file(page.data, channel)
    except UnreadableFile as exc:
        return CheckResult(
            channel.id, False, f"the first page is not readable as {channel.format}: {exc}", None, len(page.data)
        )
    records = len(result.records)
    return CheckResult(
        channel.id,
        True,
        f"answered: the first page holds {records} record(s), {len(page.data):,} bytes (not landed)",
        records,
        len(page.data),
    )
