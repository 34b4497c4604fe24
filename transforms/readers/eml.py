"""E-mail messages (.eml, RFC 5322): one file, one record.

``parse_message`` turns the bytes of one message into its record; this reader calls it once per
file, ``transforms.readers.mbox`` once per message of a mailbox. Record: ``message_id`` (angle
brackets dropped; a message without one gets ``"sha256:<32 hex of the message's bytes>"``,
stable across re-landings), ``date`` (the Date header as written; the normalizer parses RFC
2822), ``from_address``, ``from_name``, ``subject`` (RFC 2047 decoded), ``body`` and
``attachments_count``.

The body prefers text/plain, else text/html turned into text. It is decoded with its declared
charset (cp1251, KOI8-R, UTF-8, ...) when that gives plausible text, else with the first of the
channel's ``reader.fallback_encodings`` (default UTF-8, cp1251, KOI8-R) that does
(``transforms.readers.encoding.decode_declared``: no replacement or control characters, Russian
letters where there is Cyrillic, and the KOI8-R vs cp1251 letter-frequency test), so a KOI8-R body
labelled UTF-8 is read as KOI8-R, not staged as mojibake. A body that no candidate decodes
plausibly is ``UnreadableFile("undecodable_text")``: the .eml file is quarantined (and can be
retried after its charset is added to the fallbacks), an mbox quarantines that message. Headers
with raw 8-bit bytes (no RFC 2047) are recovered like the text formats (UTF-8, else Russian cp1251).
Attachments are not read, only counted.

Speed: the message is parsed with the ``compat32`` policy, which keeps headers as the raw text it
read, and only the four headers the record needs go through the modern policy's header parser
(``policy.default.header_fetch_parse``, exactly what ``EmailMessage.get`` calls, with each header's
class composed once: ``_parsed_header``). Parsing with
``policy.default`` instead re-parsed Content-Type and Content-Disposition on every lookup: 1.3 ms a
message, the largest cost of ingesting 100k items (BENCHMARKS.md); now ~0.2 ms. The body is chosen
by the same rules as ``EmailMessage.get_body`` (``_find_body`` below).
"""

import email
import hashlib
from collections.abc import Iterator
from email import policy
from email.message import Message
from email.policy import linesep_splitter  # what header_fetch_parse removes from a value
from functools import cache
from typing import Any

from transforms.channels.registry import ReaderOptions
from transforms.normalize.text import html_to_text
from transforms.readers.base import ReadResult, UnreadableFile
from transforms.readers.encoding import decode_declared, decode_text

DEFAULT_FALLBACKS: tuple[str, ...] = ReaderOptions().fallback_encodings
KNOWN_HEADERS = ("from", "date", "subject", "message-id", "to", "received", "mime-version")


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    record = parse_message(data, options.fallback_encodings)
    return ReadResult(records=[record], attachments_count=record["attachments_count"], record_indexes=[0])


def parse_message(data: bytes, fallbacks: tuple[str, ...] = DEFAULT_FALLBACKS) -> dict[str, Any]:
    """The record of one RFC 5322 message; UnreadableFile("not_an_email") when it is not one.

    The body is decoded with its declared charset or the first of ``fallbacks`` that gives plausible
    text; UnreadableFile("undecodable_text") when none does.
    """
    if not data.strip():
        raise UnreadableFile("not_an_email", "the message is empty")
    message = email.message_from_bytes(data, policy=policy.compat32)
    names = [name.lower() for name in message.keys()]  # noqa: SIM118 - a Message is not a dict
    if not any(name in KNOWN_HEADERS for name in names):
        raise UnreadableFile("not_an_email", "no e-mail headers (From, Date, Subject, Message-ID) found")
    body_part = _body_part(message)
    from_address, from_name = _sender(message)
    message_id = (_header(message, "Message-ID") or "").strip().strip("<>").strip()
    return {
        "message_id": message_id or f"sha256:{hashlib.sha256(data).hexdigest()[:32]}",
        "date": _header(message, "Date"),
        "from_address": from_address,
        "from_name": from_name,
        "subject": _header(message, "Subject"),
        "body": _part_text(body_part, fallbacks) if body_part is not None else None,
        "attachments_count": _count_attachments(message, body_part),
    }


