"""Pull one channel's new pages from its HTTP API; each page lands with the cursor after it.

The loop starts at the cursor committed with the last landed page and hands every page's bytes to
``land``, which writes the records and the new cursor in one transaction (``land_batch``). A crash
between two pages therefore loses nothing and repeats nothing: the next pull resumes after the
last committed page. What the cursor means per ``pull.pagination``:

- ``page``: the last *full* page number. The next pull asks for cursor + 1 (first: ``first_page``).
- ``offset``: the number of records consumed; the next pull asks for that offset (first: 0).
- ``cursor``: the API's own token read at ``next_cursor_path``; the first pull sends none.

A pull stops at an empty page (no records at ``records_path``), a page shorter than
``page_size`` (page, offset) or a response without a next cursor (cursor). **An empty page is
not landed** (there is nothing to land, and an empty batch would only add a ledger row per run).
**The cursor never moves past data that may still grow**: a short last page (page numbers) and a
last page without a next cursor are landed, but the cursor stays before them, so the next pull
asks for them again. Unchanged, they are skipped by their content hash; grown, they land again
and staging keeps the first copy of each repeated item (offsets and API cursors are exact).

Guards: a page identical to the previous one, or an API cursor that does not move (or comes
back), is a ``PullError``, not an endless loop; the pages before it stay landed with their cursor.
So is a page that is not JSON or has no list at ``records_path``: it goes to quarantine with its
bytes, and the cursor stays before it. ``max_pages`` ends a pull normally, with a warning (some
APIs list a fixed number of pages; a backlog drains over several runs from the committed cursor).

Secrets (the resolved ``secret``, the values of ``pull.headers_from_env``) stay out of everything
the pull leaves behind (flows/extract/redact.py): its log lines and the HTTP client's (``httpx``
logs every request URL) go through the redactor while it runs; an exception leaving it is redacted
in place, with everything chained to it, so that neither the CLI nor Prefect (a state message, a
log record, an event) ever holds one; ledger URIs are redacted; a page that echoes a secret lands
with it replaced by ``***`` (its archived copy is what was landed).
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from flows.extract.http_fetch import (
    PullError,
    Request,
    auth_headers,
    env_header_secrets,
    env_headers,
    fetch,
    public_url,
    redactor,
    secret_name,
)
from flows.extract.redact import Redactor, redacting_logs, scrub_exception
from transforms.channels import Channel, PullSpec
from transforms.readers.base import UnreadableFile
from transforms.readers.encoding import decode_text
from transforms.readers.json_pages import loads, records_at
from warehouse.ingest import BatchOutcome

__all__ = ["Land", "PullError", "PullRun", "PullSummary", "pull", "pull_pages"]


@dataclass
class PullSummary:
    """What one pull of one channel did."""

    channel_id: str
    cursor_start: str | None  # the committed cursor the pull began at
    last_cursor: str | None  # the committed cursor it left
    pages_fetched: int = 0  # every answered request, the final empty page included
    pages_landed: int = 0
    pages_skipped: int = 0  # already landed (same bytes), e.g. a short last page asked for again
    records: int = 0
    rejected: int = 0  # records of landed pages that went to quarantine.records
    stopped: str = ""  # why the pull ended


class Land(Protocol):
    def __call__(
        self,
        data: bytes,
        *,
        source_uri: str,
        source_file: str,
        cursor_before: str | None,
        cursor_after: str | None,
    ) -> BatchOutcome: ...


@dataclass(frozen=True)
class PullRun:
    """What one pull of one channel is given: the provider contract's second argument.

    Every puller (flows/extract/providers) is ``pull(channel, run) -> PullSummary``.
    """

    base_url: str  # the API root, mailbox URL or database DSN (from extraction.base_url_env)
    cursor: str | None  # the channel's committed cursor; None at first
    land: Land  # lands one page with its cursor in one transaction (land_batch)
    secret: str | None  # the resolved secret; it goes into a header, a login or a signature only
    client: httpx.Client | None = None  # an HTTP client to reuse (tests pass one with a transport)
    sleep: Callable[[float], None] = time.sleep  # how retries wait (tests pass a recorder)
    log: logging.Logger | logging.LoggerAdapter | None = None

    def parts(
        self,
    ) -> tuple[
        str,
        str | None,
        Land,
        str | None,
        httpx.Client | None,
        Callable[[float], None],
        logging.Logger | logging.LoggerAdapter | None,
    ]:
        """(base_url, cursor, land, secret, client, sleep, log), for a puller's first line."""
        return self.base_url, self.cursor, self.land, self.secret, self.client, self.sleep, self.log


@dataclass(frozen=True)
class _Step:
    """The paging value sent for this page, the cursor to commit with it, and the next value."""

    cursor_after: str | None
    next_value: int | str | None  # None: this was the last page
    stopped: str = ""


