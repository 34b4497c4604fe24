"""Pull the IVR survey answers of a Mango Office virtual PBX from its call statistics, as the channel's CSV.

Documentation followed: the VPBX API reference, v1.9
(https://www.mango-office.ru/upload/api/MangoOffice_VPBX_API_v1.9.pdf), section "Статистика
вызовов": every call is ``POST <base>/vpbx/<method>`` with the form fields ``vpbx_api_key``,
``sign`` = hex SHA-256 of ``vpbx_api_key + json + vpbx_api_salt`` and ``json`` (the parameters).

1. ``POST /vpbx/stats/request``, ``json`` = ``{"date_from", "date_to"`` (Unix seconds),
   ``"fields"`` (the columns wanted, comma-separated), ``"request_id"}`` → ``{"key": "..."}``;
2. ``POST /vpbx/stats/result``, ``json`` = ``{"key"}`` → HTTP 204 while the report is being built
   (asked again after ``poll_seconds``, at most ``max_polls`` times), then HTTP 200 with the report:
   one call per line, the requested fields in order, ``;``-separated, no header.

An answer carrying ``{"result": <code>}`` without a key is an API error (3xxx: bad parameters, a
rejected key or sign); it stops the pull naming the code. A key or sign the API refuses with HTTP
401 or 403 names the secret to renew.

**The survey score is not among the documented fields** (records, start, finish, answer,
from_extension, from_number, to_extension, to_number, disconnect_reason, line_number, location,
create, entry_id). Assumed here: the account's IVR survey writes the digit the caller pressed into
a call field of the account's configuration, which ``options.score_field`` names (and the operator's
note into ``options.comment_field``, if any); the puller requests those fields with the documented
ones. Calls with neither a score nor a note are not survey answers and are left out.

Windows and the cursor: the cursor is the end of the period taken, in Unix seconds; the period
is ``[cursor, end)``, asked as ``date_from=cursor``, ``date_to=end - 1`` (both inclusive). A pull
takes consecutive windows of at most ``window_hours`` up to ``now - settle_minutes`` (a call still
being built into the statistics is never cut off), the first pull starting ``initial_lookback_hours``
back. Each window with answers lands as one CSV page (cp1251, ``;``, ``ИД звонка;Дата;Время;…`` with
the Moscow date and time, as the channel's export) with its end as the cursor.

**An empty window moves the cursor too.** Empty windows before a window with answers are passed
by that window's cursor; empty windows at the end of a pull are committed by landing the export's
header alone (0 records) with the end of the last one: the first time as a batch of no records,
later by its identical bytes as "already landed", which still moves the cursor. So a silent line is
never asked again, and nothing is lost: a window is only asked once it is ``settle_minutes`` in the
past, when the PBX has written every call that started in it.

The secret is one environment variable (or Secret block) holding ``<vpbx_api_key>:<vpbx_api_salt>``
(the key has no ``:``); neither part leaves the puller (logs, pages and errors are redacted).
"""

import csv
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import Field

from flows.extract.csv_page import csv_page, export_timestamp
from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, redactor, secret_name
from flows.extract.http_pull import Land, PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from transforms.channels import Channel

__all__ = ["Options", "clock", "pull", "sign"]

clock: Callable[[], float] = time.time  # "now" in Unix seconds (tests set it)


class Options(RetryOptions):
    """``extraction.options`` of a channel pulled from Mango Office call statistics."""

    score_field: str = Field(min_length=1)  # the call field the IVR survey writes the pressed digit into
    comment_field: str | None = None  # the call field with the operator's note; None: the column stays empty
    call_id_field: str = "entry_id"
    start_field: str = "start"  # Unix seconds
    phone_field: str = "from_number"
    window_hours: int = Field(default=24, ge=1, le=24 * 31)
    settle_minutes: int = Field(default=30, ge=0)
    initial_lookback_hours: int = Field(default=24 * 7, ge=1)
    poll_seconds: float = Field(default=5, ge=0)
    max_polls: int = Field(default=60, ge=1)
    date_format: str = "%d.%m.%Y"  # the export's date column; with time_format, the channel's timestamp_format
    time_format: str = "%H:%M:%S"
    line_terminator: Literal["\n", "\r\n"] = "\r\n"

    @property
    def requested_fields(self) -> list[str]:
        wanted = [self.call_id_field, self.start_field, self.phone_field, self.score_field, self.comment_field]
        return list(dict.fromkeys(name for name in wanted if name))


