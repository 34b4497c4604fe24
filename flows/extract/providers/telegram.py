"""Pull a Telegram bot's updates with ``getUpdates`` (Bot API) and land them as JSON Lines.

Follows https://core.telegram.org/bots/api#getupdates and #making-requests:
``GET <base>/bot<token>/getUpdates?offset=&limit=&timeout=&allowed_updates=`` answers
``{"ok": true, "result": [Update, ...]}`` in ascending ``update_id``; an error is
``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}`` with the same HTTP
status (401 Unauthorized: the token; 409 Conflict: a webhook is set, or another ``getUpdates`` runs;
429 Too Many Requests: wait ``parameters.retry_after`` seconds).

- **The token is the secret, and it sits in the URL path.** It never leaves the pull: the page loop
  redacts log lines (httpx logs every URL), ledger ``source_uri`` (``.../bot***/getUpdates?...``),
  landed bytes and errors (flows/extract/pages.py).
- **Cursor = the last ``update_id`` landed.** A request with ``offset`` = cursor + 1 is Telegram's
  acknowledgement: the updates before it are forgotten by Telegram. Each answer is landed (with its
  cursor, in one transaction) *before* the next request acknowledges it, so a crash loses nothing;
  the last answer of a pull is acknowledged by the next pull's first request. Telegram keeps
  unacknowledged updates for 24 hours only: a bot not pulled for a day loses the older ones.
- **One answer, one page**: its updates as JSON Lines (one Update per line, as the ``telegram_bot``
  channel's jsonl reader reads a landed file). The pull stops at an answer with fewer than ``limit``
  updates (nothing more is waiting; with ``long_poll_seconds`` > 0 asking again would only wait).
- **Which updates**: ``allowed_updates`` (an option; ``["message"]`` as shipped, since the channel maps
  ``message.text``, ``message.caption``, ``message.sticker.emoji``). Telegram remembers the list for
  the bot. Updates of other types, when they come anyway (an earlier setting, ``null`` here), land
  like the rest and the cursor passes them; staging rejects them (``missing_field``: they have no
  ``message.date``), which keeps them visible in the quarantine counts instead of dropped unseen.
- Guards: an answer holding an ``update_id`` below the offset asked (an API or proxy that ignores
  ``offset``) stops the pull before landing it; an answer that is not JSON lands (the jsonl reader
  quarantines it) and stops the pull, cursor unmoved; JSON of another shape stops
  it without landing (its line would pass for a record).
"""

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

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
from flows.extract.pages import Page, drive
from flows.extract.providers._json_api import answer_hooks, json_answer, json_lines
from transforms.channels import Channel

__all__ = ["Options", "pull"]


class Options(RetryOptions):
    """``extraction.options`` of a channel pulled with getUpdates."""

    limit: int = Field(default=100, ge=1, le=100)  # updates per answer (Bot API: 1-100)
    long_poll_seconds: int = Field(default=0, ge=0, le=50)  # getUpdates ``timeout``; 0: short polling
    allowed_updates: tuple[str, ...] | None = ("message",)  # None: what the bot was set to receive before
    max_pages: int = Field(default=1000, ge=1)  # a guard against an API that never runs dry


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the bot's updates after ``cursor`` (the last update_id landed), acknowledging each after it landed."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    if not secret:
        raise PullError(f"{channel.id}: no bot token; set {secret_name(channel) or 'the channel secret'}")
    log = log or logging.getLogger(__name__)
    with answer_hooks(client, _telegram_errors(channel)) as http:
        updates = _Updates(channel, options, base_url, secret, http, sleep, log)
        return drive(channel, cursor=cursor, land=land, pages=updates.pages, secret=secret, log=log)


