"""Text hygiene (transforms/normalize/text.py)."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.normalize.text import (
    MAX_TEXT_CHARS,
    clean_text,
    clean_text_expr,
    clean_text_series,
    html_to_text,
    is_formula_like,
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
        ("a\x00b\x07c\u200bd\ufeffe", "abcde"),
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


def test_html_to_text_block_tags_break_lines() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>").split() == ["one", "two"]
    assert "\n" in html_to_text("a<br/>b")


def test_expr_and_series_forms() -> None:
    frame = pl.DataFrame({"t": ["<b>x</b>  y", None, "  "]})
    assert frame.select(clean_text_expr(pl.col("t"))).to_series().to_list() == ["x y", None, None]
    assert clean_text_series(frame["t"]).name == "t"


PIECES = [*"ab Яя<>/&;#x0\t\n\r", "\u00a0", "\u2028", "\x00", "\x85", "\u200b", "\u3000"]
PIECES += ["<p>", "</p>", "&amp;", "<br>", "<script>", "</script>", "&#1071;", "  ", "\n\n\n"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), TEXT), max_size=8))
def test_vectorised_cleaning_equals_the_scalar_definition(values: list[str | None]) -> None:
    series = pl.Series("t", values, dtype=pl.String)
    assert clean_text_series(series, max_chars=20).to_list() == [clean_text(v, max_chars=20) for v in values]