def sign(key: str, payload: str, salt: str) -> str:
    """The request signature of the reference: hex SHA-256 of key + json + salt."""
    return hashlib.sha256((key + payload + salt).encode("utf-8")).hexdigest()


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the survey answers of the settled windows after ``cursor`` (module docstring)."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    key, salt = _credentials(channel, secret)
    log = log or logging.getLogger(__name__)
    http = client or httpx.Client(follow_redirects=False)
    try:
        stats = _Stats(channel, options, base_url, key, salt, http, sleep, log, redactor(secret, key, salt))
        summary = drive(
            channel, cursor=cursor, land=land, pages=stats.pages, secret=secret, extra_secrets=(key, salt), log=log
        )
        if stats.quiet is not None:
            _pass_quiet_windows(channel, stats, stats.quiet, summary, land)
        return summary
    finally:
        if client is None:
            http.close()


def _credentials(channel: Channel, secret: str | None) -> tuple[str, str]:
    key, colon, salt = (secret or "").partition(":")
    if not (key and colon and salt):
        raise PullError(f"{channel.id}: Mango Office needs '<vpbx_api_key>:<vpbx_api_salt>' in {secret_name(channel)}")
    return key, salt


@dataclass(frozen=True)
class _Window:
    start: int  # inclusive, Unix seconds
    end: int  # exclusive: the cursor after this window

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


class _Stats:
    def __init__(
        self,
        channel: Channel,
        options: Options,
        base_url: str,
        key: str,
        salt: str,
        http: httpx.Client,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
        redact: Callable[[str], str],
    ) -> None:
        self.channel, self.options, self.http, self.sleep, self.log, self.redact = (
            channel,
            options,
            http,
            sleep,
            log,
            redact,
        )
        self.base = base_url.rstrip("/") + "/vpbx"
        self.key, self.salt = key, salt
        self.header = _header(channel)
        self.quiet: _Window | None = None  # the empty windows after the last landed page

    def pages(self, cursor: str | None) -> Iterator[Page]:
        for window in self.windows(cursor):
            rows = self.report(window)
            if rows:
                self.quiet = None
                yield Page(
                    data=self.export(rows),
                    source_uri=self.where(window),
                    label=window.label,
                    records=len(rows),
                    cursor_after=str(window.end),
                    extension="csv",
                )
            else:
                self.quiet = _Window(self.quiet.start if self.quiet else window.start, window.end)

    def windows(self, cursor: str | None) -> Iterator[_Window]:
        limit = int(clock()) - self.options.settle_minutes * 60
        start = _cursor_seconds(self.channel, cursor) if cursor else limit - self.options.initial_lookback_hours * 3600
        span = self.options.window_hours * 3600
        while start < limit:
            end = min(start + span, limit)
            yield _Window(start, end)
            start = end

    def report(self, window: _Window) -> list[list[str]]:
        """The survey rows of ``window``: ask for the report, wait until it is built, read it."""
        payload = {
            "date_from": window.start,
            "date_to": window.end - 1,
            "fields": ",".join(self.options.requested_fields),
            "request_id": f"{self.channel.id}-{window.label}",
        }
        answer = self.post("stats/request", payload)
        document = _json_of(answer)
        report_key = document.get("key") if isinstance(document, dict) else None
        if not isinstance(report_key, str) or not report_key:
            self.refuse(answer, document, window)
        for _ in range(self.options.max_polls):
            result = self.post("stats/result", {"key": report_key})
            if result.status_code != 204:
                return self.rows(result, window)
            self.sleep(self.options.poll_seconds)
        raise PullError(
            f"{self.channel.id}: the report of {window.label} was not ready after {self.options.max_polls} polls "
            f"of {self.options.poll_seconds:g} s; the cursor stays before it",
            retryable=True,
        )

    def post(self, method: str, parameters: dict[str, Any]) -> httpx.Response:
        payload = json.dumps(parameters, separators=(",", ":"), ensure_ascii=False)
        form = {"vpbx_api_key": self.key, "sign": sign(self.key, payload, self.salt), "json": payload}
        return fetch(
            self.http,
            Request("POST", f"{self.base}/{method}", form=form),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            secret_name=secret_name(self.channel),
        )

    def refuse(self, answer: httpx.Response, document: Any, window: _Window) -> None:
        if isinstance(document, dict) and "result" in document:
            message = self.redact(str(document.get("message", "")))
            raise PullError(
                f"{self.channel.id}: stats/request for {window.label} was refused: result {document['result']}"
                + (f" ({message})" if message else "")
                + "; the cursor has not moved"
            )
        raise NotAPage(
            "stats/request answered without a report key",
            data=answer.content,
            source_uri=self.where(window),
            label=f"{window.label}-request",
            extension="txt",
        )

    def rows(self, result: httpx.Response, window: _Window) -> list[list[str]]:
        """The report's calls as export rows; a report that is not the requested CSV is not a page."""
        fields = self.options.requested_fields
        try:
            text = result.content.decode("utf-8")
            table = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") if any(row)]
        except (UnicodeDecodeError, csv.Error) as exc:
            table, problem = [], f"unreadable report ({exc})"
        else:
            problem = _report_problem(table, fields, fields.index(self.options.start_field))
        if problem:
            raise NotAPage(
                problem, data=result.content, source_uri=self.where(window), label=window.label, extension="txt"
            )
        return self.survey_rows([dict(zip(fields, row, strict=True)) for row in table])

    def survey_rows(self, calls: list[dict[str, str]]) -> list[list[str]]:
        options, rows, seen = self.options, [], set()
        for call in calls:
            score = call[options.score_field].strip()
            note = call[options.comment_field].strip() if options.comment_field else ""
            call_id = call[options.call_id_field].strip()
            if not (score or note) or call_id in seen:
                continue  # not a survey answer, or a second line of the same call
            seen.add(call_id)
            started = datetime.fromtimestamp(int(call[options.start_field]), UTC)
            rows.append(
                [
                    call_id,
                    export_timestamp(started, self.channel, options.date_format),
                    export_timestamp(started, self.channel, options.time_format),
                    call[options.phone_field].strip(),
                    score,
                    note,
                ]
            )
        return rows

    def export(self, rows: list[list[str]]) -> bytes:
        return csv_page(self.channel, self.header, rows, line_terminator=self.options.line_terminator)

    def where(self, window: _Window) -> str:
        url = public_url(f"{self.base}/stats/request")
        return self.redact(f"{url}#date_from={window.start}&date_to={window.end - 1}")


