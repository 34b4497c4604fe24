"""Pull the new comments of a VK community's wall and land them as Callback API events (JSON Lines).

Follows the VK API documentation: https://dev.vk.com/ru/api/api-requests (``POST <base>/method/<name>``
with ``access_token`` and ``v``; answers ``{"response": ...}`` or, with HTTP 200, ``{"error":
{"error_code", "error_msg", "request_params"}}``), https://dev.vk.com/ru/method/wall.get,
https://dev.vk.com/ru/method/wall.getComments, https://dev.vk.com/ru/method/utils.getServerTime
and https://dev.vk.com/ru/reference/errors (the same methods, parameters and error codes are in VK's
machine-readable schema, github.com/VKCOM/vk-api-schema: wall/methods.json, errors.json).

**The walk.** VK has no "comments of a wall since X". Each pull asks

1. ``utils.getServerTime``: VK's clock at the start of the walk;
2. ``wall.get`` (``owner_id`` = −group id, ``count`` = ``recent_posts``): the newest posts, and for each
   post with ``comments.count`` > 0,
3. ``wall.getComments`` (``sort=asc``, ``offset``/``count`` pages of up to 100, ``thread_items_count``
   10, ``preview_length`` 0: whole texts), and for a thread longer than the 10 replies shown, the
   thread's own pages (``comment_id``).

Comment ids grow on a wall as comments are written, so **the cursor is the highest comment id
landed**. What is new is every comment with a higher id, written before the walk started (VK's
clock): a comment written during the walk, on a post already walked, would otherwise be passed by a
later comment's id and never landed. The new comments are landed in ascending id, ``page_size`` per
page, each page with the highest id in it as its cursor: a crash between pages loses nothing. The
community's own comments (``from_id`` < 0) are dropped, as the Callback receiver drops them, and so
are deleted ones. Comments under posts older than the ``recent_posts`` newest are not seen: the
Callback API (the receiver) is the complete source, this pull catches up what it missed.

**What lands** is what the Callback API would have delivered for each comment: a line
``{"type": "wall_reply_new", "object": <wall_comment with post_id, owner_id and post_owner_id>,
"group_id": ..., "v": ...}``, so the channel reads pulled and delivered comments alike.

**The token** is a service token of a VK app, or a user token (VK lists both for wall.get and
wall.getComments; a service token reads open walls). It goes in the POST body, never in a URL. VK's
errors: 6 "Too many requests per second", 9 "Flood control" and 10 "Internal server error" are
retried (RetryLater; 6 after a second); 29 "Rate limit reached" (a method's daily quota) stops the
pull retryable; 5 "User authorization failed" (and 27, 28, 1116) names the secret to renew; 15, 30,
212 (no access to the wall or its comments) stop the pull saying so. The cursor never moves on an error.

Guards: a page of comments that repeats the ids of the one before (an API ignoring ``offset``)
stops the pull; an answer that is not JSON lands, is quarantined by the reader, and stops it.
"""

import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryLater, RetryOptions, fetch, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import Page, drive
from flows.extract.providers._json_api import answer_hooks, json_answer, json_lines
from transforms.channels import Channel

__all__ = ["Options", "pull"]

THREAD_ITEMS = 10  # replies VK shows inline per comment (wall.getComments thread_items_count, at most 10)
RETRIED = {6: 1.0, 9: None, 10: None}  # error code → seconds to wait (None: exponential backoff)
AUTH_FAILED = {5, 27, 28, 1116}
NO_ACCESS = {15, 18, 30, 212}


class Options(RetryOptions):
    """``extraction.options`` of a VK wall pulled through the API."""

    api_version: str = Field(default="5.199", pattern=r"^5\.\d+$")  # the ``v`` of every request
    group_id: int | None = Field(default=None, gt=0)  # the community; None: from ``group_id_env``
    group_id_env: str | None = "OTKLIK_VK_GROUP_ID"  # it differs per installation, like the base URL
    recent_posts: int = Field(default=20, ge=1, le=100)  # the newest posts whose comments are walked
    page_size: int = Field(default=100, ge=1, le=100)  # comments per request, and per landed page


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the wall's comments with ids above ``cursor``, in ascending id."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    if not secret:
        raise PullError(f"{channel.id}: no access token; set {secret_name(channel) or 'the channel secret'}")
    log = log or logging.getLogger(__name__)
    group_id = _group_id(channel, options)
    with answer_hooks(client) as http:
        wall = _Wall(channel, options, group_id, base_url.rstrip("/"), secret, http, sleep, log)
        return drive(channel, cursor=cursor, land=land, pages=wall.pages, secret=secret, log=log)


def _group_id(channel: Channel, options: Options) -> int:
    if options.group_id is not None:
        return options.group_id
    value = os.environ.get(options.group_id_env or "", "")
    if not value.strip().lstrip("-").isdigit():
        raise PullError(
            f"{channel.id}: no VK community id: set extraction.options.group_id or the environment variable "
            f"{options.group_id_env} (the number of club<id>)"
        )
    return abs(int(value))


