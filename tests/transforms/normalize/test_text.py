"""Text hygiene (transforms/normalize/text.py)."""

import unicodedata

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.normalize.text import (
    MAX_TEXT_CHARS,
    NFC_SENSITIVE,
    clean_text,
    clean_text_expr,
    clean_text_flagged,
    clean_text_flagged_expr,
    clean_text_flagged_series,
    clean_text_series,
    html_to_text,
    is_formula_like,
    language,
    language_expr,
    neutralize_formula,
    neutralize_formulas,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "<p>Товар <b>сломан</b></p><p>Верните&nbsp;деньги &amp; извинитесь</p>",
            "Товар сломан\n\nВерните деньги & извинитесь",
        ),
        ("<div>a<script>alert('x')</script>b<style>.c{}</style></div>", "ab"),
        ("Tom &amp; Jerry &#8212; &lt;3", "Tom & Jerry — <3"),
        ("5 < 7 and 8 > 6", "5 < 7 and 8 > 6"),
        ("a\x00b\x07c\u200bd\ufeffe", "a b cde"),
        ("  много    пробелов\t\tи табов  ", "много пробелов и табов"),
        ("line one  \r\n  line two\r\rline three", "line one\nline two\n\nline three"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("a\u00a0\u2009b", "a b"),
        ("line\u2028next", "line\nnext"),
        ("<br><br>", None),
        ("   \n\t ", None),
        ("", None),
        (None, None),
    ],
    ids=["html", "script-style", "entities", "not-html", "control", "spaces", "crlf", "blank-lines", "nbsp",
         "u2028", "only-tags", "blank", "empty", "none"],
)  # fmt: skip
def test_clean_text(raw: str | None, clean: str | None) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean", "flagged"),
    [
        ("a\x00b", "a b", True),  # a NUL separates, it does not glue words
        ("abc\u202edef", "abcdef", True),  # right-to-left override: the review would show "abcfed"
        ("Ordinary text, twice  spaced.\nSecond line", "Ordinary text, twice spaced.\nSecond line", False),
        ("a\x00\x00\x1bb", "a b", True),
        ("\x00word\x00", "word", True),
        ("line\x00\nnext", "line\nnext", True),
        ("a\x7fb\x85c", "a b c", True),  # DEL and C1 controls too
        ("\u2066isolate\u2069 \u202aembed\u202c \u200emark\u200f \u061cal", "isolate embed mark al", True),
        ("<p>x &#x202E;y</p>", "x y", True),  # spelled as an entity, it is decoded first
        ("\x00", None, True),
        ("tab\tstays a space", "tab stays a space", False),
        (None, None, False),
    ],
    ids=["nul", "rlo", "ordinary", "c0-run", "edges", "before-newline", "del-c1", "bidi", "entity", "only-nul",
         "tab", "none"],
)  # fmt: skip
def test_controls_become_spaces_bidi_goes_and_the_text_says_so(
    raw: str | None, clean: str | None, flagged: bool
) -> None:
    assert clean_text_flagged(raw) == (clean, flagged)
    assert clean_text(raw) == clean
    series = pl.Series("t", [raw], dtype=pl.String)
    assert clean_text_flagged_series(series).to_list() == [{"text": clean, "cleaned": flagged}]
    frame = pl.DataFrame({"t": [raw]}, schema={"t": pl.String}).select(flagged=clean_text_flagged_expr(pl.col("t")))
    assert frame["flagged"].struct.field("cleaned").to_list() == [flagged]


def test_long_text_is_capped_with_an_ellipsis() -> None:
    capped = clean_text("я" * 6000)
    assert capped is not None
    assert len(capped) == MAX_TEXT_CHARS
    assert capped.endswith("…")
    assert clean_text("я" * MAX_TEXT_CHARS) == "я" * MAX_TEXT_CHARS
    assert clean_text("я" * 6000, max_chars=None) == "я" * 6000


def test_formulas_are_kept_as_written() -> None:
    assert clean_text('=HYPERLINK("http://x")') == '=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    ("text", "expected"),
    [("=1+1", True), ("+7 916", True), ("-5", True), ("@SUM(A1)", True), ("\tx", True), ("\rx", True),
     ("ok =1", False), ("", False), (None, False), (" =1", False)],
)  # fmt: skip
def test_is_formula_like(text: str | None, expected: bool) -> None:
    assert is_formula_like(text) is expected


