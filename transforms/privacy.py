"""Personal data in feedback: mask it in free text, key customers by a keyed hash.

``mask_pii`` replaces e-mail addresses with ``[email]`` and phone numbers with ``[телефон]``.
Phones: Russian numbers (+7 or 8, any area code, with spaces, dashes or brackets; a bare
11-digit mobile 79xxxxxxxxx / 89xxxxxxxxx; a local mobile "(916) 123-45-67") and international
numbers written with "+". Digits that are not phones stay: order numbers (except one that is
spelled exactly like a mobile number), dates, amounts, ids of other lengths.

The patterns use no look-around and spell their classes out, so the same patterns run in
Python's ``re`` (``mask_pii``) and in Polars' Rust regex (``mask_pii_expr``); tests hold the two
equal. Word boundaries are ASCII ones in both (``(?a:\b)`` / ``(?-u:\b)``): the same meaning,
and Rust's fast engine cannot run Unicode boundaries over Cyrillic text (25x slower).

``customer_key(ref, key)`` is HMAC-SHA256 (hex) of the normalized reference: trimmed and
lower-cased; a reference that is a phone number becomes its digits with a leading 8 read as 7,
so "8 (916) 123-45-67" and "+79161234567" are one customer. The key comes from the caller
(a secret); transforms never read it from the environment.
"""

import hashlib
import hmac
import re

import polars as pl

EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[телефон]"

_LETTER_OR_DIGIT = "A-Za-z0-9А-Яа-яЁё"
EMAIL_PATTERN = (
    rf"[{_LETTER_OR_DIGIT}._%+\-]+@[{_LETTER_OR_DIGIT}\-]+(?:\.[{_LETTER_OR_DIGIT}\-]+)*"
    r"\.[A-Za-zА-Яа-яЁё]{2,}"
)
_SEP = r"[ \-]?"
_TAIL = rf"[0-9]{{3}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}\b"  # 123-45-67
_PHONE_TEMPLATE = "|".join(
    (
        rf"\+7{_SEP}\(?[0-9]{{3}}\)?{_SEP}{_TAIL}",  # +7 (916) 123-45-67, +7 495 123 45 67
        rf"\b8{_SEP}\([0-9]{{3}}\){_SEP}{_TAIL}",  # 8(916)123-45-67
        rf"\b8[ \-][0-9]{{3}}[ \-]{_TAIL}",  # 8 916 123 45 67, 8-800-555-35-35
        r"\b[78]9[0-9]{9}\b",  # 89161234567
        rf"\(9[0-9]{{2}}\){_SEP}{_TAIL}",  # (916) 123-45-67
        r"\b9[0-9]{2}[ \-][0-9]{3}[ \-][0-9]{2}[ \-][0-9]{2}\b",  # 916 123-45-67
        r"\+[1-9](?:[ \-]?\(?[0-9]\)?){7,14}\b",  # +44 20 7946 0958, +1 (212) 555-1234
    )
)

PHONE_PATTERN = _PHONE_TEMPLATE.replace(r"\b", r"(?-u:\b)")  # Rust (Polars)
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(_PHONE_TEMPLATE.replace(r"\b", r"(?a:\b)"))

# Characters trimmed from references: spelled out so Python and Polars trim the same set.
TRIM_CHARS = " \t\n\r\x0b\x0c\u00a0\u202f\u3000\ufeff" + "".join(map(chr, range(0x2000, 0x200B)))
_PHONE_LIKE = re.compile(r"\+?[0-9(][0-9 ()\-.]*")
_NON_DIGIT = re.compile(r"[^0-9]")


def mask_pii(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by tokens."""
    if "@" in text:  # cheap guard: the e-mail pattern backtracks over long words in Python
        text = _EMAIL.sub(EMAIL_TOKEN, text)
    return _PHONE.sub(PHONE_TOKEN, text)


def mask_pii_expr(expr: pl.Expr) -> pl.Expr:
    """``mask_pii`` on a String column (nulls stay null)."""
    return expr.str.replace_all(EMAIL_PATTERN, EMAIL_TOKEN).str.replace_all(PHONE_PATTERN, PHONE_TOKEN)


def normalize_ref(ref: str | int | None) -> str | None:
    """The form of a customer reference that is hashed; None when there is nothing."""
    if ref is None:
        return None
    text = str(ref).strip(TRIM_CHARS)
    if not text:
        return None
    if _PHONE_LIKE.fullmatch(text):
        digits = _NON_DIGIT.sub("", text)
        formatted = digits != text
        if 10 <= len(digits) <= 15 and (formatted or (len(digits) == 11 and digits[0] in "78")):
            if len(digits) == 11 and digits[0] == "8":
                return "7" + digits[1:]
            if len(digits) == 10 and digits[0] == "9" and not text.startswith("+"):
                return "7" + digits  # (916) 123-45-67: a Russian mobile without the country code
            return digits
    return text.lower()


def customer_key(ref: str | int | None, key: bytes) -> str | None:
    """HMAC-SHA256 hex of the normalized reference, or None when there is none."""
    normalized = normalize_ref(ref)
    if normalized is None:
        return None
    return hmac.new(key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()


def customer_keys(refs: pl.Series, key: bytes) -> pl.Series:
    """``customer_key`` over a Series; each distinct reference is hashed once."""
    refs = refs.cast(pl.String)
    distinct = refs.unique().drop_nulls().to_list()
    mapping = {ref: customer_key(ref, key) for ref in distinct}
    return refs.replace_strict(mapping, default=None, return_dtype=pl.String).rename(refs.name)
