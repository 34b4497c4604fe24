"""Pull a Yandex Market seller's product reviews (Partner API goods feedback) and land them as pages.

Follows https://yandex.ru/dev/market/partner-api/doc/ru/reference/goods-feedback/getGoodsFeedbacks
(the OpenAPI of yandex-market/yandex-market-partner-api: ``POST /v2/businesses/{businessId}/goods-feedback``,
query ``limit`` (1-50, default 25) and ``page_token``, body filters ``dateTimeFrom`` / ``dateTimeTo``
(exclusive, at most 6 months apart; without them: the last 6 months), answer ``{"status": "OK",
"result": {"feedbacks": [...], "paging": {"nextPageToken"}}}``; reviews "in the order of
publication", so that a page token received earlier may be passed again), header ``Api-Key``
(https://yandex.ru/dev/market/partner-api/doc/ru/concepts/authorization), and the errors of
https://yandex.ru/dev/market/partner-api/doc/ru/concepts/error-codes and .../concepts/limits:
``{"status": "ERROR", "errors": [{"code", "message"}]}`` with 401/403 (the key), 420 "Enhance Your
Calm" (a rate limit: retried like a 429, which is retried too) and 5xx.

**Incremental design.** Page tokens belong to one query, so the cursor is a time, and a token only
while a query is under way. The cursor is a JSON object:

- ``{"since": <the newest createdAt landed>, "ids": [the feedbackIds landed at that instant]}``
  after a complete pull. The next pull asks ``dateTimeFrom`` = since − 1 s (the bound is exclusive,
  and a review may be published in the same second after the pull) and drops what it already has:
  reviews older than ``since``, and those at ``since`` whose id is in ``ids``;
- ``{... "page_token": T, "newest": ..., "newest_ids": [...]}`` after a page in the middle of a query:
  a crash, or a failure on the next page, resumes the same query (same ``dateTimeFrom``) at token T.

A page is landed once the answer after it is known: a page followed only by empty pages (a page token
that leads nowhere) is then the last one, and its cursor the final one, instead of leaving a token
behind. What lands is the API's answer, with the reviews landed before taken out (then re-serialised).
A pull resumed in the middle of a query that finds nothing more keeps that cursor until it does.

Guards: a ``nextPageToken`` seen before in the pull stops it (the cursor does not advance); an answer
that is not JSON, or has no ``result.feedbacks`` list, is landed for quarantine and stops it, the
cursor unmoved. ``businessId`` is not a secret, but differs per installation: ``business_id`` in the
options, or the environment variable ``business_id_env``.
"""

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
    retry_after_seconds,
    secret_name,
)
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from flows.extract.providers._json_api import answer_hooks, json_answer
from transforms.channels import Channel

__all__ = ["Options", "pull"]


class Options(RetryOptions):
    """``extraction.options`` of a channel pulled from goods-feedback."""

    business_id: int | None = Field(default=None, gt=0)  # the cabinet; None: from ``business_id_env``
    business_id_env: str | None = "OTKLIK_YANDEX_MARKET_BUSINESS_ID"
    limit: int = Field(default=50, ge=1, le=50)  # reviews per page (the API's maximum)
    max_pages: int = Field(default=10_000, ge=1)  # a guard against an API that never stops


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the reviews published after ``cursor``, page by page."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    if not secret:
        raise PullError(f"{channel.id}: no Api-Key; set {secret_name(channel) or 'the channel secret'}")
    log = log or logging.getLogger(__name__)
    url = f"{base_url.rstrip('/')}/v2/businesses/{_business_id(channel, options)}/goods-feedback"
    with answer_hooks(client, _enhance_your_calm) as http:
        feedback = _Feedback(channel, options, url, secret, http, sleep, log)
        return drive(channel, cursor=cursor, land=land, pages=feedback.pages, secret=secret, log=log)


def _business_id(channel: Channel, options: Options) -> int:
    if options.business_id is not None:
        return options.business_id
    value = os.environ.get(options.business_id_env or "", "").strip()
    if not value.isdigit():
        raise PullError(
            f"{channel.id}: no Yandex Market businessId: set extraction.options.business_id or the environment "
            f"variable {options.business_id_env} (GET /v2/campaigns names it)"
        )
    return int(value)


def _enhance_your_calm(response: httpx.Response) -> None:
    """420 Enhance Your Calm is Yandex Market's rate limit: retried like a 429."""
    if response.status_code != 420:
        return
    response.read()
    try:
        errors = json.loads(response.content).get("errors") or []
        said = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        said = ""
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    raise RetryLater(f"HTTP 420 Enhance Your Calm{': ' + said if said else ''}", wait)


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


