"""App Store customer reviews from the App Store Connect API (provider ``app_store_connect``).

Follows Apple's documentation:

- List all customer reviews for an app,
  https://developer.apple.com/documentation/appstoreconnectapi/get-v1-apps-_id_-customerreviews:
  ``GET /v1/apps/{id}/customerReviews?sort=-createdDate&limit=200`` answers a JSON:API document,
  ``{"data": [{"type": "customerReviews", "id", "attributes": {"rating", "title", "body",
  "reviewerNickname", "createdDate", "territory"}}], "links": {"self", "next"}, "meta": {"paging"}}``;
  the next page is the full URL in ``links.next`` (followed only on the configured host);
- Generating Tokens for API Requests,
  https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests:
  ``Authorization: Bearer <JWT>`` signed ES256 with the team's .p8 private key, header ``kid`` (key
  id) and ``typ: JWT``, payload ``iss`` (issuer id), ``iat``, ``exp`` (at most 20 minutes later) and
  ``aud: appstoreconnect-v1``; a new token is signed before the current one has a minute left;
- Interpreting and Handling Errors / Identifying Rate Limits,
  https://developer.apple.com/documentation/appstoreconnectapi/interpreting-and-handling-errors,
  https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits:
  ``{"errors": [{"status", "code", "title", "detail"}]}``; 401 ``NOT_AUTHORIZED`` (the PullError
  names the secret to renew), 429 ``RATE_LIMIT_EXCEEDED`` (retried, honouring Retry-After if sent).

**Credentials.** The secret (``credentials_env`` / ``credentials_block``) is the text of the .p8 file
(a PEM ``PRIVATE KEY``). The key id and the issuer id are not secret but are the account's: they come
from the environment variables named by ``options.key_id_env`` and ``options.issuer_id_env``. The
key, its id, the issuer id and the first signed token are redacted from everything the pull leaves.

**Incremental walk.** Reviews come newest first, and a page number would shift as reviews arrive,
so the cursor is *the newest review landed*: ``{"created": <its createdDate in UTC>, "ids": [ids
created at that second]}``. A pull walks from the first page and stops at the first page that reaches
a review at or before the cursor; each landed page holds only the reviews after the cursor (a page
that mixes new and old ones lands with its ``data`` cut to the new ones, the envelope kept). The
cursor moves only when the walk ends, with its last landed page: a pull stopped half-way (an outage,
a crash) commits no cursor, and the next one walks again from the first page; the pages it landed
are skipped by their content hash, so nothing lands twice unless new reviews shifted the pages.
"""

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from flows.extract.providers._transport import require_safe_url, same_origin
from flows.extract.redact import Redactor, redactor
from transforms.channels import Channel
from transforms.readers.base import UnreadableFile
from transforms.readers.encoding import decode_text
from transforms.readers.json_pages import loads

__all__ = ["AUDIENCE", "Options", "pull"]

AUDIENCE = "appstoreconnect-v1"
REVIEWS_PATH = "/v1/apps/{app_id}/customerReviews"
MAX_TOKEN_SECONDS = 20 * 60  # Apple refuses a token that lives longer
RENEW_MARGIN_SECONDS = 60


class Options(RetryOptions):
    """``extraction.options`` of an ``app_store_connect`` channel."""

    app_id: str = Field(pattern=r"^[0-9]+$")  # the app's Apple ID (the apps resource id)
    key_id_env: str  # environment variable with the API key's id (the JWT header's kid)
    issuer_id_env: str  # environment variable with the team's issuer id (the JWT's iss)
    page_size: int = Field(default=200, ge=1, le=200)  # limit: Apple's maximum is 200
    token_seconds: int = Field(default=MAX_TOKEN_SECONDS, ge=2 * RENEW_MARGIN_SECONDS, le=MAX_TOKEN_SECONDS)
    max_pages: int = Field(default=5_000, ge=1)  # a guard against links that never end