def pull_pages(
    channel: Channel,
    *,
    base_url: str,
    cursor: str | None,
    land: Land,
    secret: str | None,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> PullSummary:
    """Fetch and land the pages after ``cursor``; raise PullError (with ``.summary``) when stuck.

    Args:
        base_url: the API root (from the environment variable ``pull.base_url_env``).
        cursor: the channel's committed cursor (``warehouse.ingest.channel_cursor``), None at first.
        land: lands one page with its cursor in one transaction (``land_batch``).
        secret: the resolved secret for ``pull.auth``; it goes into a header only, never a message.
        client: an httpx client to reuse; by default one without redirects is opened and closed.
        sleep: how retries wait (tests pass a recorder).
    """
    spec = _spec(channel)
    summary = PullSummary(channel.id, cursor_start=cursor, last_cursor=cursor)
    log = log or logging.getLogger(__name__)
    redact = redactor(secret, *(env_header_secrets(channel.pull) if channel.pull else ()))
    with redacting_logs(redact, log):
        http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the secret elsewhere
        try:
            _Pager(channel, spec, base_url, land, secret, http, sleep, log, redact).run(summary)
        except PullError as exc:
            exc.summary = summary
            scrub_exception(exc, redact)
            raise
        except BaseException as exc:  # a bug, a crash in land: its text may quote a URL or a page
            scrub_exception(exc, redact)
            raise
        finally:
            if client is None:
                http.close()
        log.info(
            "%s: %d page(s) fetched, %d landed, %d already landed, %d records; cursor %r -> %r (%s)",
            channel.id,
            summary.pages_fetched,
            summary.pages_landed,
            summary.pages_skipped,
            summary.records,
            summary.cursor_start,
            summary.last_cursor,
            summary.stopped,
        )
    return summary


@dataclass
class _Pager:
    channel: Channel
    spec: PullSpec
    base_url: str
    land: Land
    secret: str | None
    http: httpx.Client
    sleep: Callable[[float], None]
    log: logging.Logger | logging.LoggerAdapter
    redact: Redactor

    def run(self, summary: PullSummary) -> None:
        channel, spec, redact = self.channel, self.spec, self.redact
        headers = {
            "Accept": "application/json",
            **env_headers(spec, channel.id),
            **auth_headers(spec, self.secret, channel.id),
        }
        url = self.base_url.rstrip("/") + "/" + spec.path.lstrip("/")
        cursor, value = summary.cursor_start, _first_value(spec, summary.cursor_start, channel.id)
        seen: set[int | str | None] = set()
        previous = b""
        while summary.pages_fetched < spec.max_pages:
            request = _request(spec, url, value, headers)
            response = fetch(
                self.http,
                request,
                channel_id=channel.id,
                spec=spec,
                sleep=self.sleep,
                redact=redact,
                log=self.log,
                secret_name=secret_name(channel),
            )
            summary.pages_fetched += 1
            where = redact(_source_uri(self.http, request))
            source_file = f"{channel.id}/pull-{_label(spec, value)}.json"
            content = self._without_secrets(response.content, where)
            records, document = self._read(response.status_code, content, where, source_file, cursor)
            if records == 0:
                summary.stopped = "empty page"
                return
            step = _advance(spec, value, records, document, cursor)
            seen.add(value)
            self._refuse_loops(content == previous, step, seen, where, cursor)
            outcome = self.land(
                content,
                source_uri=where,
                source_file=source_file,
                cursor_before=cursor,
                cursor_after=step.cursor_after,
            )
            _count(summary, outcome, channel.id, source_file)
            cursor = summary.last_cursor = step.cursor_after if step.cursor_after is not None else cursor
            if step.next_value is None:
                summary.stopped = step.stopped
                return
            value, previous = step.next_value, content
        summary.stopped = f"max_pages={spec.max_pages}"
        self.log.warning(
            "%s: stopped at pull.max_pages=%d with more pages announced; the next pull resumes at cursor %r",
            channel.id,
            spec.max_pages,
            cursor,
        )

    def _refuse_loops(
        self, same_page: bool, step: _Step, seen: set[int | str | None], where: str, cursor: str | None
    ) -> None:
        if same_page:
            raise PullError(
                f"{self.channel.id}: {where} returned the same page as the request before it "
                f"(does the API ignore {self.spec.page_param!r}?); stopped at cursor {cursor!r}"
            )
        if step.next_value is not None and step.next_value in seen:
            raise PullError(
                f"{self.channel.id}: the API cursor at {self.spec.next_cursor_path!r} does not advance "
                f"({step.next_value!r} again after {where}); stopped at cursor {cursor!r}"
            )

    def _without_secrets(self, content: bytes, where: str) -> bytes:
        """The page with any secret it echoes replaced by ``***``: what lands, is archived and is read."""
        landed = self.redact.redact_bytes(content)
        if landed != content:
            self.log.warning("%s: %s echoed the credentials; they land as ***", self.channel.id, where)
        return landed

    def _read(self, status: int, content: bytes, where: str, source_file: str, cursor: str | None) -> tuple[int, Any]:
        """(number of records, document); a page that is not one is quarantined and stops the pull."""
        if status == 204:  # No Content: nothing (more) to give
            return 0, None
        try:
            document = loads(decode_text(content, self.channel.reader.encoding))
            return len(records_at(document, self.channel.reader.records_path)), document
        except (UnreadableFile, ValueError) as exc:  # ValueError: broken JSON, NaN
            self.land(content, source_uri=where, source_file=source_file, cursor_before=cursor, cursor_after=None)
            raise PullError(
                f"{self.channel.id}: {where} is not a page of records ({exc}); quarantined as {source_file}, "
                f"the cursor stays at {cursor!r}"
            ) from None


def _spec(channel: Channel) -> PullSpec:
    if channel.pull is None:
        raise PullError(f"{channel.id}: has no pull spec in channels.yaml")
    if channel.pull.pagination == "cursor" and not channel.pull.next_cursor_path:
        raise PullError(f"{channel.id}: cursor pagination needs pull.next_cursor_path")
    return channel.pull


def _first_value(spec: PullSpec, cursor: str | None, channel_id: str) -> int | str | None:
    """What the first request sends in ``page_param`` (None: nothing)."""
    if spec.pagination == "cursor":
        return cursor
    if cursor is None:
        return spec.first_page if spec.pagination == "page" else 0
    try:
        number = int(cursor)
    except ValueError:
        raise PullError(
            f"{channel_id}: committed cursor {cursor!r} is not a {spec.pagination} number (did pull.pagination change?)"
        ) from None
    return number + 1 if spec.pagination == "page" else number


def _advance(spec: PullSpec, value: Any, records: int, document: Any, cursor: str | None) -> _Step:
    if spec.pagination == "page":
        if records >= spec.page_size:
            return _Step(str(value), value + 1)
        return _Step(cursor, None, "short page")  # it may still fill up: ask for it again next time
    if spec.pagination == "offset":
        after = value + records
        return _Step(str(after), after if records >= spec.page_size else None, "short page")
    token = _dig(document, spec.next_cursor_path or "")
    if token is None or token == "":
        return _Step(cursor, None, "no next cursor")  # the last page may still grow: ask for it again
    if isinstance(token, dict | list):
        raise PullError(f"pull.next_cursor_path {spec.next_cursor_path!r} holds a {type(token).__name__}, not a cursor")
    return _Step(str(token), str(token))


def _request(spec: PullSpec, url: str, value: Any, headers: dict[str, str]) -> Request:
    fields: dict[str, Any] = dict(spec.params)
    if value is not None:
        fields[spec.page_param] = value
    if spec.size_param:
        fields[spec.size_param] = spec.page_size
    if spec.method == "POST":
        return Request("POST", url, json=fields, headers=headers)
    return Request("GET", url, params={k: str(v) for k, v in fields.items()}, headers=headers)


def _source_uri(http: httpx.Client, request: Request) -> str:
    """The full URL without credentials; a POST body's fields follow as a fragment (never sent)."""
    built = public_url(http.build_request("GET", request.url, params=request.params).url)
    return f"{built}#{urlencode(request.json)}" if request.json else built


def _label(spec: PullSpec, value: Any) -> str:
    if value is None:
        return f"{spec.pagination}-start"
    text = re.sub(r"[^A-Za-z0-9._=-]", "_", str(value))
    if len(text) > 64:  # API cursors can be long; the name stays stable and readable
        text = text[:40] + "-" + hashlib.sha256(str(value).encode()).hexdigest()[:12]
    return f"{spec.pagination}-{text}"


def _dig(document: Any, path: str) -> Any:
    node = document
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _count(summary: PullSummary, outcome: BatchOutcome, channel_id: str, source_file: str) -> None:
    if outcome.status == "quarantined":
        raise PullError(f"{channel_id}: {source_file} was quarantined ({outcome.reason}: {outcome.detail})")
    if outcome.status == "skipped":
        summary.pages_skipped += 1
        return
    summary.pages_landed += 1
    summary.records += outcome.records
    summary.rejected += outcome.rejected


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """The provider contract of flows/extract/providers for ``rest_pages`` (a channel's ``pull`` spec)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    return pull_pages(
        channel, base_url=base_url, cursor=cursor, land=land, secret=secret, client=client, sleep=sleep, log=log
    )
