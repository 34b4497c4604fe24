"""Text → kind, sentiment, feedback type, confidence and method: rules and model together.

- kind and sentiment come from the model's heads (words + cues + score bucket); a long text is
  read sentence by sentence too (``segments``); the kind is decided from both heads together and
  the sentiment made consistent with it (``kind_decision``);
- the feedback type comes from the taxonomy's hints (method ``rule``); where no hint matches and
  the model has a ``type`` head (trained from manual labels), from the model when it is at least
  ``MODEL_TYPE_MIN_CONFIDENCE`` sure (method ``model``); else none (the caller falls back to the
  channel's default or ``unclassified``);
- an item with no text gets kind ``unclassified`` and a sentiment read from its score alone
  (0-10: up to 4 negative, from 7.5 positive, neutral between; no score: neutral), method ``rule``.
- ``confidence`` is the lower of the kind's and the type's confidence (0 without a type), so an
  item is as sure as its weakest label; below ``REVIEW_THRESHOLD`` it goes to the review queue.
"""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from transforms.classify.features import Featurizer
from transforms.classify.kind_decision import agree_sentiment, decide_kind
from transforms.classify.kind_rules import NO_TEXT_KIND
from transforms.classify.model import Model, load_model
from transforms.classify.rules import compile_type_rules, match_types
from transforms.classify.segments import (
    LONG_TEXT_SEGMENTS,
    NEUTRAL_FLOOR,
    WHOLE_TEXT_SHARE,
    has_stance,
    may_be_long,
    split_segments,
    weighted_mean,
)
from transforms.taxonomy import FeedbackType, load_feedback_types, taxonomy_version

MODELS_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL_PATH = MODELS_DIR / "default.json"
MODEL_TYPE_MIN_CONFIDENCE = 0.5
# Below this an item is queued for a person. On held-out real reviews, kind decisions at or above
# it are right 94-96 % of the time and two thirds to four fifths of the wrong ones fall under it
# (docs/classification.md; `otklik classify eval --cross-domain`).
REVIEW_THRESHOLD = 0.6
NEGATIVE_MAX_SCORE, POSITIVE_MIN_SCORE = 4.0, 7.5

OUTPUT_SCHEMA = {
    "kind": pl.String,
    "kind_confidence": pl.Float64,
    "sentiment": pl.String,
    "sentiment_confidence": pl.Float64,
    "predicted_type_id": pl.String,
    "type_confidence": pl.Float64,
    "confidence": pl.Float64,
    "method": pl.String,
}


