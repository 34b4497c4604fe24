"""Pull an Atom (or RSS) review feed: conditional GET, RFC 5005 paging, only the entries not landed yet.

What it follows:

- the feed itself, Atom 1.0 (RFC 4287, https://www.rfc-editor.org/rfc/rfc4287) or RSS 2.0
  (https://www.rssboard.org/rss-specification), parsed by ``transforms.readers.xml_feed`` (DTDs and
  entities refused before anything is read);
- paged feeds, RFC 5005 section 3 (https://www.rfc-editor.org/rfc/rfc5005#section-3): the head
  document (the feed URL) holds the newest entries, ``<link rel="next" href="..."/>`` leads to the
  next (older) page, the last page has no ``next``;
- conditional requests, RFC 9110 section 13 (https://www.rfc-editor.org/rfc/rfc9110#section-13) and
  304 Not Modified (section 15.4.5): the head is asked for with ``If-None-Match`` (the ETag it
  answered last) and ``If-Modified-Since`` (its ``Last-Modified``); 304 means nothing new, and
  nothing is fetched or landed;
- a private feed URL: the review site identifies the company's feed by a key in the query
  (``options.key_param``, e.g. ``?key=...``, the way private Atom feeds such as GitHub's
  ``.private.atom?token=`` work; feed readers cannot send headers). The key is the channel's secret
  (``credentials_env``): sent only to the feed's own origin over https (or to loopback, the tests),
  added to a ``next`` link that lacks it, and redacted from logs, landed pages and errors.

The cursor (JSON) is the newest entry time landed (``updated``, else ``published`` / RSS
``pubDate``) with the ids landed at that instant, plus the head's ETag and Last-Modified once the
newest page has landed. A pull reads the head and its ``next`` pages until a page holds an entry
that is not newer than the cursor (older pages are landed already) or there is no ``next``, then
lands the pages **oldest first**, each as the feed document cut down to its new entries (the exact
bytes of those entries, the feed's header kept, re-declared as UTF-8), with the cursor after it. A
crash between two pages therefore leaves a cursor at the older ones, and the next pull lands the
rest; nothing lands twice. An entry without a readable time is always new (staging de-duplicates
it by id and content). An answer that is not a feed lands (it is quarantined with the reader's
reason) and stops the pull with the cursor unchanged; a ``next`` link that comes back to a page
already read stops it too.
"""

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from transforms.channels import Channel
from transforms.readers.base import UnreadableFile
from transforms.readers.xml_feed import FeedDocument, read_feed

__all__ = ["Options", "pull"]

ACCEPT = "application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.7"
_DECLARATION = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*\?>")


class Options(RetryOptions):
    """``extraction.options`` of an atom_feed channel."""

    path: str = ""  # appended to the base URL; empty: the base URL is the feed
    key_param: str | None = None  # query parameter that carries the secret (a private feed URL)
    max_pages: int = Field(default=50, ge=1)  # RFC 5005 pages followed in one pull


