"""The page loop every puller shares: land each page with the cursor after it, in one transaction.

A puller (a module of flows/extract/providers, or imap_pull / sql_pull) knows its source: how to
ask for what comes after a cursor, how the answer pages, and how to turn an answer into bytes in
the channel's format. ``drive`` does the rest, the same way for all of them:

- each ``Page`` lands through ``land`` (``warehouse.ingest.land_batch``) with ``cursor_before`` and
  ``cursor_after``; raw and the cursor commit together, so a crash (kill -9) between two pages
  loses nothing and repeats nothing: the next pull resumes after the last committed page;
- a page with no records is not landed, unless it says it ``moves_cursor_only``; ``cursor_after``
  None keeps the cursor where it was (a last page that may still grow is asked for again;
  unchanged, it is skipped by its content hash);
- a puller that announces the cursor it started from again (an API that ignores it) stops with a
  ``PullError`` instead of looping; so does a page whose batch is quarantined;
- the secrets (the resolved one and ``extra_secrets``) never leave: log lines (the puller's and
  httpx's) are redacted while it runs, a page that echoes one lands with ``***`` instead, and an
  exception leaving the loop is scrubbed with everything chained to it (flows/extract/redact.py).
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from flows.extract.http_fetch import PullError, redactor
from flows.extract.http_pull import Land, PullSummary
from flows.extract.redact import Redactor, redacting_logs, scrub_exception
from transforms.channels import Channel

__all__ = ["NotAPage", "Page", "drive"]


class NotAPage(Exception):
    """Raised by a puller for an answer that is not a page (not JSON, no records list, not MIME).

    ``drive`` lands its bytes anyway, so that they reach quarantine with the reader's reason and the
    archive keeps them, leaves the cursor where it was and stops the pull with a PullError.
    """

    def __init__(self, reason: str, *, data: bytes, source_uri: str, label: str, extension: str = "json") -> None:
        super().__init__(reason)
        self.data, self.source_uri, self.label, self.extension = data, source_uri, label, extension


@dataclass(frozen=True)
class Page:
    """One answer of a source, ready to land."""

    data: bytes  # in the channel's format (what lands and is archived)
    source_uri: str  # where it came from, without credentials
    label: str  # a stable name part: "offset-1042", "uid-7-120"; the file is <channel>/pull-<label>.<ext>
    records: int  # records in ``data``; 0 is not landed
    cursor_after: str | None  # committed with the page; None: the cursor stays where it was
    extension: str = "json"
    # A page without records that still moves the cursor (a re-export with nothing new: its new
    # digest must be remembered) lands as an empty batch; its same bytes are skipped after once.
    moves_cursor_only: bool = False


Pages = Callable[[str | None], Iterable[Page]]


def drive(
    channel: Channel,
    *,
    cursor: str | None,
    land: Land,
    pages: Pages,
    secret: str | None,
    extra_secrets: Iterable[str] = (),
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> PullSummary:
    """Land the pages that ``pages(cursor)`` yields; raise PullError (with ``.summary``) when stuck."""
    summary = PullSummary(channel.id, cursor_start=cursor, last_cursor=cursor)
    log = log or logging.getLogger(__name__)
    redact = redactor(secret, *extra_secrets)
    with redacting_logs(redact, log):
        try:
            _loop(channel, summary, land, pages(cursor), redact, log)
        except PullError as exc:
            exc.summary = summary
            scrub_exception(exc, redact)
            raise
        except BaseException as exc:  # a bug, a crash in land: its text may quote a URL or a page
            scrub_exception(exc, redact)
            raise
        log.info(
            "%s: %d page(s) fetched, %d landed, %d already landed, %d records; cursor %r -> %r (%s)",
            channel.id,
            summary.pages_fetched,
            summary.pages_landed,
            summary.pages_skipped,
            summary.records,
            summary.cursor_start,
            summary.last_cursor,
            summary.stopped or "done",
        )
    return summary


def _loop(
    channel: Channel,
    summary: PullSummary,
    land: Land,
    pages: Iterable[Page],
    redact: Redactor,
    log: logging.Logger | logging.LoggerAdapter,
) -> None:
    cursor = summary.cursor_start
    seen: set[str] = {cursor} if cursor is not None else set()
    iterator: Iterator[Page] = iter(pages)
    while True:
        try:
            page = next(iterator, None)
        except NotAPage as bad:
            _land_bad(channel, land, bad, cursor, redact)
            raise AssertionError("unreachable") from None
        if page is None:
            break
        summary.pages_fetched += 1
        if page.records == 0 and not (page.moves_cursor_only and page.cursor_after not in (None, cursor)):
            continue
        if page.cursor_after is not None and page.cursor_after != cursor and page.cursor_after in seen:
            raise PullError(
                f"{channel.id}: the source's cursor does not advance ({page.cursor_after!r} again after "
                f"{redact(page.source_uri)}); stopped at cursor {cursor!r}"
            )
        data = redact.redact_bytes(page.data)
        if data != page.data:
            log.warning("%s: %s echoed the credentials; they land as ***", channel.id, redact(page.source_uri))
        source_file = f"{channel.id}/pull-{page.label}.{page.extension}"
        outcome = land(
            data,
            source_uri=redact(page.source_uri),
            source_file=source_file,
            cursor_before=cursor,
            cursor_after=page.cursor_after if page.cursor_after is not None else cursor,
        )
        if outcome.status == "quarantined":
            raise PullError(
                f"{channel.id}: {source_file} was quarantined ({outcome.reason}: {outcome.detail}); "
                f"the cursor stays at {cursor!r}"
            )
        if outcome.status == "skipped":
            summary.pages_skipped += 1
        else:
            summary.pages_landed += 1
            summary.records += outcome.records
            summary.rejected += outcome.rejected
        if page.cursor_after is not None:
            cursor = summary.last_cursor = page.cursor_after
            seen.add(cursor)
    summary.stopped = summary.stopped or "no more pages"


def _land_bad(channel: Channel, land: Land, bad: NotAPage, cursor: str | None, redact: Redactor) -> None:
    source_file = f"{channel.id}/pull-{bad.label}.{bad.extension}"
    land(
        redact.redact_bytes(bad.data),
        source_uri=redact(bad.source_uri),
        source_file=source_file,
        cursor_before=cursor,
        cursor_after=cursor,
    )
    raise PullError(
        f"{channel.id}: {redact(bad.source_uri)} is not a page ({redact(str(bad))}); "
        f"quarantined as {source_file}, the cursor stays at {cursor!r}"
    )