@dataclass(frozen=True)
class Mark:
    """The cursor: the newest createdDate landed and the ids of the reviews created at that second."""

    created: datetime
    ids: frozenset[str]

    @classmethod
    def parse(cls, cursor: str | None, channel_id: str) -> "Mark | None":
        if cursor is None:
            return None
        try:
            value = json.loads(cursor)
            return cls(_utc(value["created"]), frozenset(str(i) for i in value["ids"]))
        except (ValueError, TypeError, KeyError):
            raise PullError(
                f"{channel_id}: committed cursor {cursor!r} is not an App Store Connect cursor "
                '({"created": ..., "ids": [...]}): did the channel\'s extraction change?'
            ) from None

    def dump(self) -> str:
        created = self.created.isoformat().replace("+00:00", "Z")
        return json.dumps({"created": created, "ids": sorted(self.ids)}, separators=(",", ":"))

    def is_before(self, created: datetime | None, review_id: str) -> bool:
        """True when the review is newer than this mark (not landed yet)."""
        if created is None:  # no date: land it, staging rejects it with its reason
            return True
        return created > self.created or (created == self.created and review_id not in self.ids)

    def moved_to(self, created: datetime | None, review_id: str) -> "Mark":
        if created is None or created < self.created:
            return self
        if created == self.created:
            return Mark(self.created, self.ids | {review_id})
        return Mark(created, frozenset({review_id}))


class Signer:
    """Signs the ES256 bearer tokens of one pull, a new one before the current one expires."""

    def __init__(
        self,
        private_key: str,
        *,
        key_id: str,
        issuer_id: str,
        seconds: int = MAX_TOKEN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key, self._key_id, self._issuer_id, self._seconds, self._clock = (
            private_key,
            key_id,
            issuer_id,
            seconds,
            clock,
        )
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        now = self._clock()
        if self._token is None or now >= self._expires - RENEW_MARGIN_SECONDS:
            issued = int(now)
            claims = {"iss": self._issuer_id, "iat": issued, "exp": issued + self._seconds, "aud": AUDIENCE}
            self._token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id, "typ": "JWT"})
            self._expires = float(issued + self._seconds)
        return self._token


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the reviews created after ``cursor``, newest first; the cursor moves when the walk ends."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    key_id, issuer_id = _account_ids(channel, options)
    base = require_safe_url(
        base_url, what=f"the base URL ({channel.how_extracted.base_url_env})", channel_id=channel.id
    )
    signer = _signer(channel, secret, key_id, issuer_id, options)
    first_token = signer.token()
    log = log or logging.getLogger(__name__)
    http = client or httpx.Client(follow_redirects=False)  # a redirect would carry the token elsewhere
    walk = _Walk(channel, options, base, signer, http, sleep, log, redactor(secret, key_id, issuer_id, first_token))
    try:
        return drive(
            channel,
            cursor=cursor,
            land=land,
            pages=walk.pages,
            secret=secret,
            extra_secrets=(key_id, issuer_id, first_token),
            log=log,
        )
    finally:
        if client is None:
            http.close()


def _account_ids(channel: Channel, options: Options) -> tuple[str, str]:
    names = (options.key_id_env, options.issuer_id_env)
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise PullError(f"{channel.id}: environment variable(s) {missing} (extraction.options) not set")
    return os.environ[options.key_id_env], os.environ[options.issuer_id_env]


def _signer(channel: Channel, secret: str | None, key_id: str, issuer_id: str, options: Options) -> Signer:
    where = secret_name(channel) or "the channel's secret"
    if not secret:
        raise PullError(f"{channel.id}: no App Store Connect private key (.p8) was resolved from {where}")
    signer = Signer(secret, key_id=key_id, issuer_id=issuer_id, seconds=options.token_seconds)
    try:
        signer.token()
    except (jwt.PyJWTError, ValueError, TypeError):  # the key's text never goes into the message
        raise PullError(
            f"{channel.id}: the secret in {where} is not an App Store Connect private key "
            "(the .p8 file's PEM text, an EC P-256 key); renew it"
        ) from None
    return signer