class _Wall:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        group_id: int,
        base_url: str,
        token: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.group_id, self.base_url = channel, options, group_id, base_url
        self.token, self.http, self.sleep, self.log = token, http, sleep, log
        self.redact = redactor(token)

    def pages(self, cursor: str | None) -> Iterator[Page]:
        after = _after(self.channel.id, cursor)
        started = self.call("utils.getServerTime", {})
        if not isinstance(started, int):
            raise PullError(f"{self.channel.id}: utils.getServerTime answered {started!r}, not a Unix time")
        fresh = sorted(
            (c for c in self._comments() if c["id"] > after and c.get("date", 0) < started),
            key=lambda comment: comment["id"],
        )
        uri = f"{self.base_url}/method/wall.getComments?owner_id={-self.group_id}&v={self.options.api_version}"
        size = self.options.page_size
        for chunk in (fresh[start : start + size] for start in range(0, len(fresh), size)):
            first, last = chunk[0]["id"], chunk[-1]["id"]
            events = [self._event(comment) for comment in chunk]
            yield Page(json_lines(events), uri, f"comments-{first}-{last}", len(events), str(last), "jsonl")

    def _comments(self) -> Iterator[dict[str, Any]]:
        """Every comment written by people under the recent posts, replies in threads included."""
        wall = self.call("wall.get", {"owner_id": -self.group_id, "count": self.options.recent_posts})
        for post in _items(wall):
            if (post.get("comments") or {}).get("count", 0) <= 0:
                continue
            for comment in self._post_comments(post["id"]):
                if comment.get("from_id", 0) > 0 and not comment.get("deleted") and isinstance(comment.get("id"), int):
                    yield comment | {"post_id": post["id"]}

    def _post_comments(self, post_id: int) -> Iterator[dict[str, Any]]:
        for comment in self._pages_of(post_id, None):
            yield comment
            thread = comment.get("thread") or {}
            replies = thread.get("items") or []
            if thread.get("count", 0) > len(replies):  # a long thread: its own pages
                replies = list(self._pages_of(post_id, comment["id"]))
            yield from replies

    def _pages_of(self, post_id: int, comment_id: int | None) -> Iterator[dict[str, Any]]:
        """The comments of a post (``comment_id`` None) or the replies of one comment, page by page."""
        params: dict[str, Any] = {"owner_id": -self.group_id, "post_id": post_id, "sort": "asc"}
        params |= {"count": self.options.page_size, "preview_length": 0}
        params |= {"comment_id": comment_id} if comment_id else {"thread_items_count": THREAD_ITEMS}
        offset, seen = 0, set()
        while True:
            answer = self.call("wall.getComments", params | {"offset": offset})
            items = _items(answer)
            if not items:  # nothing (more): all deleted, or the comments were closed
                return
            ids = {item.get("id") for item in items}
            if ids <= seen:
                raise PullError(
                    f"{self.channel.id}: wall.getComments of post {post_id} answered the same comments for offset "
                    f"{offset} as before (the cursor does not advance: is offset ignored?); nothing more landed"
                )
            seen |= ids
            yield from items
            offset += len(items)
            if offset >= answer.get("current_level_count", answer.get("count", 0)):
                return

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One VK API method: its ``response``, after the retries VK's errors allow."""
        url = f"{self.base_url}/method/{method}"
        form = {**params, "v": self.options.api_version, "access_token": self.token}
        response = fetch(
            self.http,
            Request("POST", url, form=form),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            check=self._check,
            secret_name=secret_name(self.channel),
        )
        shown = f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}"  # without the token
        label = f"{method}-{params.get('post_id', 'wall')}-{params.get('offset', 0)}"
        document = json_answer(response, source_uri=shown, label=label, extension="jsonl")
        if not isinstance(document, dict) or "response" not in document:
            raise PullError(f"{self.channel.id}: {shown} is not a VK API answer (no 'response'); nothing more landed")
        return document["response"]

    def _check(self, response: httpx.Response) -> None:
        """VK answers its errors with HTTP 200: retry what is transient, stop on the rest."""
        try:
            error = json.loads(response.content).get("error")
        except (ValueError, AttributeError):  # not JSON (NotAPage later), or not an object
            return
        if not isinstance(error, dict):
            return
        code, text = error.get("error_code"), str(error.get("error_msg", ""))
        said = f"VK error {code} {text!r}"
        if code in RETRIED:
            raise RetryLater(said, RETRIED[code])
        channel = self.channel.id
        if code == 29:
            spent = "the method's daily quota is spent; the cursor has not moved"
            raise PullError(f"{channel}: {said}: {spent}", retryable=True)
        if code in AUTH_FAILED:
            named = secret_name(self.channel) or "the channel's secret"
            raise PullError(f"{channel}: {said}: the access token was refused: renew {named}, the cursor has not moved")
        if code in NO_ACCESS:
            raise PullError(
                f"{channel}: {said}: the token may not read the wall of community {self.group_id} or its comments "
                "(a service token reads open walls only); the cursor has not moved"
            )
        raise PullError(f"{channel}: {said}; the cursor has not moved")

    def _event(self, comment: dict[str, Any]) -> dict[str, Any]:
        owner = -self.group_id
        event_object = comment | {"owner_id": owner, "post_owner_id": owner}
        if isinstance(comment.get("thread"), dict):  # the replies land as events of their own
            event_object["thread"] = comment["thread"] | {"items": []}
        return {
            "type": "wall_reply_new",
            "object": event_object,
            "group_id": self.group_id,
            "v": self.options.api_version,
        }


def _after(channel_id: str, cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return int(cursor)
    except ValueError:
        raise PullError(f"{channel_id}: committed cursor {cursor!r} is not a comment id") from None


def _items(answer: Any) -> list[dict[str, Any]]:
    items = answer.get("items") if isinstance(answer, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
