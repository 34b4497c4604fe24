"""Bytes → text for the text formats (csv, json_pages, jsonl).

With ``reader.encoding`` unset the order is: a byte-order mark (UTF-32/UTF-16 LE/BE, UTF-8),
then strict UTF-8, then cp1251 but only when the result reads as Russian text; anything else is
an ``UnreadableFile("unreadable_encoding")``. With an encoding configured, a file that does not
decode with it (or that plainly is UTF-8 or carries another encoding's BOM) is an
``UnreadableFile("encoding_mismatch")`` naming both, never silently mis-decoded text.

E-mail parts declare their charset, which can lie: ``decode_declared`` (below) tries it, then the
channel's ``reader.fallback_encodings``, and keeps only a plausible decoding.
"""

import codecs
import math
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


# --- e-mail parts: a declared charset that may lie ------------------------------------------------
#
# A part of an e-mail names its charset, and the name can be wrong: KOI8-R bytes labelled UTF-8 or
# windows-1251. ``decode_declared`` tries the declared charset, then the channel's
# ``reader.fallback_encodings`` in order, and keeps the first decoding whose text is plausible:
# - no replacement characters (U+FFFD) and no control characters (C0 but tab and line ends, C1);
# - where it has Cyrillic letters, at most MAX_FOREIGN_SHARE of its letters and letter-like signs
#   are other than Russian (and Ukrainian) letters: UTF-8 read as cp1251 gives "РџСЂРёРІРµС‚" (џ Ђ µ),
#   read as KOI8-R box-drawing signs ("п╟п╡");
# - without Cyrillic, at most MAX_ACCENTED_SHARE of its letters are non-ASCII (KOI8-R read as
#   Latin-1 is "ðÒÉ×ÅÔ"), and no box-drawing signs;
# - decoded with a single-byte code page: the bytes are not UTF-8 (which a code page would turn into
#   mojibake), and the KOI8-R vs cp1251 test: the same bytes read with the other of the two must not
#   read clearly more like Russian (``russian_likeness``: the mean log-frequency of its letters in
#   Russian text, less the share of its words whose case flips inside them, "пРИВЕТ": the two code
#   pages swap upper and lower case, so a misread sentence has a lower-case first letter and
#   shouting after it).
# A part that no candidate decodes plausibly is ``UnreadableFile("undecodable_text")`` naming what
# each candidate gave; the e-mail readers quarantine its message rather than stage mojibake.