@dataclass
class Classifier:
    types: tuple[FeedbackType, ...]
    model: Model
    featurizer: Featurizer = field(default_factory=Featurizer)

    @cached_property
    def type_rules(self):
        return compile_type_rules(self.types)

    @cached_property
    def taxonomy_version(self) -> str:
        return taxonomy_version(self.types)

    @property
    def model_version(self) -> str:
        return self.model.version

    def text_probabilities(self, texts: pl.Series, x) -> tuple[np.ndarray, np.ndarray]:
        """Kind and sentiment probabilities per text; long texts also from their segments (``segments``)."""
        kind_head, sentiment_head = self.model.heads["kind"], self.model.heads["sentiment"]
        kind_p, sentiment_p = kind_head.proba(x), sentiment_head.proba(x)
        long = np.flatnonzero(may_be_long(texts).to_numpy())
        if long.size == 0:
            return kind_p, sentiment_p
        candidates = texts.gather(long)
        segments = split_segments(candidates)
        counts = np.bincount(segments["row"].to_numpy(), minlength=long.size)
        stance = has_stance(candidates.cast(pl.String).fill_null("")).to_numpy()
        rows_of = segments["row"].to_numpy()
        keep = (counts[rows_of] >= LONG_TEXT_SEGMENTS) | (stance[rows_of] & (counts[rows_of] >= 2))
        segments = segments.filter(pl.Series(keep))
        if segments.height == 0:
            return kind_p, sentiment_p
        xs = self.featurizer.matrix(pl.DataFrame({"text": segments["segment"]}), score_col=None)
        seg_kind, seg_sentiment = kind_head.proba(xs), sentiment_head.proba(xs)
        opinion = (
            1.0 - seg_sentiment[:, list(sentiment_head.classes).index("neutral")]
            if ("neutral" in sentiment_head.classes)
            else np.ones(segments.height)
        )
        weights = segments["weight"].to_numpy() * (NEUTRAL_FLOOR + opinion)
        rows = segments["row"].to_numpy()
        targets = long[np.unique(rows)]
        local = np.searchsorted(np.unique(rows), rows)
        n_long = targets.size
        kind_weights = weights
        if "other" in kind_head.classes:  # a narrative sentence has no kind: it does not vote
            kind_weights = weights * (1.0 - seg_kind[:, list(kind_head.classes).index("other")])
        for whole, seg, w in ((kind_p, seg_kind, kind_weights), (sentiment_p, seg_sentiment, weights)):
            mean = weighted_mean(local, seg, w, n_long)
            whole[targets] = WHOLE_TEXT_SHARE * whole[targets] + (1 - WHOLE_TEXT_SHARE) * mean
        return kind_p, sentiment_p

    def predict(self, texts: pl.Series, scores: pl.Series | None = None, days: pl.Series | None = None) -> pl.DataFrame:
        """One output row per input text, in order (columns: ``OUTPUT_SCHEMA``)."""
        n = texts.len()
        if scores is None:
            scores = pl.Series([None] * n, dtype=pl.Float64)
        frame = pl.DataFrame({"text": texts.cast(pl.String), "score_10": scores.cast(pl.Float64)})
        has_text = frame["text"].fill_null("").str.strip_chars().str.len_chars() > 0
        norm, x = self.featurizer.prepare(frame)
        out = match_types(norm, self.type_rules, days)
        columns: dict[str, pl.Series] = {}
        kind_head, sentiment_head = self.model.heads["kind"], self.model.heads["sentiment"]
        kind_p, sentiment_p = self.text_probabilities(frame["text"], x)
        kinds, kind_conf = decide_kind(kind_p, kind_head.classes, sentiment_p, sentiment_head.classes)
        sentiments, sentiment_conf = agree_sentiment(kinds, sentiment_p, sentiment_head.classes)
        columns["kind"] = pl.Series(kinds, dtype=pl.String)
        columns["kind_confidence"] = pl.Series(kind_conf, dtype=pl.Float64)
        columns["sentiment"] = pl.Series(sentiments, dtype=pl.String)
        columns["sentiment_confidence"] = pl.Series(sentiment_conf, dtype=pl.Float64)
        if "type" in self.model.heads:
            labels, conf = self.model.heads["type"].predict(x)
            columns["model_type"] = pl.Series(labels, dtype=pl.String)
            columns["model_type_confidence"] = pl.Series(conf, dtype=pl.Float64)
        else:
            columns["model_type"] = pl.Series([None] * n, dtype=pl.String)
            columns["model_type_confidence"] = pl.Series([None] * n, dtype=pl.Float64)
        out = out.with_columns(has_text=has_text, score_10=frame["score_10"], **columns)
        use_model_type = pl.col("rule_type").is_null() & (pl.col("model_type_confidence") >= MODEL_TYPE_MIN_CONFIDENCE)
        score = pl.col("score_10")
        score_sentiment = (
            pl.when(score <= NEGATIVE_MAX_SCORE)
            .then(pl.lit("negative"))
            .when(score >= POSITIVE_MIN_SCORE)
            .then(pl.lit("positive"))
            .otherwise(pl.lit("neutral"))
        )
        type_confidence = (
            pl.when(pl.col("rule_type").is_not_null())
            .then(pl.col("rule_confidence"))
            .when(use_model_type)
            .then(pl.col("model_type_confidence"))
            .otherwise(0.0)
        )
        return out.select(
            kind=pl.when(pl.col("has_text")).then(pl.col("kind")).otherwise(pl.lit(NO_TEXT_KIND)),
            kind_confidence=pl.when(pl.col("has_text")).then(pl.col("kind_confidence")).otherwise(1.0),
            sentiment=pl.when(pl.col("has_text")).then(pl.col("sentiment")).otherwise(score_sentiment),
            sentiment_confidence=pl.when(pl.col("has_text")).then(pl.col("sentiment_confidence")).otherwise(1.0),
            predicted_type_id=pl.when(pl.col("has_text")).then(
                pl.coalesce(pl.col("rule_type"), pl.when(use_model_type).then(pl.col("model_type")))
            ),
            type_confidence=pl.when(pl.col("has_text")).then(type_confidence).otherwise(1.0),
            confidence=pl.when(pl.col("has_text"))
            .then(pl.min_horizontal(pl.col("kind_confidence"), type_confidence))
            .otherwise(1.0),
            method=pl.when(~pl.col("has_text") | pl.col("rule_type").is_not_null())
            .then(pl.lit("rule"))
            .otherwise(pl.lit("model")),
        ).cast(OUTPUT_SCHEMA)


def load_classifier(model_path: Path = DEFAULT_MODEL_PATH, types: tuple[FeedbackType, ...] | None = None) -> Classifier:
    return Classifier(types or load_feedback_types(), load_model(model_path))


_DEFAULT: dict[str, Classifier] = {}


def default_classifier() -> Classifier:
    """The pipeline's classifier: the committed taxonomy and ``models/default.json`` (built once)."""
    if "default" not in _DEFAULT:
        _DEFAULT["default"] = load_classifier()
    return _DEFAULT["default"]