@dataclass
class _Walk:
    channel: Channel
    options: Options
    base: httpx.URL
    signer: Signer
    http: httpx.Client
    sleep: Callable[[float], None]
    log: logging.Logger | logging.LoggerAdapter
    redact: Redactor

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """The pages with reviews after ``cursor``; the last one carries the new cursor."""
        start = Mark.parse(cursor, self.channel.id)
        mark = start
        url = str(self.base.join(REVIEWS_PATH.format(app_id=self.options.app_id)))
        params: dict[str, Any] | None = {"sort": "-createdDate", "limit": str(self.options.page_size)}
        followed: set[str] = set()
        pending: Page | None = None
        for number in range(1, self.options.max_pages + 1):
            response = self._get(url, params)
            source = public_url(response.request.url)
            document, reviews = self._read(response, source, number)
            fresh = [r for r in reviews if start is None or start.is_before(_created(r), _id(r))]
            for review in fresh:
                mark = _moved(mark, review)
            if fresh:
                if pending is not None:
                    yield pending
                pending = Page(
                    _landed(response.content, document, fresh, reviews), source, f"page-{number}", len(fresh), None
                )
            next_link = _next_link(document)
            if len(fresh) < len(reviews) or not next_link:  # reached the cursor, or the last page
                break
            url, params = self._follow(next_link, followed, source), None
        else:
            raise PullError(
                f"{self.channel.id}: more than extraction.options.max_pages={self.options.max_pages} pages of "
                "reviews after the cursor; the cursor stays (raise max_pages to drain the backlog)"
            )
        if pending is not None:
            yield replace(pending, cursor_after=mark.dump() if mark is not None else None)

    def _get(self, url: str, params: dict[str, Any] | None) -> httpx.Response:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.signer.token()}"}
        options = self.options
        renew = (
            f"{secret_name(self.channel) or 'the private key'} (the .p8 key; its key id in {options.key_id_env}, "
            f"the issuer id in {options.issuer_id_env})"
        )
        return fetch(
            self.http,
            Request("GET", url, params=params, headers=headers),
            channel_id=self.channel.id,
            spec=options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            secret_name=renew,
        )

    def _read(self, response: httpx.Response, source: str, number: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        label = f"page-{number}"
        try:
            document = loads(decode_text(response.content, self.channel.reader.encoding))
        except (UnreadableFile, ValueError) as exc:
            raise NotAPage(f"not JSON: {exc}", data=response.content, source_uri=source, label=label) from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            reason = "no data list: not a customerReviews page"
            raise NotAPage(reason, data=response.content, source_uri=source, label=label)
        return document, [item for item in document["data"] if isinstance(item, dict)]

    def _follow(self, link: str, followed: set[str], where: str) -> str:
        try:
            parsed = httpx.URL(link)
        except httpx.InvalidURL:
            raise PullError(f"{self.channel.id}: links.next of {where} is not a URL") from None
        if not same_origin(parsed, self.base):
            raise PullError(
                f"{self.channel.id}: links.next of {where} leads to {parsed.scheme}://{parsed.host}, not the "
                f"configured {self.base.scheme}://{self.base.host}; not followed (it would carry the token)"
            )
        if link in followed:
            raise PullError(f"{self.channel.id}: links.next repeats ({public_url(link)} again after {where}); stopped")
        followed.add(link)
        return link


def _landed(content: bytes, document: dict[str, Any], fresh: list[dict[str, Any]], reviews: list[Any]) -> bytes:
    """The page as received when every review on it is new; else its document with ``data`` cut to them."""
    if len(fresh) == len(document["data"]) == len(reviews):
        return content
    return json.dumps({**document, "data": fresh}, ensure_ascii=False, indent=1).encode("utf-8")


def _next_link(document: dict[str, Any]) -> str | None:
    links = document.get("links")
    link = links.get("next") if isinstance(links, dict) else None
    return link if isinstance(link, str) and link else None


def _id(review: dict[str, Any]) -> str:
    return str(review.get("id", ""))


def _created(review: dict[str, Any]) -> datetime | None:
    attributes = review.get("attributes")
    value = attributes.get("createdDate") if isinstance(attributes, dict) else None
    try:
        return _utc(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _moved(mark: Mark | None, review: dict[str, Any]) -> Mark | None:
    created = _created(review)
    if mark is None:
        return Mark(created, frozenset({_id(review)})) if created is not None else None
    return mark.moved_to(created, _id(review))


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"createdDate {text!r} has no offset")
    return value.astimezone(UTC)
