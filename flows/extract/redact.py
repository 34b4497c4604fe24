"""Hide a pull's secrets in everything meant for people: log lines, error messages, CLI output.

A secret does not only come back as written. An API that echoes a request (an error body, a
``Location``, a "links.self") writes it JSON-escaped (``https:\\/\\/portal...``, PHP's
``json_encode``), URL-encoded (``quote``, ``quote_plus``, upper- or lower-case hex), as a Basic
header's base64, HTML-escaped, or cut short (an excerpt of 300 characters). ``Redactor`` replaces
with ``***``, ignoring ASCII case (a server may lower-case a URL or its escapes):

- every *form* of each secret: as is (and without a trailing ``/``), as httpx writes a URL,
  JSON-escaped with and without ``\\/``, ``quote`` (safe ``/`` and safe nothing, and twice),
  ``quote_plus``, HTML-escaped, and base64 (standard and URL-safe, what a Basic header carries);
- every *part of 8 or more characters* of the secret's distinctive material, in the same forms: the
  whole secret, or for a URL (a Bitrix24 inbound webhook, ``https://<portal>/rest/<user>/<token>/``,
  is the secret *and* the base URL) its user info, path segments, query values and fragment, each on
  its own: the scheme and host are not secret, and masking them would hide every URL of the portal.
  A part shorter than 8 characters is not distinctive (``rest``, a user id ``1``) and is left alone.

Parts are found in one pass over the text: any substring of 8 or more characters of a string holds
one of its 8-character substrings, so the text's 8-character windows are looked up in the set of
the material's 8-character substrings (linear in the text and in the secret), and the union of the
windows found is replaced. ``redacting_logs`` puts a redactor in front of loggers for the length
of a pull (httpx logs every request URL at INFO); ``scrub_exception`` redacts an exception that is
about to leave the pull (and everything chained to it) in place, so Prefect stores no secret in a
state message, a log record or an event; ``Redactor.redact_bytes`` takes the whole forms and parts
(not pieces, which could be data) out of a page before it lands.
"""

import base64
import html
import json
import logging
import re
import string
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import httpx

MASK = "***"
MIN_PART = 8  # a part of a secret this long or longer is hidden wherever it appears
# Loggers that write request URLs or connection details of the pull's HTTP client.
HTTP_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


def _json_forms(text: str) -> set[str]:
    escaped = {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}
    return escaped | {form.replace("/", "\\/") for form in escaped}


def _url_forms(text: str) -> set[str]:
    encoded = {quote(text, safe=""), quote(text), quote_plus(text), quote_plus(text, safe="/")}
    return encoded | {quote(quote(text, safe=""), safe="")}  # a URL carried inside another URL's query


def spellings(text: str) -> set[str]:
    """``text`` as it may be echoed: as is, JSON-escaped, URL-encoded, HTML-escaped."""
    return {text, html.escape(text)} | _json_forms(text) | _url_forms(text)


def _base64_forms(text: str) -> set[str]:
    raw = text.encode()
    return {base64.b64encode(raw).decode("ascii"), base64.urlsafe_b64encode(raw).decode("ascii")}


def distinctive_parts(secret: str) -> list[str]:
    """What of ``secret`` identifies it: the whole, or a URL's user info, path segments, query values
    and fragment (never its scheme, host or port), each at least ``MIN_PART`` characters long."""
    parts = [secret]
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", secret):
        try:
            url = urlsplit(secret)
        except ValueError:  # not a URL after all (a bad port, brackets): keep it whole
            url = None
        if url is not None and url.netloc:
            parts = [url.username or "", url.password or "", url.fragment]
            parts += url.path.split("/")
            for key, value in parse_qsl(url.query, keep_blank_values=True):
                parts += [key, value]
    return [part for part in parts if len(part) >= MIN_PART]


