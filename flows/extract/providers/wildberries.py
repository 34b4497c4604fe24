"""Wildberries product feedbacks created since the cursor, unanswered and answered, oldest first.

Follows the Wildberries API, «Общение с покупателями» → «Отзывы»,
https://dev.wildberries.ru/openapi/customer-communication#tag/feedbacks (``GET /api/v1/feedbacks``)
and the rate limits of https://dev.wildberries.ru/openapi/api-information (status codes, limits):

- ``GET /api/v1/feedbacks?isAnswered=<false|true>&take=<≤5000>&skip=<n>&order=dateAsc&dateFrom=<unix>``
  answers ``{"data": {"countUnanswered", "countArchive", "feedbacks": [...]}, "error",
  "errorText", "additionalErrors"}``; ``isAnswered`` is required, so the two lists are pulled in
  turn (the unanswered ones first: they are the ones to act on). ``skip + take`` may not exceed
  199,990: past that the list is asked again from the latest ``createdDate`` landed. A list ends
  at an empty page (the API may answer fewer than ``take``); a page identical to the one before
  it (``skip`` ignored) stops the pull;
- an offset is not a cursor here: the unanswered list shrinks as the seller answers, so an offset
  kept between pulls would skip feedbacks. The cursor is a watermark per list
  (flows/extract/watermark.py): the latest ``createdDate`` landed and the ids landed at it, sent
  as ``dateFrom`` (Unix seconds, that second included); what comes back at that second and was
  landed is dropped. A feedback lands from the list it is in when first seen; answered later, it
  comes back (with its ``answer``, a new version for staging) only if it is not older than the
  answered list's watermark: the seller's answer is not the customer's feedback;
- auth: the token as is in ``Authorization`` (no "Bearer"); 401/403 stop the pull naming it;
- rate limit: 429 with the seconds to wait in ``X-Ratelimit-Retry`` (and ``X-Ratelimit-Limit`` /
  ``-Reset``; a JSON body ``{"title", "detail", "status": 429, ...}``): the header is honoured as
  a Retry-After; an answer with ``"error": true`` stops the pull with its ``errorText``.
"""

import json
import logging
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

__all__ = ["FEEDBACKS_PATH", "MAX_SKIP_PLUS_TAKE", "Options", "pull"]

FEEDBACKS_PATH = "/api/v1/feedbacks"
MAX_SKIP_PLUS_TAKE = 199_990
LISTS = ("false", "true")  # isAnswered: the unanswered list, then the answered one


class Options(RetryOptions):
    """``extraction.options`` of a Wildberries feedbacks channel."""

    date_from: str = "2020-01-01T00:00:00Z"  # the first pull's start; later pulls use the cursor
    take: int = Field(default=5000, ge=1, le=5000)  # the API's maximum is 5,000


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the feedbacks created after ``cursor`` (a watermark per list; None: since ``date_from``)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    if not secret:
        raise PullError(f"{channel.id}: no Wildberries API token was resolved")
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the token elsewhere
    hooks = http.event_hooks["response"]
    hooks.append(_retry_after_from_ratelimit_header)
    feed = _Feedbacks(channel, options, base_url.rstrip("/") + FEEDBACKS_PATH, secret, http, sleep, log)
    try:
        return drive(channel, cursor=cursor, land=land, pages=feed.pages, secret=secret, log=log)
    finally:
        hooks.remove(_retry_after_from_ratelimit_header)
        if client is None:
            http.close()


def _retry_after_from_ratelimit_header(response: httpx.Response) -> None:
    """Wildberries says how long to wait in ``X-Ratelimit-Retry``: read it as the Retry-After it is."""
    wait = response.headers.get("X-Ratelimit-Retry")
    if response.status_code == 429 and wait and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = wait


def _feedback_id(feedback: dict[str, Any]) -> str:
    return str(feedback.get("id"))


def _created(feedback: dict[str, Any]) -> str:
    return str(feedback.get("createdDate"))


