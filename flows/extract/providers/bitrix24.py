"""Bitrix24 CRM activities after the last ID landed (``crm.activity.list`` through an inbound webhook).

Follows https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/activity-base/crm-activity-list.html
(the method), https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html
(``start`` / ``next`` paging) and https://apidocs.bitrix24.com/settings/performance/huge-data.html,
which is how a large list is exported: ``start = -1`` (no count query, no ``next``), ordered by
``ID`` ascending with ``filter[>ID]`` = the last ID received, until an answer holds fewer than 50
records (the page size is fixed at 50). ``start``/``next`` offsets are not a cursor: each request
recounts the whole filter, and an offset kept between pulls says nothing once rows are deleted.

- request: ``POST <webhook>/crm.activity.list.json`` with the JSON body ``{"order": {"ID": "ASC"},
  "filter": {">ID": <cursor>}, "start": -1}`` (``select`` when configured);
- answer: ``{"result": [...], "total", "time": {...}}``, every value a string (``"ID": "20"``);
- the cursor is the last ``ID`` landed: a new pull lands only activities created since. An
  activity edited after it landed (its RESULT_VALUE written later) is not asked for again;
- the webhook URL ``https://<portal>/rest/<user>/<key>/`` is the base URL *and* the secret (the
  channel's ``credentials_env`` names the same variable): it is redacted from every message, log
  line, ledger URI and landed page;
- errors (https://apidocs.bitrix24.com/settings/performance/limits.html and the REST error list):
  ``QUERY_LIMIT_EXCEEDED`` (HTTP 503) and ``OPERATION_TIME_LIMIT`` (429) are retried;
  ``expired_token`` / ``INVALID_CREDENTIALS`` (401) and ``ACCESS_DENIED`` (403) stop the pull naming
  the secret to renew; an error body under HTTP 200 is read the same way.
"""

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import Field

from flows.extract.http_fetch import (
    PullError,
    Request,
    RetryLater,
    RetryOptions,
    fetch,
    public_url,
    redactor,
    secret_name,
)
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from transforms.channels import Channel
from transforms.readers.json_pages import loads

__all__ = ["METHOD", "PAGE_SIZE", "Options", "pull"]

METHOD = "crm.activity.list.json"
PAGE_SIZE = 50  # fixed by Bitrix24
_RATE_LIMITS = ("QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT")


class Options(RetryOptions):
    """``extraction.options`` of a Bitrix24 list channel."""

    select: list[str] = Field(default_factory=list)  # crm.activity.fields to return; empty: the method's default


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the activities with an ID above ``cursor`` (None: all of them), 50 a request."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    http = client or httpx.Client(follow_redirects=False)  # a redirect would carry the webhook key elsewhere
    export = _Export(channel, options, base_url.rstrip("/") + "/" + METHOD, http, sleep, log, secret, base_url)
    try:
        return drive(
            channel, cursor=cursor, land=land, pages=export.pages, secret=secret, extra_secrets=[base_url], log=log
        )
    finally:
        if client is None:
            http.close()


class _Export:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        url: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
        secret: str | None,
        base_url: str,
    ) -> None:
        self.channel, self.options, self.url, self.http, self.sleep, self.log = channel, options, url, http, sleep, log
        self.redact = redactor(secret, base_url)

    def pages(self, cursor: str | None) -> Iterator[Page]:
        last = _last_id(cursor, self.channel.id)
        while True:
            body = self._body(last)
            response = fetch(
                self.http,
                Request("POST", self.url, json=body, headers={"Accept": "application/json"}),
                channel_id=self.channel.id,
                spec=self.options,
                sleep=self.sleep,
                redact=self.redact,
                log=self.log,
                check=_check,
                secret_name=secret_name(self.channel),
            )
            where = f"{public_url(response.request.url)}#{urlencode({'filter[>ID]': last, 'start': -1})}"
            activities = _read(response, where, f"id-after-{last}")
            if not activities:  # nothing after ``last``: counted, not landed
                yield Page(response.content, where, f"id-after-{last}", 0, None)
                return
            newest = _newest_id(activities, last, self.channel.id, self.redact(where))
            yield Page(response.content, where, f"id-after-{last}", len(activities), str(newest))
            if len(activities) < PAGE_SIZE:
                return
            last = newest

    def _body(self, last: int) -> dict[str, Any]:
        body: dict[str, Any] = {"order": {"ID": "ASC"}, "filter": {">ID": last}, "start": -1}
        if self.options.select:
            body["select"] = self.options.select
        return body


def _last_id(cursor: str | None, channel_id: str) -> int:
    if cursor is None:
        return 0
    try:
        return int(cursor)
    except ValueError:
        raise PullError(
            f"{channel_id}: committed cursor {cursor!r} is not an activity ID (was it pulled another way?)"
        ) from None


def _check(response: httpx.Response) -> None:
    """A Bitrix24 error in a 200 answer: retried when it is a rate limit, fatal otherwise."""
    try:
        document = json.loads(response.content)
    except ValueError:
        return  # not JSON: the page reader quarantines it
    if not isinstance(document, dict) or "error" not in document:
        return
    error, description = str(document.get("error")), str(document.get("error_description", ""))
    if error in _RATE_LIMITS:
        raise RetryLater(f"{error}: {description}")
    raise PullError(f"Bitrix24 answered error {error}: {description}")


def _read(response: httpx.Response, where: str, label: str) -> list[Any]:
    try:
        document = loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPage(f"not JSON ({exc})", data=response.content, source_uri=where, label=label) from None
    result = document.get("result") if isinstance(document, dict) else None
    if not isinstance(result, list):
        raise NotAPage("no result list", data=response.content, source_uri=where, label=label)
    return result


def _newest_id(activities: list[Any], last: int, channel_id: str, where: str) -> int:
    """The ID of the page's last activity; PullError when it does not pass ``last`` (a filter ignored)."""
    try:
        newest = int(activities[-1]["ID"])
    except (TypeError, KeyError, ValueError):
        raise PullError(f"{channel_id}: the last activity of {where} has no numeric ID") from None
    if newest <= last:
        raise PullError(
            f"{channel_id}: {where} answered activities up to ID {newest}, not after {last} "
            "(is filter[>ID] ignored?); stopped at that cursor"
        )
    return newest
