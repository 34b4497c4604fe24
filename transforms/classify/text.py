"""Text normalization for classification: tokens → lemmas (cached over the vocabulary) → negation.

Russian words are lemmatized with pymorphy3 (first parse); Latin words get a small suffix
stemmer, enough to make «delivered»/«delivery»/«deliver» meet. pymorphy3 costs ~15 µs a word,
so lemmas are computed once per distinct token: a batch is exploded to its unique tokens, new
tokens are lemmatized and kept in the cache, and the batch is mapped through the cache
(Polars, set-based). A negator is glued to the next word («не работает» → ``не_работать``), so a
cue or a hint for «работать» does not fire on its negation.

The same ``normalize`` is applied to taxonomy hints and cue phrases at load, so config can be
written in natural forms.
"""

from collections.abc import Iterable
from functools import cache

import polars as pl

TOKEN_PATTERN = r"[0-9a-zа-я]+"
# «нет» is left out: «нет в наличии» names an absence, not the negation of the next word.
NEGATORS = ("не", "ни", "not", "no", "never", "без")
_NEGATION = r"\b(" + "|".join(NEGATORS) + r") (\S+)"
# The cache is bounded: real vocabularies are small (tens of thousands of words), a flood of
# noise tokens (ids, typos) is not allowed to grow memory without end.
MAX_CACHE = 1_000_000

_LATIN_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("s", ""))


@cache
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def english_stem(word: str) -> str:
    """A deliberately small suffix stemmer: plural, past, gerund, final e."""
    if len(word) <= 3 or word.endswith("ss"):
        return word
    for suffix, replacement in _LATIN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


class Lemmatizer:
    """Token → lemma with a cache over the vocabulary seen so far."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def _lemma(self, token: str) -> str:
        if token.isascii():
            return token if token.isdigit() else english_stem(token)
        return _morph().parse(token)[0].normal_form.replace("ё", "е")

    def lemmas(self, tokens: Iterable[str]) -> list[str]:
        tokens = list(tokens)
        if len(self.cache) > MAX_CACHE:
            self.cache.clear()
        for token in tokens:
            if token not in self.cache:
                self.cache[token] = self._lemma(token)
        return [self.cache[t] for t in tokens]


_DEFAULT = Lemmatizer()


def lowered(texts: pl.Expr) -> pl.Expr:
    return texts.fill_null("").str.to_lowercase().str.replace_all("ё", "е").str.replace_all(r"n't\b", " not")


def normalize(texts: pl.Series, lemmatizer: Lemmatizer | None = None) -> pl.Series:
    """Each text as space-separated lemmas with negation glued (``не_работать``); '' for no text."""
    lemmatizer = lemmatizer or _DEFAULT
    tokens = pl.select(lowered(pl.lit(texts)).str.extract_all(TOKEN_PATTERN)).to_series()
    vocabulary = tokens.explode().drop_nulls().unique(maintain_order=True)
    if vocabulary.len() == 0:
        return pl.Series(texts.name, [""] * texts.len(), dtype=pl.String)
    lemmas = pl.Series(lemmatizer.lemmas(vocabulary.to_list()), dtype=pl.String)
    joined = tokens.list.eval(pl.element().replace_strict(vocabulary, lemmas)).list.join(" ")
    return joined.str.replace_all(_NEGATION, "${1}_${2}").fill_null("").alias(texts.name)


def normalize_one(text: str, lemmatizer: Lemmatizer | None = None) -> str:
    return normalize(pl.Series([text]), lemmatizer)[0]