@dataclass
class _Watermark:
    """Where the pull stands in publication time: what is landed, and the query under way."""

    since: str | None = None
    ids: list[Any] = field(default_factory=list)
    page_token: str | None = None
    newest: str | None = None
    newest_ids: list[Any] = field(default_factory=list)

    @classmethod
    def parse(cls, cursor: str | None, channel_id: str) -> "_Watermark":
        if cursor is None:
            return cls()
        try:
            state = json.loads(cursor)
            mark = cls(**state)
        except (ValueError, TypeError):
            raise PullError(f"{channel_id}: committed cursor {cursor!r} is not a goods-feedback watermark") from None
        if mark.newest is None:
            mark.newest, mark.newest_ids = mark.since, list(mark.ids)
        return mark

    def query(self) -> dict[str, str]:
        """The body filters: ``dateTimeFrom`` a second before the watermark (the bound is exclusive)."""
        since = _instant(self.since)
        return {} if since is None else {"dateTimeFrom": (since - timedelta(seconds=1)).isoformat()}

    def is_new(self, feedback: dict[str, Any]) -> bool:
        at, since = _instant(feedback.get("createdAt")), _instant(self.since)
        if at is None or since is None:
            return True
        return at > since or (at == since and feedback.get("feedbackId") not in self.ids)

    def saw(self, feedbacks: list[dict[str, Any]]) -> None:
        for feedback in feedbacks:
            at, newest = _instant(feedback.get("createdAt")), _instant(self.newest)
            if at is None:
                continue
            if newest is None or at > newest:
                self.newest, self.newest_ids = feedback["createdAt"], [feedback.get("feedbackId")]
            elif at == newest:
                self.newest_ids.append(feedback.get("feedbackId"))

    def during(self, page_token: str) -> str:
        """The cursor after a page in the middle of the query: resume it at ``page_token``."""
        state = {"since": self.since, "ids": self.ids, "page_token": page_token}
        return _compact(state | {"newest": self.newest, "newest_ids": self.newest_ids})

    def done(self) -> str:
        """The cursor after the query's last page: the next pull asks from the newest review landed."""
        return _compact({"since": self.newest, "ids": sorted(set(self.newest_ids), key=str)})


def _compact(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class _Held:
    data: bytes
    source_uri: str
    label: str
    records: int

    def page(self, cursor_after: str) -> Page:
        return Page(self.data, self.source_uri, self.label, self.records, cursor_after)


class _Feedback:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        url: str,
        api_key: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.url, self.http, self.sleep, self.log = channel, options, url, http, sleep, log
        self.headers = {"Api-Key": api_key, "Accept": "application/json"}
        self.redact = redactor(api_key)

    def pages(self, cursor: str | None) -> Iterator[Page]:
        mark = _Watermark.parse(cursor, self.channel.id)
        body, token = mark.query(), mark.page_token
        tokens: set[str] = {token} if token else set()
        held: _Held | None = None
        for _ in range(self.options.max_pages):
            answer = self._ask(body, token)
            fresh = [feedback for feedback in answer.feedbacks if mark.is_new(feedback)]
            if fresh:
                if held is not None:  # not the last page with news: resume the query here if stopped
                    yield held.page(mark.during(token or ""))
                mark.saw(fresh)
                held = _Held(answer.landed(fresh), answer.source_uri, answer.label, len(fresh))
            next_token = answer.next_token
            if not next_token:
                break
            if next_token in tokens:
                raise PullError(
                    f"{self.channel.id}: {answer.source_uri} answered nextPageToken {next_token!r} again "
                    f"(the cursor does not advance); the pages before it stay landed with their cursor"
                )
            tokens.add(next_token)
            token = next_token
        else:
            self.log.warning("%s: stopped after max_pages=%d pages", self.channel.id, self.options.max_pages)
            if held is not None:
                yield held.page(mark.during(token or ""))
            return
        if held is not None:
            yield held.page(mark.done())

    def _ask(self, body: dict[str, str], token: str | None) -> "_Answer":
        params: dict[str, Any] = {"limit": self.options.limit} | ({"page_token": token} if token else {})
        response = fetch(
            self.http,
            Request("POST", self.url, params=params, json=body, headers=self.headers),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            check=self._check,
            secret_name=secret_name(self.channel),
        )
        url = public_url(self.http.build_request("GET", self.url, params=params).url)
        uri = f"{url}#{urlencode(body)}" if body else url  # the filters travel in the body
        label = "page-" + hashlib.sha256(f"{body}|{token}".encode()).hexdigest()[:16]
        document = json_answer(response, source_uri=uri, label=label)
        feedbacks = ((document.get("result") if isinstance(document, dict) else None) or {}).get("feedbacks")
        if not isinstance(feedbacks, list) or not all(isinstance(f, dict) for f in feedbacks):
            raise NotAPage("no result.feedbacks list", data=response.content, source_uri=uri, label=label)
        return _Answer(response.content, document, feedbacks, uri, label)

    def _check(self, response: httpx.Response) -> None:
        """A 200 answer whose ``status`` is ERROR is an error all the same."""
        try:
            document = json.loads(response.content)
        except ValueError:
            return  # not JSON: landed for quarantine by the page loop
        if isinstance(document, dict) and document.get("status") == "ERROR":
            errors = document.get("errors") or []
            said = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
            raise PullError(f"{self.channel.id}: {self.url} answered status ERROR ({said}); the cursor has not moved")


@dataclass(frozen=True)
class _Answer:
    content: bytes
    document: dict[str, Any]
    feedbacks: list[dict[str, Any]]
    source_uri: str
    label: str

    @property
    def next_token(self) -> str | None:
        return ((self.document.get("result") or {}).get("paging") or {}).get("nextPageToken") or None

    def landed(self, fresh: list[dict[str, Any]]) -> bytes:
        """The answer as it came, or without the reviews landed before (re-serialised)."""
        if len(fresh) == len(self.feedbacks):
            return self.content
        result = self.document["result"] | {"feedbacks": fresh}
        return json.dumps(self.document | {"result": result}, ensure_ascii=False).encode()