def _telegram_errors(channel: Channel) -> Callable[[httpx.Response], None]:
    """Telegram's own explanations of 429 (the wait is in the body) and 409 (a webhook is set)."""

    def hook(response: httpx.Response) -> None:
        if response.status_code not in (409, 429):
            return
        response.read()
        error = _error_body(response)
        description = str(error.get("description") or response.reason_phrase)
        if response.status_code == 429:
            retry_after = (error.get("parameters") or {}).get("retry_after")
            if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
                raise RetryLater(f"HTTP 429 {description}", float(retry_after))
            raise RetryLater(f"HTTP 429 {description}", retry_after_seconds(response.headers.get("Retry-After")))
        if "webhook" in description.lower():
            raise PullError(
                f"{channel.id}: getUpdates answered HTTP 409 ({description}): a webhook is set for this bot, and "
                "Telegram delivers updates either to a webhook or to getUpdates. Call deleteWebhook to pull, or "
                "receive this channel through the webhook receiver instead; the cursor has not moved"
            )
        raise PullError(
            f"{channel.id}: getUpdates answered HTTP 409 ({description}): another process is polling this bot "
            "(only one getUpdates may run at a time); the cursor has not moved"
        )

    return hook


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _Updates:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        base_url: str,
        token: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.http, self.sleep, self.log = channel, options, http, sleep, log
        self.url = f"{base_url.rstrip('/')}/bot{token}/getUpdates"
        self.redact = redactor(token)
        # the answer may take as long as the long poll, and then some
        self.policy = options.model_copy(
            update={"timeout_seconds": options.timeout_seconds + options.long_poll_seconds}
        )

    def pages(self, cursor: str | None) -> Iterator[Page]:
        offset = _offset(self.channel.id, cursor)
        for _ in range(self.options.max_pages):
            params = self._params(offset)
            response = fetch(
                self.http,
                Request("GET", self.url, params=params),
                channel_id=self.channel.id,
                spec=self.policy,
                sleep=self.sleep,
                redact=self.redact,
                log=self.log,
                secret_name=secret_name(self.channel),
            )
            uri = public_url(self.http.build_request("GET", self.url, params=params).url)
            label = f"offset-{offset if offset is not None else 'start'}"
            updates = _result(response, uri, label)
            if not updates:
                return
            last = self._last_update_id(updates, offset, uri)
            yield Page(json_lines(updates), uri, label, len(updates), str(last), extension="jsonl")
            if len(updates) < self.options.limit:
                return
            offset = last + 1  # acknowledges what was just landed
        self.log.warning(
            "%s: stopped after extraction.options.max_pages=%d answers", self.channel.id, self.options.max_pages
        )

    def _params(self, offset: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": self.options.limit, "timeout": self.options.long_poll_seconds}
        if offset is not None:
            params["offset"] = offset
        if self.options.allowed_updates is not None:
            params["allowed_updates"] = json.dumps(list(self.options.allowed_updates))
        return params

    def _last_update_id(self, updates: list[dict[str, Any]], offset: int | None, uri: str) -> int:
        ids = [update.get("update_id") for update in updates]
        numbers = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
        if len(numbers) != len(ids):
            raise PullError(f"{self.channel.id}: {uri} holds an update without an integer update_id; nothing landed")
        if offset is not None and min(numbers) < offset:
            raise PullError(
                f"{self.channel.id}: {uri} returned update {min(numbers)} below the offset {offset} it was asked for "
                f"(the cursor does not advance: is offset ignored?); stopped at cursor {str(offset - 1)!r}"
            )
        return max(numbers)


def _offset(channel_id: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor) + 1
    except ValueError:
        raise PullError(f"{channel_id}: committed cursor {cursor!r} is not an update_id") from None


def _result(response: httpx.Response, uri: str, label: str) -> list[dict[str, Any]]:
    """The answer's updates. Not JSON: NotAPage (it lands, its lines are rejected by the reader). JSON
    of another shape: PullError, nothing landed (a JSON line would land as a record of the channel)."""
    document = json_answer(response, source_uri=uri, label=label, extension="jsonl")
    result = document.get("result") if isinstance(document, dict) and document.get("ok") is True else None
    if not isinstance(result, list) or not all(isinstance(update, dict) for update in result):
        raise PullError(
            f'{uri} is not a getUpdates answer ({{"ok": true, "result": [Update, ...]}} expected); nothing landed'
        )
    return result