def _header(message: Message, name: str) -> str | None:
    """A header's decoded text; raw 8-bit header bytes are recovered, not replaced."""
    raw = _raw(message, name)
    if raw is None:
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        # Undeclared 8-bit bytes (common in Russian mail): the policy would turn them into U+FFFD.
        text = _recover_8bit(raw)
    else:
        try:
            text = str(_parsed_header(name, raw))
        except Exception:  # the default policy's header parser can raise on badly broken headers
            text = raw
    text = " ".join(text.split())  # unfold continuation lines
    return text or None


@cache
def _header_class(name: str) -> type:
    """The class ``policy.default`` parses the header ``name`` with. Its registry composes a new class at
    every lookup (``HeaderRegistry.__getitem__``: ~0.06 ms of the ~0.44 ms a message took); this is that
    class, composed once per header name."""
    return policy.default.header_factory[name]


def _parsed_header(name: str, raw: str) -> str:
    """``policy.default.header_fetch_parse(name, raw)``, with the header's class composed once."""
    return _header_class(name)(name, "".join(linesep_splitter.split(raw)))


def _raw(message: Message, name: str) -> str | None:
    """The first ``name`` header as read (compat32 keeps the source text, 8-bit bytes as surrogates)."""
    wanted = name.lower()
    return next((str(value) for key, value in message.raw_items() if key.lower() == wanted), None)


def _recover_8bit(text: str) -> str:
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return decode_text(raw)
    except UnreadableFile:
        return raw.decode("utf-8", "replace")


def _sender(message: Message) -> tuple[str | None, str | None]:
    raw = _raw(message, "From")
    addresses: tuple = ()
    if raw is not None and not any("\udc80" <= ch <= "\udcff" for ch in raw):
        try:
            addresses = getattr(_parsed_header("From", raw), "addresses", ())
        except Exception:
            addresses = ()
    if addresses:
        return (addresses[0].addr_spec or None, addresses[0].display_name or None)
    text = _header(message, "From")
    if text is None:
        return None, None
    name, address = email.utils.parseaddr(text)
    return (address or None, name or None)


def _is_attachment(part: Message) -> bool:
    """``EmailMessage.is_attachment``: the Content-Disposition's value is ``attachment``."""
    disposition = _raw(part, "Content-Disposition")
    return disposition is not None and disposition.split(";", 1)[0].strip().lower() == "attachment"


def _find_body(part: Message, preferences: tuple[str, ...]) -> Iterator[tuple[int, Message]]:
    """``EmailMessage._find_body`` for a compat32 message: (rank, part) of each body candidate."""
    if _is_attachment(part):
        return
    maintype, subtype = part.get_content_type().split("/")
    if maintype == "text":
        if subtype in preferences:
            yield preferences.index(subtype), part
        return
    if maintype != "multipart" or not part.is_multipart():
        return
    if subtype != "related":
        for sub in part.get_payload():
            yield from _find_body(sub, preferences)
        return
    if "related" in preferences:
        yield preferences.index("related"), part
    start, candidate = part.get_param("start"), None
    if start:
        candidate = next((sub for sub in part.get_payload() if sub.get("content-id") == start), None)
    if candidate is None:
        subparts = part.get_payload()
        candidate = subparts[0] if subparts else None
    if candidate is not None:
        yield from _find_body(candidate, preferences)


def _body_part(message: Message) -> Message | None:
    """``EmailMessage.get_body(("plain", "html"))``: the best-ranked candidate, the first of a rank."""
    preferences = ("plain", "html")
    try:
        best, body = len(preferences), None
        for rank, part in _find_body(message, preferences):
            if rank < best:
                best, body = rank, part
                if rank == 0:
                    break
        return body
    except Exception:
        pass
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html") and not _is_attachment(part):
            return part
    return None


def _part_text(part: Message, fallbacks: tuple[str, ...]) -> str | None:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    try:
        text = decode_declared(payload, part.get_content_charset(), fallbacks)
    except UnreadableFile as exc:
        raise UnreadableFile(exc.reason, f"the body ({part.get_content_type()}): {exc.detail}") from None
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text


def _count_attachments(message: Message, body_part: Message | None) -> int:
    count = 0
    for part in message.walk():
        if part is body_part:
            continue
        if part.get_content_type() == "message/rfc822":
            count += 1
            continue
        if part.is_multipart():
            continue
        if _is_attachment(part) or part.get_filename() or part.get_content_maintype() != "text":
            count += 1
    return count
