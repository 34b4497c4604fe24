"""Long texts: sentence and clause evidence, weighed, instead of one bag of all their words.

A review of fifteen sentences is mostly narrative («купил в марте, ездил на дачу…»); its opinion
sits in a few sentences, often the last («больше никогда»). As one L2-normalized bag of words,
each opinion word weighs little and the text drifts towards the prior. So a text of
``LONG_TEXT_SEGMENTS`` segments or more, and any text with a contrast or a concession, is also
read segment by segment:

- **segments** are sentences (split after ``.``, ``!``, ``?``, ``…`` and line breaks), and a
  sentence is split again before a contrast word (``но``, ``однако``, ``зато``, ``а вот``,
  ``but``, ``however``) and after a concession's clause («Хотя персонал вежливый, | заказ не
  привезли»);
- **weights**: the last segment (the conclusion) ×2, the first ×1.5; a segment that opens with a
  contrast word ×2 (what follows «но» is what the writer means); a concession (``хотя``,
  ``although``, ``though``) ×0.5; and each segment's weight grows with how opinionated it is
  (``0.2 + 1 − P(neutral)``), so narrative sentences count little;
- a segment the kind head reads as ``other`` (narrative) does not vote on the kind: its kind
  weight is multiplied by ``1 − P(other)``, so a long text is ``other`` only when none of it is an
  opinion;
- the text's probabilities are the mean of the whole-text prediction and the weighted mean of its
  segments' predictions.

All of it is set-based: a batch of texts becomes one frame of segments, predicted in one pass.
"""

import numpy as np
import polars as pl

LONG_TEXT_SEGMENTS = 3
CONTRAST_WORDS = ("но", "однако", "зато", "а вот", "but", "however")
CONCESSION_WORDS = ("хотя", "although", "though")
LAST_WEIGHT, FIRST_WEIGHT, CONTRAST_WEIGHT, CONCESSION_WEIGHT = 2.0, 1.5, 2.0, 0.5
NEUTRAL_FLOOR = 0.2
WHOLE_TEXT_SHARE = 0.5

_CONTRAST = r"(?i)[,;:]?\s+(" + "|".join(CONTRAST_WORDS) + r")\s"
# «Хотя X, Y»: the concession ends at its first comma; Y is the main clause.
_CONCESSION = r"(?i)(^|[.!?…]\s+)((?:" + "|".join(CONCESSION_WORDS) + r")\s[^,.!?…]*),\s*"
_SENTENCE_END = r"([.!?…]+)\s+|\n+"
_HAS_WORD = r"[0-9A-Za-zА-Яа-яЁё]"
_BREAK = "\x00"


def split_segments(texts: pl.Series) -> pl.DataFrame:
    """(row, pos, n, segment, weight): the segments of each text with their position weights."""
    marked = (
        texts.cast(pl.String)
        .fill_null("")
        .str.replace_all(_BREAK, " ", literal=True)
        .str.replace_all(_SENTENCE_END, "${1}" + _BREAK)
        .str.replace_all(_CONTRAST, _BREAK + "${1} ")
        .str.replace_all(_CONCESSION, "${1}${2}" + _BREAK)
    )
    frame = pl.DataFrame({"row": pl.int_range(texts.len(), eager=True, dtype=pl.UInt32), "segment": marked})
    segments = (
        frame.with_columns(pl.col("segment").str.split(_BREAK))
        .explode("segment")
        .with_columns(pl.col("segment").str.strip_chars())
        .filter(pl.col("segment").str.contains(_HAS_WORD))
        .with_columns(pos=pl.int_range(pl.len()).over("row"), n=pl.len().over("row"))
    )
    opening = pl.col("segment").str.to_lowercase()
    position = (
        pl.when(pl.col("pos") == pl.col("n") - 1)
        .then(LAST_WEIGHT)
        .when(pl.col("pos") == 0)
        .then(FIRST_WEIGHT)
        .otherwise(1.0)
    )
    stance = (
        pl.when(opening.str.contains(r"^(" + "|".join(CONTRAST_WORDS) + r")\b"))
        .then(CONTRAST_WEIGHT)
        .when(opening.str.contains(r"^(" + "|".join(CONCESSION_WORDS) + r")\b"))
        .then(CONCESSION_WEIGHT)
        .otherwise(1.0)
    )
    return segments.with_columns(weight=position * stance)


def may_be_long(texts: pl.Series) -> pl.Series:
    """A cheap upper bound: texts with enough sentence ends or contrast words to be long.

    Most feedback is one or two sentences; only the rest pays for ``split_segments``.
    """
    text = texts.cast(pl.String).fill_null("")
    breaks = text.str.count_matches(r"[.!?…\n]+")
    return (breaks >= LONG_TEXT_SEGMENTS - 1) | has_stance(text)


def has_stance(texts: pl.Series) -> pl.Series:
    """Texts with a contrast or a concession: read by clause whatever their length."""
    return texts.str.contains(_CONTRAST) | texts.str.contains(_CONCESSION)


def weighted_mean(rows: np.ndarray, probabilities: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per text (``n`` of them), the ``weights``-weighted mean of its segments' probability rows."""
    total = np.zeros((n, probabilities.shape[1]))
    np.add.at(total, rows, probabilities * weights[:, None])
    mass = np.zeros(n)
    np.add.at(mass, rows, weights)
    return total / np.maximum(mass, 1e-12)[:, None]
