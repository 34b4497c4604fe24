"""What a file plainly is, for the error of a reader that was sent the wrong format.

A JSON, JSON Lines or CSV reader that fails on a file (or, for CSV, that would read anything as
rows) says what the file looks like instead of only where its parser stopped::

    XML sent to a JSON reader: the file starts with '<?xml'

``wrong_format_bytes`` looks at the first bytes for binary containers (an XLSX workbook or another
ZIP archive, gzip, PDF), before any decoding; ``wrong_format_text`` at the first non-blank
characters of the decoded text for markup (XML, HTML), JSON and e-mail. Only unmistakable starts
count: a CSV whose first header is ``<id>`` is still read as a CSV (markup needs a closing tag).
"""

import re

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an XLSX workbook or another ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"%PDF-", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or other OLE2 file"),
)
_SHOWN_CHARS = 20
_EMAIL_HEADER = re.compile(r"(?i)(return-path|received|from|message-id|mime-version|delivered-to|subject|date):[ \t]")


def wrong_format_bytes(data: bytes, reader: str) -> str | None:
    """``"a PDF document sent to a CSV reader: the file starts with '%PDF-'"``, or None."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return f"{what} sent to a {reader} reader: the file starts with {_shown(magic.decode('latin-1'))}"
    return None


def wrong_format_text(text: str, reader: str) -> str | None:
    """What ``text`` plainly is when it is no ``reader`` file (JSON, JSON Lines, CSV), or None."""
    start = text.lstrip("\ufeff \t\r\n")[:200]
    what = _markup(start)
    if what is None and reader == "CSV" and start[:1] in "{[" and start.rstrip()[:2] not in ("{}", "[]"):
        what = "JSON" if re.match(r'[\[{]\s*["{\[\]}0-9-]', start) else None
    if what is None and reader != "CSV" and _is_email(start):
        what = "an e-mail message"
    if what is None and reader != "CSV" and start.startswith("From ") and "\n" in start:
        what = "an mbox mailbox"
    if what is None:
        return None
    return f"{what} sent to a {reader} reader: the file starts with {_shown(start)}"


def _markup(start: str) -> str | None:
    lowered = start[:15].lower()
    if lowered.startswith("<?xml"):
        return "XML"
    if lowered.startswith(("<!doctype html", "<html")):
        return "HTML"
    if re.match(r"<(!--|!doctype)", lowered) or (
        re.match(r"<[a-zA-Z][\w:.-]*[\s>/]", start) and ("</" in start or "/>" in start)
    ):
        return "XML or HTML"
    return None


def _is_email(start: str) -> bool:
    return bool(_EMAIL_HEADER.match(start))


def _shown(start: str) -> str:
    """The file's first tag when it is short ('<!DOCTYPE html>'), else its name ('<?xml'); or its first characters."""
    first = start.split("\n", 1)[0].rstrip("\r")
    if not first.startswith("<"):
        return repr(first[:_SHOWN_CHARS])
    tag = first[: first.find(">") + 1] if ">" in first else ""
    return repr(tag if 0 < len(tag) <= _SHOWN_CHARS else first[:_SHOWN_CHARS].split(" ", 1)[0])