class Redactor:
    """``redact(text)``: ``text`` with every form and every 8+-character part of the secrets as ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms: set[str] = set()
        material: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            forms |= _base64_forms(secret)  # a Basic header is built from the secret as it is
            for text in _as_sent(secret):
                forms |= spellings(text)
            for part in distinctive_parts(secret):
                material |= spellings(part)
            material |= _base64_forms(secret) if len(secret) >= MIN_PART else set()
        # Whole forms and whole distinctive parts are found as such, any 8-character window of the
        # material (a part cut short, glued to other text) in one pass; the union of what was found
        # is replaced. Matching ignores ASCII case (a server may lower-case a URL, or its %-escapes).
        self._forms = sorted({_fold(form) for form in forms | material if form}, key=len, reverse=True)
        self._grams = {_fold(text[i : i + MIN_PART]) for text in material for i in range(len(text) - MIN_PART + 1)}
        # in pages only what is distinctive: a short secret (a numeric client id) may be a price there
        self._byte_forms = [form.encode() for form in self._forms if form.isascii() and len(form) >= MIN_PART]

    def __call__(self, text: str) -> str:
        if not self._forms or not text:
            return text
        folded = _fold(text)  # the same length as text: spans found in it are spans of text
        spans = _occurrences(folded, self._forms) + self._windows(folded)
        return _replace(text, spans, MASK) if spans else text

    def redact_bytes(self, data: bytes) -> bytes:
        """``data`` with every whole form and every distinctive part in full replaced (ASCII forms of
        8 or more characters only: they are spelled the same in UTF-8, cp1251 and every ASCII-compatible
        encoding). For pages to land: a part cut short is left, a JSON string stays a JSON string."""
        spans = _occurrences(data.translate(_ASCII_LOWER_BYTES), self._byte_forms)
        return _replace(data, spans, MASK.encode()) if spans else data

    def _windows(self, folded: str) -> list[tuple[int, int]]:
        grams, size = self._grams, MIN_PART
        if not grams:
            return []
        return [
            (start, start + size) for start in range(len(folded) - size + 1) if folded[start : start + size] in grams
        ]


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ASCII_LOWER_BYTES = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())


def _fold(text: str) -> str:
    """ASCII letters lower-cased, nothing else: the length never changes (``str.lower`` may)."""
    return text.translate(_ASCII_LOWER)


def _occurrences(folded: Any, needles: list[Any]) -> list[tuple[int, int]]:
    spans = []
    for needle in needles:
        start = folded.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = folded.find(needle, start + 1)
    return spans


def _replace(text: Any, spans: list[tuple[int, int]], mask: Any) -> Any:
    """``text`` with each maximal run of overlapping or touching spans replaced by ``mask``."""
    pieces, last = [], 0
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        pieces += [text[last:start], mask]
        last = end
    pieces.append(text[last:])
    return text[:0].join(pieces)


def _as_sent(secret: str) -> set[str]:
    """The secret, and for a base URL the forms a request URL carries: without the trailing ``/`` (the
    path follows it, so a message reads ``***/crm.activity.list.json``) and as httpx normalizes it."""
    if not secret.startswith(("http://", "https://")):
        return {secret}
    sent = {secret.rstrip("/") or secret}
    with suppress(httpx.InvalidURL, ValueError, TypeError):  # an invalid URL: httpx cannot have sent it either
        sent.add(str(httpx.URL(secret)).rstrip("/"))
    return sent


def redactor(*secrets: str | None) -> Redactor:
    """A ``Redactor`` for the given secrets (None and empty ones are skipped)."""
    return Redactor(secrets)


class RedactingFilter(logging.Filter):
    """Formats a record's message and exception text through ``redact`` before any handler sees them."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


@contextmanager
def redacting_logs(redact: Callable[[str], str], *loggers: logging.Logger | logging.LoggerAdapter) -> Iterator[None]:
    """While inside, every record of ``loggers`` and of the HTTP client's loggers goes through ``redact``."""
    targets = {logging.getLogger(name) for name in HTTP_LOGGERS}
    for logger in loggers:
        while isinstance(logger, logging.LoggerAdapter):
            logger = logger.logger
        if isinstance(logger, logging.Logger):
            targets.add(logger)
    added = RedactingFilter(redact)
    for logger in targets:
        logger.addFilter(added)
    try:
        yield
    finally:
        for logger in targets:
            logger.removeFilter(added)


def scrub_exception(error: BaseException, redact: Callable[[str], str]) -> BaseException:
    """Redact the text arguments of ``error`` and of every exception chained to it, in place."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        with suppress(AttributeError, TypeError):  # an exception type whose args cannot be set
            current.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in current.args)
        for name in ("message", "detail", "reason"):  # httpx, werkzeug and our own errors keep text here too
            value = getattr(current, name, None)
            if isinstance(value, str):
                with suppress(AttributeError, TypeError):
                    setattr(current, name, redact(value))
        pending += [current.__cause__, current.__context__]
    return error
