"""Pull a Typeform form's completed responses after the last landed one, as the channel's CSV export.

Documentation followed:
- Responses API, retrieve responses:
  https://www.typeform.com/developers/responses/reference/retrieve-responses/
  (``GET /forms/{form_id}/responses``; ``page_size`` up to 1000; ``since`` / ``until``;
  ``after`` / ``before`` tokens, exclusive, which "could not be used together with sort parameter,
  as it sorts responses in the order that our system processed them (submitted_at). This ensures
  that you can traverse the complete set of responses without repeating entries")
- walkthroughs: https://www.typeform.com/developers/responses/walkthroughs/
- authentication: https://www.typeform.com/developers/get-started/personal-access-token/
  (``Authorization: Bearer <personal access token>``, scope ``responses:read``)
- rate limits: https://www.typeform.com/developers/get-started/#rate-limits (2 requests per second
  per account; above it HTTP 429)

Paging and the cursor: the cursor is the ``token`` of the last response landed. The first pull has
none and asks ``sort=submitted_at,asc`` (oldest first; ``since`` from the options, if set); every
later request asks ``after=<token of the last response landed>`` *without* ``sort`` (the two cannot
be combined), which walks the responses in processing order, so a response Typeform processed late
comes after the token instead of being skipped. Each page lands as one CSV batch with the token of
its last response; the pull stops at an empty page or one shorter than ``page_size``. After is
exclusive, so nothing lands twice; a page the API repeats (a token seen before in the pull) stops
the pull with a PullError instead of looping.

Columns: ``options.columns`` maps each CSV column of the channel's export, in order, to where its
value is: ``answer.<field ref>`` (the answer to the field with that ``ref``, or that ``id``),
``hidden.<name>`` (a hidden field) or ``response.<attribute>`` (``response_id``, ``token``,
``submitted_at``, ``landed_at``, ``metadata.platform``, ``calculated.score``…). An ``opinion_scale``,
``nps``, ``rating`` or ``number`` answer is its number; a ``boolean`` is ``yes`` / ``no`` (the
channel's words, options); a choice is its label; a skipped question is an empty cell.
``*_at`` attributes are converted to the channel's ``timestamp_format`` in its ``timezone``.
Requests are spaced by ``min_interval_seconds`` (the documented 2 per second) so that the puller does
not provoke the 429s it would then wait out.
"""

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator

from flows.extract.csv_page import csv_page, export_timestamp
from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from transforms.channels import Channel

__all__ = ["Options", "clock", "pull"]

clock: Callable[[], float] = time.monotonic  # spaces the requests (tests set it)

_SOURCES = ("answer", "hidden", "response")
_NUMBER_TYPES = ("number",)  # opinion_scale, nps, rating and number fields answer {"type": "number"}


class Options(RetryOptions):
    """``extraction.options`` of a channel pulled from Typeform."""

    form_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")  # the form's id, as in https://<account>.typeform.com/to/<id>
    columns: dict[str, str] = Field(min_length=1)  # CSV column -> answer.<ref> | hidden.<name> | response.<attr>
    page_size: int = Field(default=100, ge=1, le=1000)
    since: str | None = None  # first pull only: "2026-01-01T00:00:00" (UTC) or Unix seconds, inclusive
    yes_word: str = "yes"  # a boolean answer true, as the channel's export writes it
    no_word: str = "no"
    bom: bool = False  # the export starts with a UTF-8 byte-order mark
    line_terminator: Literal["\n", "\r\n"] = "\n"
    min_interval_seconds: float = Field(default=0.5, ge=0)  # 2 requests per second
    max_pages: int = Field(default=10_000, ge=1)

    @field_validator("columns")
    @classmethod
    def _known_sources(cls, columns: dict[str, str]) -> dict[str, str]:
        for column, source in columns.items():
            kind, _, name = source.partition(".")
            if kind not in _SOURCES or not name:
                raise ValueError(f"column {column!r}: {source!r} is not answer.<ref>, hidden.<name> or response.<attr>")
        return columns


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the form's responses after the token ``cursor``, a CSV page at a time (module docstring)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    if not secret:
        raise PullError(f"{channel.id}: Typeform needs a personal access token in {secret_name(channel)}")
    log = log or logging.getLogger(__name__)
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the token elsewhere
    try:
        pager = _Pager(channel, options, base_url, secret, http, sleep, log)
        return drive(channel, cursor=cursor, land=land, pages=pager.pages, secret=secret, log=log)
    finally:
        if client is None:
            http.close()


