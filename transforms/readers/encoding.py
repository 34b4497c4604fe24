"""Bytes → text for the text formats (csv, json_pages, jsonl).

With ``reader.encoding`` unset the order is: a byte-order mark (UTF-32/UTF-16 LE/BE, UTF-8),
then strict UTF-8, then cp1251 but only when the result reads as Russian text; anything else is
an ``UnreadableFile("unreadable_encoding")``. With an encoding configured, a file that does not
decode with it (or that plainly is UTF-8 or carries another encoding's BOM) is an
``UnreadableFile("encoding_mismatch")`` naming both, never silently mis-decoded text.
"""

import codecs
import re

from transforms.readers.base import UnreadableFile

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Non-ASCII characters that cp1251 text besides letters plausibly holds.
_CP1251_PUNCTUATION = set("№«»—–…‘’‚“”„•·°±§©®™\u00a0€")
MIN_CYRILLIC_SHARE = 0.8  # of the non-ASCII characters
MIN_LETTERS_FOR_CASE_CHECK = 20  # below this, too little text to judge letter case


def detect_bom(data: bytes) -> str | None:
    for bom, name in BOMS:
        if data.startswith(bom):
            return name
    return None


def _family(name: str) -> str:
    """'utf-16-le' and 'utf-16' share a family; so do 'utf-8' and 'utf-8-sig'."""
    canonical = codecs.lookup(name).name
    for family in ("utf-32", "utf-16", "utf-8"):
        if canonical.startswith(family):
            return family
    return canonical


def looks_like_russian(text: str) -> bool:
    """True when the non-ASCII characters are (almost all) Cyrillic and mostly lower-case.

    The case check tells cp1251 from KOI8-R bytes decoded as cp1251: KOI8-R puts lower-case
    letters where cp1251 has upper-case ones, so mis-decoded Russian comes out SHOUTING.
    """
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if not non_ascii:
        return True
    letters = [ch for ch in non_ascii if _CYRILLIC.match(ch)]
    if not letters:
        return False
    plausible = len(letters) + sum(ch in _CP1251_PUNCTUATION for ch in non_ascii)
    if plausible / len(non_ascii) < MIN_CYRILLIC_SHARE:
        return False
    if len(letters) >= MIN_LETTERS_FOR_CASE_CHECK:
        lower = sum(ch.islower() for ch in letters)
        return lower / len(letters) >= 0.5
    return True


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Decode a whole file; raise UnreadableFile rather than return mis-decoded text."""
    bom = detect_bom(data)
    if encoding is not None:
        return _decode_configured(data, encoding, bom)
    if bom is not None:
        try:
            return _strip_bom(data.decode(bom))
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                "unreadable_encoding", f"the file starts with a {bom} byte-order mark but is not {bom}: {exc}"
            ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            text = None
        if text is not None and looks_like_russian(text):
            return text
        raise UnreadableFile(
            "unreadable_encoding",
            f"not UTF-8 (byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start}) and not "
            "Russian text in cp1251; set reader.encoding for this channel",
        ) from utf8_error


def _decode_configured(data: bytes, encoding: str, bom: str | None) -> str:
    try:
        family = _family(encoding)
    except LookupError as exc:
        raise UnreadableFile("encoding_mismatch", f"reader.encoding {encoding!r} is not a known encoding") from exc
    if bom is not None:
        if _family(bom) != family:
            raise UnreadableFile(
                "encoding_mismatch",
                f"the file starts with a {bom} byte-order mark, but the channel's reader.encoding is {encoding}",
            )
        encoding = bom  # the mark also tells the byte order
    try:
        text = _strip_bom(data.decode(encoding))
    except UnicodeDecodeError as exc:
        actual = _guess(data)
        raise UnreadableFile(
            "encoding_mismatch",
            f"the file is not {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
            + (f"; it looks like {actual}" if actual else "")
            + f", but the channel's reader.encoding is {encoding}",
        ) from exc
    if family not in ("utf-8", "utf-16", "utf-32") and not data.isascii() and _is_utf8(data):
        # A single-byte code page decodes any bytes; UTF-8 Russian read as cp1251 is mojibake.
        raise UnreadableFile("encoding_mismatch", f"the file is UTF-8, but the channel's reader.encoding is {encoding}")
    return text


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess(data: bytes) -> str | None:
    """What the file seems to be, for the error message."""
    bom = detect_bom(data)
    if bom is not None:
        return bom
    if _is_utf8(data):
        return "UTF-8"
    try:
        decode_text(data)
    except UnreadableFile:
        return None
    return "cp1251"
