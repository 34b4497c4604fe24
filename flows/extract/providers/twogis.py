"""Pull the reviews of a chain's 2GIS branches (public reviews API 2.0) and land them as pages.

2GIS does not document this API for third parties: it is the API behind the reviews on 2gis.ru,
``GET https://public-api.reviews.2gis.com/2.0/branches/{branch_id}/reviews?key=&limit=&sort_by=&locale=``.
What this module assumes, from how public clients call it (see the channel's comment in
channels.yaml) and from 2GIS's documented conventions of its other APIs (``meta.code`` and
``meta.error {type, message}`` in every answer, https://docs.2gis.com/ru/api/search/places/overview):

- the answer is ``{"meta": {"code": 200, "next_link": "<full URL of the next page>", ...},
  "reviews": [{id, rating, text, date_created, date_edited, user {id, name}, object {id, type}, ...}]}``,
  **newest first** with ``sort_by=date_created``; the next page's URL carries ``offset_date`` (the
  ``date_created`` of the page's last review) and has no ``next_link`` on the last page;
- ``limit`` is at most 50; the key is the ``key`` query parameter; an invalid key is HTTP 403 (401
  too is treated so); a rate limit is HTTP 429, and an error is also an answer whose ``meta.code`` is
  not 200 (a ``meta.code`` 429 in a 200 answer is retried like a 429).

**Following ``meta.next_link``.** It is a full URL. It is followed only on the host (scheme, host,
port) of the configured base URL: anything else stops the pull (the key would go there). The link's
own ``key``, if any, is dropped and the channel's key sent instead; its other parameters are sent as
they are.

**Incremental design.** Branches come from ``extraction.options.branches`` and the environment
variable ``branches_env`` (comma-separated: branch ids differ per installation). The cursor is a JSON
object, per branch the ``date_created`` of the newest review landed (as 2GIS wrote it, with the
branch's UTC offset; compared as instants). A pull walks each branch from its newest page back until
a page reaches a review at or before the branch's cursor (or the last page), then lands the new
reviews oldest first, ``limit`` per page, each page committing its newest ``date_created``: a crash
between pages loses nothing, since everything older in that branch was landed before. What lands is
``{"meta": {"code": 200, "branch_id": ...}, "reviews": [...]}``, read at ``reviews`` like the pages of
the sample exports. Not seen by this design: edits of reviews older than the cursor (the API sorts
by creation here), and a second review created in the very microsecond of the cursor.

Guards: a ``next_link`` that comes back stops the pull (the cursor does not advance); a page with no
reviews but a ``next_link`` (hidden reviews) is passed; an answer that is not JSON, or without a
``reviews`` list, is landed for quarantine and stops the pull, the cursor unmoved.
"""

import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

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
from flows.extract.providers._json_api import answer_hooks, json_answer
from transforms.channels import Channel

__all__ = ["Options", "pull"]


class Options(RetryOptions):
    """``extraction.options`` of a channel pulled from the 2GIS reviews API."""

    branches: tuple[str, ...] = ()  # 2GIS branch ids (the number in 2gis.ru/<city>/firm/<id>)
    branches_env: str | None = "OTKLIK_TWOGIS_BRANCHES"  # more of them, comma-separated
    limit: int = Field(default=50, ge=1, le=50)  # reviews per request, and per landed page
    locale: str = "ru_RU"
    max_pages_per_branch: int = Field(default=1000, ge=1)  # a guard; the next pull goes on


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land each branch's reviews created after its cursor, oldest first."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    if not secret:
        raise PullError(f"{channel.id}: no 2GIS key; set {secret_name(channel) or 'the channel secret'}")
    log = log or logging.getLogger(__name__)
    branches = _branches(channel, options)
    with answer_hooks(client) as http:
        reviews = _Reviews(channel, options, base_url.rstrip("/"), secret, http, sleep, log)
        pages = partial(reviews.pages, branches)
        return drive(channel, cursor=cursor, land=land, pages=pages, secret=secret, log=log)


def _branches(channel: Channel, options: Options) -> list[str]:
    listed = [*options.branches, *os.environ.get(options.branches_env or "", "").split(",")]
    branches = list(dict.fromkeys(branch.strip() for branch in listed if branch.strip()))
    bad = [branch for branch in branches if not branch.isdigit()]
    if bad or not branches:
        raise PullError(
            f"{channel.id}: no 2GIS branches to pull{f' ({bad} are not branch ids)' if bad else ''}: list them in "
            f"extraction.options.branches or the environment variable {options.branches_env} (comma-separated)"
        )
    return branches


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _parse_cursor(channel_id: str, cursor: str | None) -> dict[str, str]:
    if cursor is None:
        return {}
    try:
        marks = json.loads(cursor)
    except ValueError:
        marks = None
    if not isinstance(marks, dict) or not all(isinstance(v, str) for v in marks.values()):
        raise PullError(f"{channel_id}: committed cursor {cursor!r} is not a JSON object of branch → date_created")
    return marks