@dataclass(frozen=True)
class Cursor:
    """What has landed: the newest entry time, the ids at that instant, the head's validators."""

    newest: datetime | None = None
    ids: tuple[str, ...] = ()
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def parse(cls, text: str | None, channel_id: str) -> "Cursor":
        if not text:
            return cls()
        try:
            value = json.loads(text)
            newest = value.get("newest")
            return cls(
                datetime.fromisoformat(newest) if newest else None,
                tuple(value.get("ids", ())),
                value.get("etag"),
                value.get("last_modified"),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise PullError(f"{channel_id}: the committed cursor {text!r} is not an atom_feed cursor ({exc})") from None

    def text(self) -> str:
        value: dict[str, Any] = {"newest": self.newest.isoformat() if self.newest else None, "ids": sorted(self.ids)}
        if self.etag is not None:
            value["etag"] = self.etag
        if self.last_modified is not None:
            value["last_modified"] = self.last_modified
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def is_new(self, entry_id: str, at: datetime | None) -> bool:
        if at is None or self.newest is None:
            return True
        return at > self.newest or (at == self.newest and entry_id not in self.ids)

    def after(self, entries: list[tuple[str, datetime | None]]) -> "Cursor":
        """The cursor once ``entries`` have landed too (validators dropped: set for the head only)."""
        newest, ids = self.newest, set(self.ids)
        for entry_id, at in entries:
            if at is None:
                continue
            if newest is None or at > newest:
                newest, ids = at, {entry_id}
            elif at == newest:
                ids.add(entry_id)
        return Cursor(newest, tuple(sorted(ids)))


@dataclass(frozen=True)
class _FeedPage:
    url: str  # without the key
    document: FeedDocument
    new: list[int]  # indexes of the entries to land
    stamps: list[tuple[str, datetime | None]]  # (id, time) of those entries
    etag: str | None = None
    last_modified: str | None = None


class _NotModified(Exception):
    pass


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the feed's entries newer than ``cursor``, oldest page first (see the module docstring)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    if options.key_param and not secret:
        raise PullError(f"{channel.id}: the feed's key ({secret_name(channel)}) is not set")
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the key elsewhere
    reader = _FeedReader(channel, options, base_url, secret, http, sleep, log)
    try:
        return drive(channel, cursor=cursor, land=land, pages=reader.pages, secret=secret, log=log)
    finally:
        if client is None:
            http.close()


@dataclass
class _FeedReader:
    channel: Channel
    options: Options
    base_url: str
    secret: str | None
    http: httpx.Client
    sleep: Callable[[float], None]
    log: logging.Logger | logging.LoggerAdapter

    def pages(self, committed: str | None) -> Iterator[Page]:
        cursor = Cursor.parse(committed, self.channel.id)
        walked = self._walk(cursor)
        landed = cursor
        for number, page in reversed(list(enumerate(walked, start=1))):
            landed = landed.after(page.stamps)
            if number == 1:  # the head: remember its validators for the next conditional request
                landed = Cursor(landed.newest, landed.ids, page.etag, page.last_modified)
            yield Page(
                data=_cut(page.document, page.new),
                source_uri=page.url,
                label=_label(page, number),
                records=len(page.new),
                cursor_after=landed.text(),
                extension="xml",
            )

    def _walk(self, cursor: Cursor) -> list[_FeedPage]:
        """The head and its next pages, newest first, until one reaches entries already landed."""
        path = self.options.path
        head = self._url(self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url)
        url: httpx.URL | None = head
        pages: list[_FeedPage] = []
        visited: set[str] = set()
        while url is not None and len(pages) < self.options.max_pages:
            where = public_url(url.copy_remove_param(self.options.key_param) if self.options.key_param else url)
            if where in visited:
                raise PullError(
                    f"{self.channel.id}: the feed's next link comes back to {where}, a page already read; "
                    "stopped with the cursor unchanged"
                )
            visited.add(where)
            try:
                response = self._get(url, conditional=cursor if not pages else None)
            except _NotModified:
                self.log.info("%s: %s answered 304 Not Modified: nothing new", self.channel.id, where)
                return []
            document = self._document(response, where, len(pages) + 1)
            page = self._new_entries(document, cursor, where, response if not pages else None)
            pages.append(page)
            if len(page.new) < len(document.spans):  # it reaches what has landed: older pages have too
                return pages
            nxt = document.link("next")
            url = self._next(nxt, url) if nxt else None
        if url is not None:
            self.log.warning(
                "%s: stopped after options.max_pages=%d pages; older entries wait for the next pull",
                self.channel.id,
                self.options.max_pages,
            )
        return pages

    def _get(self, url: httpx.URL, *, conditional: Cursor | None) -> httpx.Response:
        headers = {"Accept": ACCEPT}
        if conditional is not None and conditional.etag:
            headers["If-None-Match"] = conditional.etag
        if conditional is not None and conditional.last_modified:
            headers["If-Modified-Since"] = conditional.last_modified
        redact = redactor(self.secret)
        saved = self.http.event_hooks
        self.http.event_hooks = {"request": saved["request"], "response": [*saved["response"], _raise_not_modified]}
        try:
            return fetch(
                self.http,
                Request("GET", str(url), headers=headers),
                channel_id=self.channel.id,
                spec=self.options,
                sleep=self.sleep,
                redact=redact,
                log=self.log,
                secret_name=secret_name(self.channel),
            )
        finally:
            self.http.event_hooks = saved

    def _document(self, response: httpx.Response, where: str, number: int) -> FeedDocument:
        try:
            return read_feed(response.content, self.channel.reader)
        except UnreadableFile as exc:
            raise NotAPage(
                f"not a feed: {exc.reason}: {exc.detail}",
                data=response.content,
                source_uri=where,
                label=f"unreadable-{hashlib.sha256(response.content).hexdigest()[:12]}-p{number}",
                extension="xml",
            ) from None

    def _new_entries(
        self, document: FeedDocument, cursor: Cursor, where: str, head: httpx.Response | None
    ) -> _FeedPage:
        records = dict(document.result.indexed_records())
        new, stamps = [], []
        for index in range(len(document.spans)):
            record = records.get(index)
            entry_id, at = _identity(record) if record is not None else ("", None)
            if record is None or cursor.is_new(entry_id, at):  # an entry too large lands to be quarantined
                new.append(index)
                if record is not None:
                    stamps.append((entry_id, at))
        etag = head.headers.get("ETag") if head is not None else None
        modified = head.headers.get("Last-Modified") if head is not None else None
        return _FeedPage(where, document, new, stamps, etag, modified)

    def _url(self, url: str) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise PullError(f"{self.channel.id}: the feed URL is not a URL ({exc})") from None
        if self.options.key_param:
            loopback = parsed.host in ("localhost", "127.0.0.1", "::1")
            if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
                raise PullError(
                    f"{self.channel.id}: the feed URL must be https:// (http:// only to loopback): "
                    "its key would cross the network in clear text"
                )
            parsed = parsed.copy_set_param(self.options.key_param, self.secret or "")
        return parsed

    def _next(self, href: str, current: httpx.URL) -> httpx.URL:
        target = current.join(href)
        if (target.scheme, target.host, target.port) != (current.scheme, current.host, current.port):
            elsewhere = public_url(target.copy_with(query=None))
            raise PullError(
                f"{self.channel.id}: the feed's next link leads to another site ({elsewhere}); "
                "the feed's key is sent to its own site only"
            )
        return self._url(str(target))


def _raise_not_modified(response: httpx.Response) -> None:
    if response.status_code == 304:
        raise _NotModified


def _identity(record: dict[str, Any]) -> tuple[str, datetime | None]:
    """(id, time) of an entry: Atom id/updated/published, RSS guid/pubDate."""
    entry_id = _text(record.get("id")) or _text(record.get("guid")) or _text(record.get("link"))
    for key in ("updated", "published", "pubDate", "dc:date"):
        at = _instant(_text(record.get(key)))
        if at is not None:
            return entry_id, at
    return entry_id, None


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("#text", value.get("@href", ""))
    return value.strip() if isinstance(value, str) else ""


def _instant(text: str) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        try:
            at = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _cut(document: FeedDocument, keep: list[int]) -> bytes:
    """The feed document with only the entries ``keep``: their exact bytes, the header and footer kept."""
    source, spans = document.source, document.spans
    if not spans:
        return source
    head, tail = source[: spans[0][0]], source[spans[-1][1] :]
    head = _DECLARATION.sub(b'<?xml version="1.0" encoding="UTF-8"?>', head, count=1)
    body = b"\n".join(source[spans[i][0] : spans[i][1]] for i in keep)
    return head + body + tail


def _label(page: _FeedPage, number: int) -> str:
    """A stable name part: the newest entry time of the page, its page number, a hash of its entries."""
    times = [at for _, at in page.stamps if at is not None]
    newest = max(times).strftime("%Y%m%dT%H%M%SZ") if times else "undated"
    digest = hashlib.sha256("\n".join(entry_id for entry_id, _ in page.stamps).encode()).hexdigest()[:10]
    return f"{newest}-p{number}-{digest}"