class _Feedbacks:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        url: str,
        secret: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.url, self.http, self.sleep, self.log = channel, options, url, http, sleep, log
        self.headers = {"Accept": "application/json", "Authorization": secret}
        self.redact = redactor(secret)

    def pages(self, cursor: str | None) -> Iterator[Page]:
        marks = self._marks(cursor)
        for answered in LISTS:
            while True:
                start = marks[answered]
                more = yield from self._listing(answered, marks)
                if not more:
                    break
                if marks[answered] == start:
                    raise PullError(
                        f"{self.channel.id}: {MAX_SKIP_PLUS_TAKE} feedbacks created at {start.since}: "
                        "skip + take cannot go further, so the pull cannot get past them"
                    )

    def _marks(self, cursor: str | None) -> dict[str, Watermark]:
        try:
            document = json.loads(cursor) if cursor else {}
            return {
                answered: Watermark.from_cursor(
                    json.dumps(document[answered]) if answered in document else None, self.options.date_from
                )
                for answered in LISTS
            }
        except (ValueError, TypeError) as exc:
            raise PullError(f"{self.channel.id}: committed cursor is not a watermark per list ({exc})") from None

    def _listing(self, answered: str, marks: dict[str, Watermark]) -> Generator[Page, None, bool]:
        """One list from its watermark, page by page until an empty one; returns whether skip + take
        ran out first. The API may answer fewer than ``take``: only an empty page ends the list."""
        mark = marks[answered]
        date_from = int(parse_time(mark.since).timestamp())
        skip, take, previous = 0, self.options.take, b""
        while skip + take <= MAX_SKIP_PLUS_TAKE:
            params = {"isAnswered": answered, "take": take, "skip": skip, "order": "dateAsc", "dateFrom": date_from}
            response = self._fetch(params)
            where = public_url(response.request.url)
            label = f"answered-{answered}-from-{date_from}-skip-{skip}"
            feedbacks = _read(response, where, label)
            if feedbacks and response.content == previous:
                raise PullError(
                    f"{self.channel.id}: {self.redact(where)} answered the same page as the request before it "
                    "(does the API ignore skip?)"
                )
            fresh = mark.fresh(feedbacks, _feedback_id, _created)
            data = response.content if len(fresh) == len(feedbacks) else _page(fresh)
            mark = marks[answered] = mark.after(fresh, _feedback_id, _created)
            yield Page(data, where, label, len(fresh), _cursor(marks) if fresh else None)
            if not feedbacks:
                return False
            skip, previous = skip + len(feedbacks), response.content
        return True

    def _fetch(self, params: dict[str, Any]) -> httpx.Response:
        return fetch(
            self.http,
            Request("GET", self.url, params={k: str(v) for k, v in params.items()}, headers=self.headers),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            check=_check,
            secret_name=secret_name(self.channel),
        )


def _cursor(marks: dict[str, Watermark]) -> str:
    return json.dumps({k: json.loads(m.cursor()) for k, m in marks.items()}, separators=(",", ":"))


def _check(response: httpx.Response) -> None:
    """``"error": true`` in a 200 answer: a refusal the API explains in ``errorText``."""
    try:
        document = json.loads(response.content)
    except ValueError:
        return  # not JSON: the page reader quarantines it
    if isinstance(document, dict) and document.get("error") is True:
        raise PullError(
            f"Wildberries answered an error: {document.get('errorText')} {document.get('additionalErrors')}"
        )


def _read(response: httpx.Response, where: str, label: str) -> list[dict[str, Any]]:
    try:
        document = loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAPage(f"not JSON ({exc})", data=response.content, source_uri=where, label=label) from None
    data = document.get("data") if isinstance(document, dict) else None
    feedbacks = data.get("feedbacks") if isinstance(data, dict) else None
    if not isinstance(feedbacks, list) or not all(isinstance(f, dict) and "createdDate" in f for f in feedbacks):
        raise NotAPage("no data.feedbacks with createdDate", data=response.content, source_uri=where, label=label)
    try:
        for feedback in feedbacks:
            parse_time(_created(feedback))
    except ValueError as exc:
        raise NotAPage(
            f"a createdDate is not ISO 8601 ({exc})", data=response.content, source_uri=where, label=label
        ) from None
    return feedbacks


def _page(feedbacks: list[dict[str, Any]]) -> bytes:
    """A page in the channel's shape holding only ``feedbacks`` (those not landed before)."""
    return json.dumps({"data": {"feedbacks": feedbacks}, "error": False}, ensure_ascii=False).encode()