def _report_problem(table: list[list[str]], fields: list[str], start_at: int) -> str:
    """Why ``table`` is not the report asked for ("" when it is)."""
    for number, row in enumerate(table, start=1):
        if len(row) != len(fields):
            return f"line {number} has {len(row)} cells where {len(fields)} fields ({','.join(fields)}) were asked"
        if not row[start_at].strip().isdigit():
            return f"line {number}: the call start {row[start_at]!r} is not Unix seconds"
    return ""


def _header(channel: Channel) -> list[str]:
    """The export's columns, named by the channel's own mapping (ИД звонка;Дата;Время;Номер телефона;…)."""
    fields = channel.fields
    try:
        call_id, received, phone, score, note = (
            fields[name] for name in ("source_item_id", "received_at", "contact_phone", "score", "body_text")
        )
    except KeyError as exc:
        raise PullError(f"{channel.id}: the Mango Office puller needs fields.{exc.args[0]} mapped") from None
    if not (isinstance(received, list) and len(received) == 2):
        raise PullError(f"{channel.id}: the Mango Office puller needs fields.received_at as [date column, time column]")
    names = [call_id, *received, phone, score, note]
    if not all(isinstance(name, str) for name in names):
        raise PullError(f"{channel.id}: the Mango Office puller needs one column per field")
    return [str(name) for name in names]


def _json_of(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _cursor_seconds(channel: Channel, cursor: str) -> int:
    try:
        return int(cursor)
    except ValueError:
        raise PullError(f"{channel.id}: committed cursor {cursor!r} is not Unix seconds") from None


def _pass_quiet_windows(channel: Channel, stats: _Stats, quiet: _Window, summary: PullSummary, land: Land) -> None:
    """Commit the cursor past the empty windows at the end of the pull (module docstring)."""
    outcome = land(
        stats.export([]),
        source_uri=stats.where(quiet),
        source_file=f"{channel.id}/pull-{quiet.label}-no-answers.csv",
        cursor_before=summary.last_cursor,
        cursor_after=str(quiet.end),
    )
    if outcome.status == "quarantined":
        raise PullError(f"{channel.id}: the empty export was quarantined ({outcome.reason}: {outcome.detail})")
    if outcome.status == "skipped":
        summary.pages_skipped += 1
    else:
        summary.pages_landed += 1
    summary.last_cursor = str(quiet.end)
    summary.stopped = f"no survey answers in {quiet.label}"
