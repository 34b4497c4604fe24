"""Zendesk Support tickets by the cursor-based incremental ticket export.

Follows https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
(Incremental Ticket Export, Cursor Based) and
https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api :

- the first pull asks ``GET /api/v2/incremental/tickets/cursor.json?start_time=<unix seconds>``
  (``options.start_time``), every later request ``?cursor=<after_cursor>``;
- an answer is ``{"tickets": [...], "after_cursor", "after_url", "before_cursor", "before_url",
  "end_of_stream"}``; the pages go on until ``end_of_stream`` is true;
- each page lands with its ``after_cursor`` as the channel's cursor, so the next pull resumes
  where the export stopped: that is what makes the export incremental. A page without tickets
  is not landed (its cursor would only repeat what is asked for next time anyway);
- a ticket edited since it was landed comes back as a new version of the whole ticket object
  (same ``id``, later ``updated_at``); staging keeps the versions of an id ordered by
  ``updated_at`` (the channel maps it), the latest is the current row, the earlier ones go to
  the feedback versions table. Deleted tickets come back with ``status: "deleted"``.
- auth: HTTP Basic ``{agent e-mail}/token:{API token}`` (the channel's secret is that whole
  string); 401/403 stop the pull naming the secret to renew;
- rate limit: 10 requests a minute for the incremental exports; a 429 carries ``Retry-After``
  (seconds), which ``fetch`` honours; the after_cursor is used with the configured base URL,
  never the ``after_url`` host.
"""

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from transforms.channels import Channel
from transforms.readers.json_pages import loads

__all__ = ["EXPORT_PATH", "Options", "pull"]

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"


class Options(RetryOptions):
    """``extraction.options`` of a Zendesk channel."""

    start_time: int = Field(default=0, ge=0)  # the first pull's start (Unix seconds); later pulls use the cursor
    per_page: int = Field(default=1000, ge=1, le=1000)  # the export's maximum is 1,000
    exclude_deleted: bool = False


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the export's pages after ``cursor`` (an ``after_cursor``; None: from ``start_time``)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    headers = {"Accept": "application/json", "Authorization": _basic(secret, channel.id)}
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the credentials elsewhere
    export = _Export(channel, options, base_url.rstrip("/") + EXPORT_PATH, headers, http, sleep, log, secret)
    try:
        return drive(channel, cursor=cursor, land=land, pages=export.pages, secret=secret, log=log)
    finally:
        if client is None:
            http.close()


def _basic(secret: str | None, channel_id: str) -> str:
    if not secret or "/token:" not in secret:
        raise PullError(f"{channel_id}: the Zendesk secret must be '<agent e-mail>/token:<API token>'")
    return "Basic " + base64.b64encode(secret.encode()).decode("ascii")


class _Export:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        url: str,
        headers: dict[str, str],
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
        secret: str | None,
    ) -> None:
        self.channel, self.options, self.url, self.headers = channel, options, url, headers
        self.http, self.sleep, self.log, self.redact = http, sleep, log, redactor(secret)

    def pages(self, cursor: str | None) -> Iterator[Page]:
        asked = cursor
        while True:
            response = fetch(
                self.http,
                Request("GET", self.url, params=self._params(asked), headers=self.headers),
                channel_id=self.channel.id,
                spec=self.options,
                sleep=self.sleep,
                redact=self.redact,
                log=self.log,
                secret_name=secret_name(self.channel),
            )
            where = public_url(response.request.url)
            tickets, after, end = _read(response, where, _label(asked))
            if not end and (after is None or after == asked):
                raise PullError(
                    f"{self.channel.id}: the export's after_cursor does not advance ({after!r} after "
                    f"{self.redact(where)} with end_of_stream false); stopped at cursor {asked!r}"
                )
            yield Page(response.content, where, _label(after or asked), len(tickets), after)
            if end:
                return
            asked = after

    def _params(self, cursor: str | None) -> dict[str, str]:
        params = {"cursor": cursor} if cursor else {"start_time": str(self.options.start_time)}
        params["per_page"] = str(self.options.per_page)
        if self.options.exclude_deleted:
            params["exclude_deleted"] = "true"
        return params


def _read(response: httpx.Response, where: str, label: str) -> tuple[list[Any], str | None, bool]:
    """(tickets, after_cursor, end_of_stream); NotAPage for an answer that is not an export page."""
    try:
        document = loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPage(f"not JSON ({exc})", data=response.content, source_uri=where, label=label) from None
    tickets = document.get("tickets") if isinstance(document, dict) else None
    if not isinstance(tickets, list):
        raise NotAPage("no tickets list", data=response.content, source_uri=where, label=label)
    after = document.get("after_cursor")
    return tickets, str(after) if after else None, document.get("end_of_stream") is True


def _label(cursor: str | None) -> str:
    if cursor is None:
        return "start"
    text = re.sub(r"[^A-Za-z0-9._=-]", "_", cursor)
    if len(text) > 64:
        text = text[:40] + "-" + hashlib.sha256(cursor.encode()).hexdigest()[:12]
    return f"cursor-{text}"