@pytest.mark.parametrize(
    ("text", "safe"),
    [("=1+1", "'=1+1"), ("+7 916", "'+7 916"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
     ("ok =1", "ok =1"), ("", ""), (None, None), ("'=1", "'=1")],
)  # fmt: skip
def test_a_formula_like_csv_cell_goes_behind_an_apostrophe(text: str | None, safe: str | None) -> None:
    assert neutralize_formula(text) == safe
    frame = pl.DataFrame({"t": [text], "n": [-5]}, schema={"t": pl.String, "n": pl.Int64})
    assert neutralize_formulas(frame).rows() == [(safe, -5)]  # numbers stay numbers


def test_html_to_text_block_tags_break_lines() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>").split() == ["one", "two"]
    assert "\n" in html_to_text("a<br/>b")


def test_expr_and_series_forms() -> None:
    frame = pl.DataFrame({"t": ["<b>x</b>  y", None, "  "]})
    assert frame.select(clean_text_expr(pl.col("t"))).to_series().to_list() == ["x y", None, None]
    assert clean_text_series(frame["t"]).name == "t"


PIECES = [*"ab Яя<>/&;#x0\t\n\r", "\u00a0", "\u2028", "\x00", "\x85", "\u200b", "\u3000", "\u202e", "\u2066"]
PIECES += ["\x1b", "&#x202E;", "\u200f"]
PIECES += ["<p>", "</p>", "&amp;", "<br>", "<script>", "</script>", "&#1071;", "  ", "\n\n\n"]
# NFC: decomposed й and ё, a combining acute, marks to reorder, Hangul jamo, a singleton, an entity
PIECES += ["\u0438", "\u0306", "\u0435", "\u0308", "\u0301", "\u0323", "\u1100", "\u1161", "\u212b", "&#x301;"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=8))
def test_vectorised_cleaning_equals_the_scalar_definition(values: list[str | None]) -> None:
    series = pl.Series("t", values, dtype=pl.String)
    assert clean_text_series(series, max_chars=20).to_list() == [clean_text(v, max_chars=20) for v in values]
    flagged = [dict(zip(("text", "cleaned"), clean_text_flagged(v, max_chars=20), strict=True)) for v in values]
    assert clean_text_flagged_series(series, max_chars=20).to_list() == flagged


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Промо\u0438\u0306 код", "Промой код"),  # и + combining breve → й
        ("\u0415\u0308лка", "Ёлка"),
        ("cafe\u0301", "café"),
        ("\u212b", "Å"),  # ANGSTROM SIGN → the letter
        ("e<b></b>\u0301", "é"),  # composes once the markup between is gone
    ],
    ids=["russian-short-i", "yo", "latin-acute", "singleton", "after-html"],
)
def test_text_is_put_in_nfc(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert clean_text_series(pl.Series([raw])).to_list() == [clean]


def test_nfc_is_skipped_only_where_it_cannot_change_anything() -> None:
    # Every character the Polars prefilter lets past must be one NFC leaves alone in any company:
    # unchanged itself, not reordered (combining class 0) and never the second half of a composition.
    second_halves = {
        int(parts[1], 16)
        for cp in range(0x110000)
        if (parts := unicodedata.decomposition(chr(cp)).split()) and len(parts) == 2 and not parts[0].startswith("<")
    }
    second_halves |= set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul vowels and finals
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    sensitive = pl.Series(chars).str.contains(NFC_SENSITIVE).to_list()
    skipped = [ch for ch, flagged in zip(chars, sensitive, strict=True) if not flagged]
    assert len(skipped) > 5000  # ASCII, Latin, Cyrillic, punctuation, symbols, emoji
    unsafe = [
        f"U+{ord(ch):04X}"
        for ch in skipped
        if unicodedata.normalize("NFC", ch) != ch or unicodedata.combining(ch) or ord(ch) in second_halves
    ]
    assert unsafe == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Курьер опоздал на два часа", "ru"),
        ("Ёлки-палки, ёжик", "ru"),
        ("The courier was two hours late", "en"),
        ("Большое спасибо! great", "ru"),  # 5 of 19 letters Latin: Russian has 74%
        ("Спасибо! great service", "en"),  # 12 of 19 Latin: 63% English
        ("Дякую за швидку доставку і якість", "other"),  # Ukrainian і
        ("Der Kurier kam zu spät", "other"),  # German ä
        ("Ελληνικά", "other"),
        ("配送很快", "other"),
        ("👍 5/5", "other"),  # no letters
        ("звоните [телефон] или [email]", "ru"),  # masking tokens do not count
        ("[email]", "other"),
        (None, None),
    ],
)
def test_language(text: str | None, expected: str | None) -> None:
    assert language(text) == expected
    assert pl.DataFrame({"t": [text]}, schema={"t": pl.String}).select(language_expr(pl.col("t"))).item() == expected


LANGUAGE_PIECES = ["Курьер ", "опоздал", "ё", "The ", "courier", "é", "і", "ü", "α", "配", "👍", "7", " ", "!"]
LANGUAGE_PIECES += ["[телефон]", "[email]", "[карта]", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(LANGUAGE_PIECES), max_size=40).map("".join)), max_size=8))
def test_polars_language_equals_python_language(texts: list[str | None]) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    assert frame.select(language_expr(pl.col("t"))).to_series().to_list() == [language(t) for t in texts]


def test_the_staging_row_says_its_text_was_cleaned(payloads) -> None:
    """``text_cleaned``: any body part held a control or bidi character; an ordinary item is False."""
    from datetime import UTC, datetime

    from transforms.channels.registry import get_channel
    from transforms.normalize import normalize_channel

    def ticket(n: int, subject: str | None, description: str | None) -> dict:
        return {"id": n, "created_at": "2026-10-05T09:00:00Z", "subject": subject, "description": description}

    records = [
        ticket(1, "a\x00b", "ordinary"),
        ticket(2, "Заказ", "abc\u202edef"),
        ticket(3, "Ordinary subject", "ordinary description"),
        ticket(4, None, None),  # no text at all, a score-less ticket: rejected as empty_item
    ]
    channel = get_channel("zendesk_tickets")
    result = normalize_channel(payloads(records), channel, pii_key=b"k", as_of=datetime(2026, 11, 1, tzinfo=UTC))
    assert result.rows.select("source_item_id", "body_text", "text_cleaned").rows() == [
        ("1", "a b\nordinary", True),
        ("2", "Заказ\nabcdef", True),
        ("3", "Ordinary subject\nordinary description", False),
    ]
    assert result.rejects["reason"].to_list() == ["empty_item"]
