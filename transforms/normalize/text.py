"""Text hygiene for free text: HTML to text, control characters out, NFC, whitespace collapsed, capped.

``clean_text`` is the definition (one string); ``clean_text_expr`` is the same rule on a Polars
column, vectorised except for the rows that hold HTML, which go through ``html_to_text``
(stdlib ``html.parser``) one distinct value at a time. Tests hold the two equal.

Control characters: a C0 control other than TAB/LF/CR (NUL, BEL, VT, FF, ESC...), DEL and a C1
control become a space, so "a\x00b" reads "a b", not "ab" (a NUL between two words was a separator
to whoever wrote it). Invisible formatting goes: zero-width space, BOM, soft hyphen, and the
bidirectional controls (U+061C, U+200E/U+200F, the embeddings and overrides U+202A-U+202E, the
isolates U+2066-U+2069), with which a text shows reversed ("Trojan Source") in the review.
``clean_text_flagged`` (``clean_text_flagged_expr`` for a column) also says whether the text held
any of them (``CONTROL_CHARS``, after HTML decoding, which can spell one as ``&#x202E;``): staging
keeps it as ``text_cleaned``.

Whitespace: runs of horizontal white space become one space, each line is trimmed, line breaks
(CR, LF, CRLF, U+2028/9) become "\\n", and more than one empty line in a row becomes one, so
paragraphs survive. The character classes are spelled out (not ``\\s``) so that Python's ``re``
and Polars' Rust regex agree exactly.

Unicode: text is put in NFC, so that "й" typed as и + U+0306 (macOS, some phone keyboards) and
"й" typed as one character are the same text for search, classification and de-duplication.
Polars normalizes with Rust's tables, Python with ``unicodedata`` (Unicode 14 in Python 3.11):
the two agree except on the few compositions of scripts encoded after Unicode 14. NFC costs as
much as a regex pass, so Polars runs it only on the rows holding a character outside
``NFC_STABLE`` (ranges where no character changes, reorders or composes with what precedes it,
which tests/transforms/normalize/test_text.py checks against ``unicodedata``): ASCII, Latin,
Cyrillic, punctuation, symbols, emoji. Nearly all Russian and English feedback skips it.

Language: ``language_expr`` labels a text ru, en or other by counting letters, no model (see
``LANGUAGE_*`` below); null when there is no text.

Formulas are not altered here: a comment "=SUM(A1)" is what the customer wrote. They are
neutralized where text is written to a spreadsheet; ``is_formula_like`` tells which ones. An XLSX
types the cell as text (transforms/review/workbook.py, transforms/qa/export.py); a CSV has no types,
so a CSV written for people gets ``neutralize_formulas``: a formula-like cell starts with ``'``
(OWASP's CSV injection advice), which a spreadsheet shows as text and never runs.
"""

import re
import unicodedata
from html.parser import HTMLParser

import polars as pl

MAX_TEXT_CHARS = 5_000
ELLIPSIS = "…"

# C0 controls except TAB/LF/CR, DEL, C1 controls: each becomes a space.
SPACE_CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
# Bidirectional marks, embeddings, overrides and isolates: removed.
BIDI_CONTROLS = r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
# Zero-width space, BOM, soft hyphen, and the bidi controls: removed.
INVISIBLE_CHARS = r"[\u200b\ufeff\u00ad\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
# Every character the cleaning replaces or removes: a text holding one is flagged ``text_cleaned``.
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff\u00ad\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_SPACES = r"\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"  # horizontal white space but " "
# A run of horizontal white space other than one plain space (a lone " " is left alone: cheaper).
HORIZONTAL_SPACE = rf"[ ]*[{_SPACES}][ {_SPACES}]*|[ ]{{2,}}"
LINE_BREAK = r"\r\n|\r|\u2028|\u2029"
SPACE_AROUND_NEWLINE = " ?\n ?"
BLANK_LINES = "\n{3,}"
# Something that makes the text HTML: a tag, a comment or an entity.
HTML_MARKUP = r"<[A-Za-z!/?][^>]*>|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"

_CONTROL = re.compile(CONTROL_CHARS)
_SPACE_CONTROL = re.compile(SPACE_CONTROLS)
_INVISIBLE = re.compile(INVISIBLE_CHARS)
_HORIZONTAL = re.compile(HORIZONTAL_SPACE)
_LINE_BREAK = re.compile(LINE_BREAK)
_AROUND_NEWLINE = re.compile(SPACE_AROUND_NEWLINE)
_BLANK_LINES = re.compile(BLANK_LINES)
_HTML = re.compile(HTML_MARKUP)

# Characters NFC leaves alone whatever surrounds them (see the module docstring).
NFC_STABLE = (
    r"\x00-\x{02FF}\x{0400}-\x{0482}\x{048A}-\x{052F}\x{2002}-\x{20CF}\x{2100}-\x{2125}\x{2127}-\x{2129}"
    r"\x{212C}-\x{2328}\x{232B}-\x{2ADB}\x{2ADD}-\x{2BFF}\x{FE00}-\x{FE0F}\x{1F000}-\x{1FAFF}"
)
NFC_SENSITIVE = rf"[^{NFC_STABLE}]"

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection
FORMULA_ESCAPE = "'"  # what goes before a formula-like CSV cell
CLEANED_TEXT = pl.Struct({"text": pl.String(), "cleaned": pl.Boolean()})  # clean_text_flagged_expr