# Russian letter frequencies (share of letters in Russian prose), lower case.
_RUSSIAN_FREQUENCIES = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
        (
            0.1097,
            0.0845,
            0.0801,
            0.0735,
            0.0670,
            0.0626,
            0.0547,
            0.0473,
            0.0454,
            0.0440,
            0.0349,
            0.0321,
            0.0298,
            0.0281,
            0.0262,
            0.0201,
            0.0190,
            0.0174,
            0.0170,
            0.0165,
            0.0159,
            0.0144,
            0.0121,
            0.0097,
            0.0094,
            0.0073,
            0.0064,
            0.0048,
            0.0036,
            0.0032,
            0.0026,
            0.0004,
            0.0013,
        ),
        strict=True,
    )
)
_RARE_LETTER = 0.0002  # the frequency given to a Cyrillic letter that Russian does not use
_VOWELS = set("аеёиоуыэюя")
_NATIVE_LETTERS = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя" + "іїєґў")  # Russian, and Ukrainian / Belarusian
_FOREIGN_SIGNS = set("⌠⌡■∙√≈≤≥÷²µ¤¦¬\u00ad")  # KOI8-R and cp1251 upper halves read as the other
_SINGLE_BYTE_RIVALS = ("cp1251", "koi8-r")
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
_CASE_FLIP = re.compile(r"[а-яёіїєґў][А-ЯЁІЇЄҐЎ]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
MAX_FOREIGN_SHARE = 0.1
MAX_ACCENTED_SHARE = 0.5
RIVAL_MARGIN = 0.1  # how much more Russian-like the other code page must read to win
# Weights of russian_likeness's penalties, set on the sample texts of otklik/sample/texts.py read with
# every label (right on all but 2 of ~1,900 mixed-case and 23 of ~1,900 ALL-CAPS sentence readings).
CASE_FLIP_WEIGHT = 2.0
CAPITALS_WEIGHT = 0.2
IMPOSSIBLE_START_WEIGHT = 2.0
VOWEL_WEIGHT = 3.0
RUSSIAN_VOWEL_SHARE = 0.43


def implausible(text: str) -> str | None:
    """Why ``text`` is not a plausible decoding (module notes above), or None when it is."""
    if "\ufffd" in text:
        return "it has replacement characters (U+FFFD)"
    control = _CONTROL.search(text)
    if control:
        return f"it has control characters (U+{ord(control.group()):04X})"
    if text.isascii():
        return None
    non_ascii = [ch for ch in text if ord(ch) > 127]
    if any("\u2500" <= ch <= "\u259f" for ch in non_ascii):
        return "it has box-drawing signs (the upper half of KOI8-R read as text)"
    cyrillic = [ch.lower() for ch in non_ascii if "\u0400" <= ch <= "\u04ff"]
    if cyrillic:
        native = sum(ch in _NATIVE_LETTERS for ch in cyrillic)
        foreign = len(cyrillic) - native + sum(ch in _FOREIGN_SIGNS for ch in non_ascii)
        foreign += sum(ch.isalpha() and not "\u0400" <= ch <= "\u04ff" for ch in non_ascii)
        if foreign / (native + foreign) > MAX_FOREIGN_SHARE:
            return f"{foreign} of its {native + foreign} letters and signs are no Russian letters"
        return None
    letters = sum(ch.isalpha() for ch in text)
    accented = sum(ch.isalpha() for ch in non_ascii)
    if letters and accented / letters > MAX_ACCENTED_SHARE:
        return f"{accented} of its {letters} letters are accented (Cyrillic read with a Latin code page?)"
    return None


def russian_likeness(text: str) -> float | None:
    """How much ``text`` reads like Russian (None without Cyrillic); higher is more Russian-like.

    The mean log-frequency of its Cyrillic letters in Russian prose, less penalties for what the
    KOI8-R / cp1251 swap produces: words whose case flips inside them ("пРИВЕТ"), a share of
    capitals, words that start with ь, ъ or ы, and a share of vowels far from Russian's ~43%.
    """
    letters = [ch for ch in text if "\u0400" <= ch <= "\u04ff"]
    if not letters:
        return None
    lower = [ch.lower() for ch in letters]
    likeness = sum(math.log(_RUSSIAN_FREQUENCIES.get(ch, _RARE_LETTER)) for ch in lower) / len(letters)
    words = _CYRILLIC_WORD.findall(text) or ["".join(letters)]
    flipped = sum(bool(_CASE_FLIP.search(word)) for word in words) / len(words)
    capitals = sum(ch.isupper() for ch in letters) / len(letters)
    impossible_starts = sum(word[0].lower() in "ьъы" for word in words) / len(words)
    vowels = sum(ch in _VOWELS for ch in lower) / len(letters)
    return (
        likeness
        - CASE_FLIP_WEIGHT * flipped
        - CAPITALS_WEIGHT * capitals
        - IMPOSSIBLE_START_WEIGHT * impossible_starts
        - VOWEL_WEIGHT * max(0.0, abs(vowels - RUSSIAN_VOWEL_SHARE) - 0.1)
    )


def _problem(payload: bytes, text: str, charset: str) -> str | None:
    """Why ``text`` (``payload`` decoded with ``charset``) is not to be kept, or None."""
    problem = implausible(text)
    if problem is not None or _family(charset) in ("utf-8", "utf-16", "utf-32") or payload.isascii():
        return problem
    if _is_utf8(payload):
        return "the bytes are UTF-8"
    mine = russian_likeness(text)
    if mine is None:
        return None
    for rival in _SINGLE_BYTE_RIVALS:
        if codecs.lookup(rival).name == codecs.lookup(charset).name:
            continue
        other = payload.decode(rival, "replace")
        theirs = russian_likeness(other)
        if implausible(other) is None and theirs is not None and theirs > mine + RIVAL_MARGIN:
            return f"it reads as {rival} (letter frequencies and case: {theirs:.2f} against {mine:.2f})"
    return None


def decode_declared(payload: bytes, declared: str | None, fallbacks: tuple[str, ...]) -> str:
    """``payload`` decoded with the first of ``declared`` and ``fallbacks`` that gives plausible text.

    Raises ``UnreadableFile("undecodable_text")`` naming what each candidate gave.
    """
    if payload.isascii():
        return payload.decode("ascii")
    bom = detect_bom(payload)
    candidates: list[str] = [bom] if bom else []
    for name in (declared, *fallbacks):
        if name and _known(name) and codecs.lookup(name).name not in {codecs.lookup(c).name for c in candidates}:
            candidates.append(name)
    tried = [] if declared is None or _known(declared) else [f"{declared}: not a known charset"]
    for charset in candidates:
        try:
            text = _strip_bom(payload.decode(charset))
        except UnicodeDecodeError as exc:
            tried.append(f"{charset}: byte 0x{payload[exc.start]:02x} at offset {exc.start} is not {charset}")
            continue
        problem = _problem(payload, text, charset)
        if problem is None:
            return text
        tried.append(f"{charset}: {problem}")
    raise UnreadableFile(
        "undecodable_text",
        f"the text is labelled {declared or 'with no charset'} and no candidate gives plausible text ("
        + "; ".join(tried)
        + "); add its charset to reader.fallback_encodings",
    )


def _known(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
