"""Freshdesk tickets changed since the cursor, oldest change first, by the Link header's pages.

Follows the Freshdesk API v2 reference (https://developers.freshdesk.com/api/): #list_all_tickets,
#pagination and #ratelimit:

- ``GET /api/v2/tickets?updated_since=<time>&order_by=updated_at&order_type=asc&per_page=100
  &include=requester,description``: a bare JSON array of tickets (with ``description_text`` and
  ``requester {name, email, phone}`` for the includes; each ``include`` costs more of the rate
  limit). Without ``updated_since`` the list holds only the last 30 days;
- the next page is the URL of the ``Link: <...>; rel="next"`` header, absent on the last page. It
  is followed only to the configured host (the credentials go with it). Freshdesk lists at most
  300 pages (``page`` > 300 is a 400 validation error): after page 300 the listing starts again
  from the latest ``updated_at`` landed;
- the cursor is a watermark (flows/extract/watermark.py): the latest ``updated_at`` landed and the
  ids landed at it. ``updated_since`` includes that time, so those tickets come back and are
  dropped before landing; a ticket edited since comes back with a later ``updated_at`` and lands
  as a new version (staging orders versions by ``updated_at``);
- auth: HTTP Basic with the API key as the user name and ``X`` as the password (the channel's
  secret is the key; ``<key>:X`` is accepted too); 401/403 stop the pull naming the secret;
- rate limit: per minute per account; a 429 carries ``Retry-After`` (seconds), which ``fetch``
  honours; every answer's ``X-RateLimit-Total`` / ``-Remaining`` / ``-Used-CurrentRequest`` are
  logged at debug level.
"""

import base64
import json
import logging
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from flows.extract.watermark import Watermark, parse_time
from transforms.channels import Channel
from transforms.readers.json_pages import loads

__all__ = ["LAST_PAGE", "LIST_PATH", "Options", "pull"]

LIST_PATH = "/api/v2/tickets"
LAST_PAGE = 300  # Freshdesk answers page > 300 with a 400


class Options(RetryOptions):
    """``extraction.options`` of a Freshdesk channel."""

    updated_since: str = "2020-01-01T00:00:00Z"  # the first pull's start; later pulls use the cursor
    per_page: int = Field(default=100, ge=1, le=100)  # the API's maximum is 100
    include: str = "requester,description"


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the tickets changed after ``cursor`` (a watermark; None: since ``options.updated_since``)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    basic = _basic(secret, channel.id)
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the credentials elsewhere
    url = httpx.URL(base_url.rstrip("/") + LIST_PATH)
    listing = _Listing(channel, options, url, basic, http, sleep, log, redactor(secret, basic))
    try:
        return drive(
            channel, cursor=cursor, land=land, pages=listing.pages, secret=secret, extra_secrets=[basic], log=log
        )
    finally:
        if client is None:
            http.close()


def _basic(secret: str | None, channel_id: str) -> str:
    if not secret:
        raise PullError(f"{channel_id}: no Freshdesk API key was resolved")
    user_password = secret if secret.endswith(":X") else f"{secret}:X"
    return base64.b64encode(user_password.encode()).decode("ascii")


def _ticket_id(ticket: dict[str, Any]) -> str:
    return str(ticket.get("id"))


def _updated_at(ticket: dict[str, Any]) -> str:
    return str(ticket.get("updated_at"))


class _Listing:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        url: httpx.URL,
        basic: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
        redact: Callable[[str], str],
    ) -> None:
        self.channel, self.options, self.url, self.http, self.sleep, self.log = channel, options, url, http, sleep, log
        self.headers = {"Accept": "application/json", "Authorization": f"Basic {basic}"}
        self.redact = redact

    def pages(self, cursor: str | None) -> Iterator[Page]:
        try:
            mark = Watermark.from_cursor(cursor, self.options.updated_since)
        except ValueError as exc:
            raise PullError(f"{self.channel.id}: {exc}; was the channel pulled another way before?") from None
        while True:
            start = mark
            mark, more = yield from self._listing(mark)
            if not more:
                return
            if mark == start:
                raise PullError(
                    f"{self.channel.id}: {LAST_PAGE} pages of tickets all updated at {mark.since}: "
                    f"Freshdesk lists no more than {LAST_PAGE} pages, so the pull cannot get past them"
                )
            self.log.info("%s: page %d reached; listing again from %s", self.channel.id, LAST_PAGE, mark.since)

    def _listing(self, mark: Watermark) -> Generator[Page, None, tuple[Watermark, bool]]:
        """The pages of one listing from ``mark``; returns (the watermark after it, more pages left)."""
        url: httpx.URL | None = self.url
        params: dict[str, str] | None = self._params(mark)
        since, visited = mark.since, set()
        for number in range(1, LAST_PAGE + 1):
            assert url is not None
            if str(url) in visited:
                raise PullError(f"{self.channel.id}: the Link header's next page repeats {self.redact(str(url))}")
            visited.add(str(url))
            response = self._fetch(url, params)
            where = public_url(response.request.url)
            label = _label(since, number)
            tickets = _read(response, where, label)
            fresh = mark.fresh(tickets, _ticket_id, _updated_at)
            data = response.content if len(fresh) == len(tickets) else json.dumps(fresh, ensure_ascii=False).encode()
            mark = mark.after(fresh, _ticket_id, _updated_at)
            yield Page(data, where, label, len(fresh), mark.cursor() if fresh else None)
            url, params = self._next(response), None
            if url is None:
                return mark, False
        return mark, True

    def _params(self, mark: Watermark) -> dict[str, str]:
        return {
            "updated_since": mark.since,
            "order_by": "updated_at",
            "order_type": "asc",
            "per_page": str(self.options.per_page),
            "include": self.options.include,
        }

    def _fetch(self, url: httpx.URL, params: dict[str, str] | None) -> httpx.Response:
        response = fetch(
            self.http,
            Request("GET", str(url), params=params, headers=self.headers),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            secret_name=secret_name(self.channel),
        )
        limits = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit-")}
        if limits:
            self.log.debug("%s: rate limit %s", self.channel.id, limits)
        return response

    def _next(self, response: httpx.Response) -> httpx.URL | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        target = response.request.url.join(link)
        if (target.scheme, target.host, target.port) != (self.url.scheme, self.url.host, self.url.port):
            raise PullError(
                f"{self.channel.id}: the Link header's next page is on {target.scheme}://{target.host} "
                f"({self.url.host} is configured); not followed with the credentials"
            )
        return target


def _read(response: httpx.Response, where: str, label: str) -> list[dict[str, Any]]:
    try:
        document = loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPage(f"not JSON ({exc})", data=response.content, source_uri=where, label=label) from None
    if not isinstance(document, list) or not all(isinstance(t, dict) and "updated_at" in t for t in document):
        raise NotAPage("not a list of tickets with updated_at", data=response.content, source_uri=where, label=label)
    try:
        for ticket in document:
            parse_time(_updated_at(ticket))
    except ValueError as exc:  # the watermark cannot order what it cannot read
        raise NotAPage(
            f"a ticket's updated_at is not ISO 8601 ({exc})", data=response.content, source_uri=where, label=label
        ) from None
    return document


def _label(since: str, page: int) -> str:
    return f"since-{re.sub(r'[^0-9A-Za-z]', '', since)}-page-{page}"