# Language by letter counts over the head of the text (masking tokens removed): "ru" when at least
# 60% of the letters are of the Russian alphabet, "en" when at least 60% are ASCII Latin, in both
# cases only while letters of any other alphabet stay under 2% of the letters (Ukrainian і/ї/є,
# Kazakh ә/қ/ң, French é, German ü, Greek, CJK: another language, even in the same script); a text
# with no letters at all (digits, emoji) is "other". 300 characters are plenty to tell, and keep the
# cost flat for long texts. In Polars the Russian and ASCII letters are counted in one pass: delete
# everything else, and a Russian letter is the one that takes two bytes in UTF-8.
LANGUAGE_SAMPLE_CHARS = 300
LANGUAGE_MAJORITY = 0.6
LANGUAGE_OTHER_LETTERS_MAX = 0.02
_RUSSIAN_LETTER = "[А-яЁё]"  # U+0410..U+044F is exactly А..я
_ASCII_LETTER = "[A-Za-z]"
_NOT_RUSSIAN_OR_ASCII_LETTER = "[^А-яЁёA-Za-z]+"
_OTHER_LETTER = r"[\p{L}--[А-яЁёA-Za-z]]"
_MASK_TOKENS = r"\[(?:email|телефон|карта)\]"  # transforms.privacy's tokens are not the customer's words