class _Reviews:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        base_url: str,
        key: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.base_url, self.key = channel, options, base_url, key
        self.http, self.sleep, self.log = http, sleep, log
        self.redact = redactor(key)
        home = urlsplit(base_url)
        self.home = (home.scheme, home.netloc)

    def pages(self, branches: list[str], cursor: str | None) -> Iterator[Page]:
        marks = _parse_cursor(self.channel.id, cursor)
        for branch in branches:
            since = marks.get(branch)
            fresh = sorted(self._newer(branch, _instant(since)), key=lambda review: _instant(review["date_created"]))
            size = self.options.limit
            for chunk in (fresh[start : start + size] for start in range(0, len(fresh), size)):
                marks = marks | {branch: chunk[-1]["date_created"]}
                document = {"meta": {"code": 200, "branch_id": branch}, "reviews": chunk}
                data = json.dumps(document, ensure_ascii=False).encode()
                label = f"branch-{branch}-{chunk[0].get('id')}-{chunk[-1].get('id')}"
                uri = f"{self.base_url}/2.0/branches/{branch}/reviews?sort_by=date_created"
                yield Page(data, uri, label, len(chunk), json.dumps(marks, sort_keys=True, separators=(",", ":")))

    def _newer(self, branch: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        """The branch's reviews created after ``since``, newest first, one request per page."""
        url = f"{self.base_url}/2.0/branches/{branch}/reviews"
        params: dict[str, Any] = {"limit": self.options.limit, "sort_by": "date_created", "locale": self.options.locale}
        links: set[str] = set()
        seen: set[Any] = set()
        for _ in range(self.options.max_pages_per_branch):
            reviews, link = self._page(url, params, branch)
            for review in reviews:
                at = _instant(review.get("date_created"))
                if at is None:
                    missing = f"review {review.get('id')!r} of branch {branch} has no date_created"
                    raise PullError(f"{self.channel.id}: {missing}; nothing of this branch landed")
                if since is not None and at <= since:
                    return  # newest first: everything from here on was landed before
                if review.get("id") not in seen:
                    seen.add(review.get("id"))
                    yield review
            if not link:
                return
            if link in links:
                raise PullError(
                    f"{self.channel.id}: branch {branch}: meta.next_link {self.redact(link)!r} came back (the cursor "
                    "does not advance); nothing of this branch landed"
                )
            links.add(link)
            url, params = self._follow(link, branch)
        self.log.warning("%s: branch %s: stopped at max_pages_per_branch", self.channel.id, branch)

    def _page(self, url: str, params: dict[str, Any], branch: str) -> tuple[list[dict[str, Any]], str | None]:
        response = fetch(
            self.http,
            Request("GET", url, params=params | {"key": self.key}, headers={"Accept": "application/json"}),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            check=self._check,
            secret_name=secret_name(self.channel),
        )
        uri = public_url(self.http.build_request("GET", url, params=params).url)
        label = f"branch-{branch}-{params.get('offset_date', 'newest')}".replace(":", "").replace("+", "p")
        document = json_answer(response, source_uri=uri, label=label)
        reviews = document.get("reviews") if isinstance(document, dict) else None
        if not isinstance(reviews, list) or not all(isinstance(review, dict) for review in reviews):
            raise NotAPage("no reviews list", data=response.content, source_uri=uri, label=label)
        link = (document.get("meta") or {}).get("next_link")
        return reviews, link if isinstance(link, str) and link else None

    def _follow(self, link: str, branch: str) -> tuple[str, dict[str, Any]]:
        """``meta.next_link`` as (URL, parameters without the key); only on the base URL's host."""
        target = urlsplit(urljoin(self.base_url + "/", link))
        if (target.scheme, target.netloc) != self.home:
            raise PullError(
                f"{self.channel.id}: branch {branch}: meta.next_link points to {target.scheme}://{target.netloc}, "
                f"not to {self.home[0]}://{self.home[1]} (the configured base URL): not followed, the key stays home"
            )
        params = {k: v for k, v in parse_qsl(target.query, keep_blank_values=True) if k != "key"}
        return urlunsplit((target.scheme, target.netloc, target.path, "", "")), params

    def _check(self, response: httpx.Response) -> None:
        """An answer whose ``meta.code`` is not 200 is an error, whatever its HTTP status said."""
        try:
            meta = json.loads(response.content).get("meta") or {}
        except (ValueError, AttributeError):
            return  # not JSON, or not an object: the page loop lands it for quarantine
        code = meta.get("code") if isinstance(meta, dict) else None
        if code in (None, 200):
            return
        error = meta.get("error") or {}
        said = f"meta.code {code} ({error.get('type')}: {error.get('message')})"
        if code == 429 or (isinstance(code, int) and code >= 500):
            raise RetryLater(said)
        renew = ""
        if code in (401, 403):
            renew = f": the key was refused, renew {secret_name(self.channel) or 'the channel secret'}"
        raise PullError(f"{self.channel.id}: {response.url.path} answered {said}{renew}; the cursor has not moved")