class _Pager:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        base_url: str,
        secret: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.options, self.http, self.sleep, self.log = channel, options, http, sleep, log
        self.url = f"{base_url.rstrip('/')}/forms/{options.form_id}/responses"
        self.headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
        self.redact = redactor(secret)
        self.last_request = float("-inf")

    def pages(self, cursor: str | None) -> Iterator[Page]:
        seen: set[str] = {cursor} if cursor else set()
        after = cursor
        for _ in range(self.options.max_pages):
            request = Request("GET", self.url, params=self._params(after), headers=self.headers)
            where = self.redact(public_url(self.http.build_request("GET", request.url, params=request.params).url))
            items = self._items(self._get(request), where, after)
            tokens = [_token(item, where) for item in items]
            repeated = sorted(seen.intersection(tokens))
            if repeated:
                raise PullError(
                    f"{self.channel.id}: {where} repeated response(s) {repeated} already read (does the API ignore "
                    f"`after`?); stopped at cursor {cursor!r}"
                )
            seen.update(tokens)
            yield self._page(items, tokens, where, after)
            if len(items) < self.options.page_size:
                return
            after = tokens[-1]
        self.log.warning("%s: stopped at max_pages=%d; the next pull goes on", self.channel.id, self.options.max_pages)

    def _params(self, after: str | None) -> dict[str, str]:
        params = {"page_size": str(self.options.page_size), "completed": "true"}
        if after:
            return params | {"after": after}  # `after` cannot be combined with `sort`
        params["sort"] = "submitted_at,asc"
        return params | ({"since": self.options.since} if self.options.since else {})

    def _get(self, request: Request) -> httpx.Response:
        wait = self.last_request + self.options.min_interval_seconds - clock()
        if wait > 0:
            self.sleep(wait)
        try:
            return fetch(
                self.http,
                request,
                channel_id=self.channel.id,
                spec=self.options,
                sleep=self.sleep,
                redact=self.redact,
                log=self.log,
                secret_name=secret_name(self.channel),
            )
        finally:
            self.last_request = clock()

    def _items(self, response: httpx.Response, where: str, after: str | None) -> list[dict[str, Any]]:
        label = _label(after)
        try:
            document = json.loads(response.content)
        except ValueError as exc:
            raise NotAPage(f"not JSON ({exc})", data=response.content, source_uri=where, label=label) from None
        items = document.get("items") if isinstance(document, dict) else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise NotAPage("no list of responses at `items`", data=response.content, source_uri=where, label=label)
        return items

    def _page(self, items: list[dict[str, Any]], tokens: list[str], where: str, after: str | None) -> Page:
        rows = [[self._cell(item, source) for source in self.options.columns.values()] for item in items]
        data = csv_page(
            self.channel,
            list(self.options.columns),
            rows,
            line_terminator=self.options.line_terminator,
            bom=self.options.bom,
        )
        return Page(
            data=data,
            source_uri=where,
            label=_label(after),
            records=len(items),
            cursor_after=tokens[-1] if tokens else None,
            extension="csv",
        )

    def _cell(self, item: dict[str, Any], source: str) -> str:
        kind, _, name = source.partition(".")
        if kind == "hidden":
            return _text((item.get("hidden") or {}).get(name))
        if kind == "response":
            value = _dig(item, name)
            if name.rsplit(".", 1)[-1].endswith("_at") and isinstance(value, str) and value:
                return self._timestamp(value)
            return _text(value)
        answer = next((a for a in item.get("answers") or [] if _answers(a, name)), None)
        return self._answer_text(answer) if answer is not None else ""

    def _timestamp(self, value: str) -> str:
        try:
            return export_timestamp(datetime.fromisoformat(value), self.channel)
        except ValueError:  # not ISO 8601: kept as sent, for staging to flag
            return value

    def _answer_text(self, answer: dict[str, Any]) -> str:
        kind = answer.get("type")
        value = answer.get(kind) if isinstance(kind, str) else None
        if kind == "boolean":
            return self.options.yes_word if value else self.options.no_word
        if kind == "choice" and isinstance(value, dict):
            return _text(value.get("label") or value.get("other"))
        if kind == "choices" and isinstance(value, dict):
            return ", ".join([*value.get("labels", []), *([value["other"]] if value.get("other") else [])])
        return _text(value)


def _answers(answer: Any, name: str) -> bool:
    field = answer.get("field") if isinstance(answer, dict) else None
    return isinstance(field, dict) and name in (field.get("ref"), field.get("id"))


def _token(item: dict[str, Any], where: str) -> str:
    token = item.get("token") or item.get("response_id")
    if not isinstance(token, str) or not token:
        raise PullError(f"{where}: a response without a token: {sorted(item)}")
    return token


def _dig(node: Any, path: str) -> Any:
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _label(after: str | None) -> str:
    return f"after-{re.sub(r'[^A-Za-z0-9._-]', '_', after)[:64]}" if after else "after-start"