class _TextExtractor(HTMLParser):
    """Collect the text of an HTML fragment; script/style contents are dropped."""

    SKIP = frozenset({"script", "style", "head", "title", "noscript", "template"})
    BLOCK = frozenset(
        {"br", "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
        | {"blockquote", "pre", "section", "article", "header", "footer", "hr", "dt", "dd"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The visible text of an HTML fragment (entities decoded, block tags as line breaks)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)  # convert_charrefs=True has already run html.unescape


def looks_like_html(text: str) -> bool:
    return _HTML.search(text) is not None


def clean_text(text: str | None, max_chars: int | None = MAX_TEXT_CHARS) -> str | None:
    """Hygiene for one string; None for None or for text that is empty once cleaned."""
    return clean_text_flagged(text, max_chars)[0]


def clean_text_flagged(text: str | None, max_chars: int | None = MAX_TEXT_CHARS) -> tuple[str | None, bool]:
    """(``clean_text``, whether the text held a control or invisible character the cleaning took out)."""
    if text is None:
        return None, False
    if looks_like_html(text):
        text = html_to_text(text)
    had_controls = _CONTROL.search(text) is not None
    if had_controls:
        text = _INVISIBLE.sub("", _SPACE_CONTROL.sub(" ", text))
    return _clean_tail(text, max_chars), had_controls


def _clean_tail(text: str, max_chars: int | None) -> str | None:
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAK.sub("\n", text)
    text = _HORIZONTAL.sub(" ", text)
    text = _AROUND_NEWLINE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    text = text.strip(" \n")
    if not text:
        return None
    return cap_text(text, max_chars)


def cap_text(text: str, max_chars: int | None = MAX_TEXT_CHARS) -> str:
    if max_chars is not None and len(text) > max_chars:
        return text[: max_chars - len(ELLIPSIS)] + ELLIPSIS
    return text


def clean_text_series(values: pl.Series, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Series:
    """``clean_text`` over a String Series: Rust regex, Python only for the rows holding HTML."""
    return clean_text_flagged_series(values, max_chars).struct.field("text").rename(values.name)


def clean_text_flagged_series(values: pl.Series, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Series:
    """``clean_text_flagged`` over a String Series: a Struct Series {text: String, cleaned: Boolean}."""
    name = values.name
    values = values.cast(pl.String)
    has_html = values.str.contains(HTML_MARKUP).fill_null(False)
    if has_html.any():
        markup = values.filter(has_html).unique().to_list()
        as_text = {value: html_to_text(value) for value in markup}
        values = pl.select(
            pl.when(has_html).then(values.replace_strict(as_text, default=None)).otherwise(values)
        ).to_series()
    had_controls = values.str.contains(CONTROL_CHARS).fill_null(False)
    if had_controls.any():
        values = values.str.replace_all(SPACE_CONTROLS, " ").str.replace_all(INVISIBLE_CHARS, "")
    needs_nfc = values.str.contains(NFC_SENSITIVE).fill_null(False)
    if needs_nfc.any():
        values = values.scatter(needs_nfc.arg_true(), values.filter(needs_nfc).str.normalize("NFC"))
    values = (
        values.str.replace_all(LINE_BREAK, "\n")
        .str.replace_all(HORIZONTAL_SPACE, " ")
        .str.replace_all(SPACE_AROUND_NEWLINE, "\n")
        .str.replace_all(BLANK_LINES, "\n\n")
        .str.strip_chars(" \n")
    )
    values = pl.select(pl.when(values == "").then(None).otherwise(values)).to_series()
    text = cap_text_series(values, max_chars).rename("text")
    return pl.select(pl.struct(text, had_controls.rename("cleaned"))).to_series().rename(name)


def cap_text_series(values: pl.Series, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Series:
    if max_chars is None:
        return values
    too_long = (values.str.len_chars() > max_chars).fill_null(False)
    if not too_long.any():
        return values
    capped = values.str.slice(0, max_chars - len(ELLIPSIS)) + ELLIPSIS
    return pl.select(pl.when(too_long).then(capped).otherwise(values)).to_series().rename(values.name)


def clean_text_expr(expr: pl.Expr, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Expr:
    """``clean_text`` on a String column (each step materialized once, see clean_text_series)."""
    return expr.map_batches(
        lambda values: clean_text_series(values, max_chars), return_dtype=pl.String, is_elementwise=True
    )


def clean_text_flagged_expr(expr: pl.Expr, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Expr:
    """``clean_text_flagged`` on a String column: a Struct {text, cleaned} (``.struct.field`` each)."""
    return expr.map_batches(
        lambda values: clean_text_flagged_series(values, max_chars), return_dtype=CLEANED_TEXT, is_elementwise=True
    )


def cap_text_expr(expr: pl.Expr, max_chars: int | None = MAX_TEXT_CHARS) -> pl.Expr:
    return expr.map_batches(
        lambda values: cap_text_series(values, max_chars), return_dtype=pl.String, is_elementwise=True
    )


def is_formula_like(text: str | None) -> bool:
    """True when a spreadsheet would run the text as a formula (starts with = + - @ TAB CR)."""
    return bool(text) and text.startswith(FORMULA_PREFIXES)


def neutralize_formula(text: str | None) -> str | None:
    """``text`` for a CSV cell a spreadsheet opens: behind a ``'`` when it is formula-like."""
    return FORMULA_ESCAPE + text if text is not None and is_formula_like(text) else text


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``neutralize_formula`` on every String column of ``frame`` (other columns, nulls as they are)."""

    def safe(name: str) -> pl.Expr:
        value = pl.col(name)
        formula = pl.any_horizontal(value.str.starts_with(prefix) for prefix in FORMULA_PREFIXES)
        return pl.when(formula).then(pl.lit(FORMULA_ESCAPE) + value).otherwise(value).alias(name)

    return frame.with_columns(safe(name) for name, dtype in frame.schema.items() if dtype == pl.String)


def language_series(values: pl.Series) -> pl.Series:
    """``language`` over a String Series (null stays null); each step materialized once."""
    sample = values.str.slice(0, LANGUAGE_SAMPLE_CHARS).str.replace_all(_MASK_TOKENS, "")
    kept = sample.str.replace_all(_NOT_RUSSIAN_OR_ASCII_LETTER, "")
    counts = pl.DataFrame(
        {
            "russian": kept.str.len_bytes() - kept.str.len_chars(),
            "letters": kept.str.len_chars(),
            "other": sample.str.count_matches(_OTHER_LETTER),
            "is_null": values.is_null(),
        }
    ).with_columns(ascii_letters=pl.col("letters") - pl.col("russian"), letters=pl.col("letters") + pl.col("other"))
    # With no letters at all, 0 < 0 fails: such a text is "other".
    pure = pl.col("other") < pl.col("letters") * LANGUAGE_OTHER_LETTERS_MAX
    label = (
        pl.when(pl.col("is_null"))
        .then(pl.lit(None, dtype=pl.String))
        .when(pure & (pl.col("russian") >= pl.col("letters") * LANGUAGE_MAJORITY))
        .then(pl.lit("ru"))
        .when(pure & (pl.col("ascii_letters") >= pl.col("letters") * LANGUAGE_MAJORITY))
        .then(pl.lit("en"))
        .otherwise(pl.lit("other"))
    )
    return counts.select(label).to_series().rename(values.name)


def language_expr(text: pl.Expr) -> pl.Expr:
    """ru / en / other for a String column (null stays null); the rule is at ``LANGUAGE_SAMPLE_CHARS``."""
    return text.map_batches(language_series, return_dtype=pl.String, is_elementwise=True)


def language(text: str | None) -> str | None:
    """``language_expr`` for one string (the definition the tests hold the expression to)."""
    if text is None:
        return None
    sample = re.sub(_MASK_TOKENS, "", text[:LANGUAGE_SAMPLE_CHARS])
    letters = sum(ch.isalpha() for ch in sample)
    russian = len(re.findall(_RUSSIAN_LETTER, sample))
    ascii_letters = len(re.findall(_ASCII_LETTER, sample))
    if letters == 0 or letters - russian - ascii_letters >= letters * LANGUAGE_OTHER_LETTERS_MAX:
        return "other"
    if russian >= letters * LANGUAGE_MAJORITY:
        return "ru"
    if ascii_letters >= letters * LANGUAGE_MAJORITY:
        return "en"
    return "other"
