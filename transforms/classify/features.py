"""From a frame of texts (and optional scores) to the model's feature matrix.

Extra features beside the words: the raw and lemma cues of ``kind_rules`` and the score bucket
(``score_9_10``…, or ``no_score``). The score is one column among thousands, so an item without
one classifies from its text alone.
"""

from functools import cached_property

import polars as pl
from scipy import sparse

from transforms.classify.kind_rules import LEMMA_CUES, RAW_CUES, SCORE_BUCKETS
from transforms.classify.model import FeatureHasher, vectorize
from transforms.classify.rules import compile_phrases, matched_patterns
from transforms.classify.text import normalize


class Featurizer:
    def __init__(self) -> None:
        self.hasher = FeatureHasher()

    @cached_property
    def _lemma_cues(self) -> pl.DataFrame:
        names = [name for name, phrases in LEMMA_CUES.items() for _ in phrases]
        patterns = compile_phrases([p for phrases in LEMMA_CUES.values() for p in phrases])
        # one cue per pattern: a phrase listed under two cues keeps the first
        return pl.DataFrame({"pattern": patterns, "cue": names}).unique("pattern", keep="first", maintain_order=True)

    def extras(self, texts: pl.Series, norm: pl.Series, scores: pl.Series | None) -> pl.Series:
        """Per row, the list of cue and score feature names."""
        raw = texts.fill_null("")
        parts = [
            pl.when(raw.str.contains(pattern)).then(pl.lit(name)).otherwise(pl.lit(None, pl.String))
            for name, pattern in RAW_CUES.items()
        ]
        if scores is None:
            scores = pl.Series([None] * texts.len(), dtype=pl.Float64)
        score = scores.cast(pl.Float64)
        bucket = pl.lit("no_score")
        for low, high, name in SCORE_BUCKETS:
            bucket = pl.when((pl.lit(score) >= low) & (pl.lit(score) < high)).then(pl.lit(name)).otherwise(bucket)
        raw_cues = pl.select(pl.concat_list([*parts, bucket]).list.drop_nulls()).to_series()
        cues = self._lemma_cues
        found = matched_patterns(norm, cues["pattern"].to_list())
        lemma_cues = found.list.eval(
            pl.element().replace_strict(cues["pattern"], cues["cue"], return_dtype=pl.String)
        ).list.unique()
        return pl.Series("extra", raw_cues.list.concat(lemma_cues))

    def prepare(self, frame: pl.DataFrame, text_col: str = "text", score_col: str | None = "score_10"):
        """(normalized text, feature matrix) of ``frame``."""
        texts = frame[text_col].cast(pl.String)
        norm = normalize(texts)
        scores = frame[score_col] if score_col and score_col in frame.columns else None
        return norm, vectorize(norm, self.extras(texts, norm, scores), self.hasher)

    def matrix(
        self, frame: pl.DataFrame, text_col: str = "text", score_col: str | None = "score_10"
    ) -> sparse.csr_matrix:
        return self.prepare(frame, text_col, score_col)[1]
