"""Text → kind, sentiment, feedback type, confidence and method: rules and model together.

- kind and sentiment come from the model's heads (words + cues + score bucket);
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

import polars as pl

from transforms.classify.features import Featurizer
from transforms.classify.kind_rules import NO_TEXT_KIND
from transforms.classify.model import Model, load_model
from transforms.classify.rules import compile_type_rules, match_types
from transforms.taxonomy import FeedbackType, load_feedback_types, taxonomy_version

MODELS_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL_PATH = MODELS_DIR / "default.json"
MODEL_TYPE_MIN_CONFIDENCE = 0.5
# Below this an item is queued for a person: half of the kind/type decisions under it were wrong
# on the seed set's cross-validation, against one in ten above it.
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
        for task in ("kind", "sentiment"):
            labels, conf = self.model.heads[task].predict(x)
            columns[task] = pl.Series(labels, dtype=pl.String)
            columns[f"{task}_confidence"] = pl.Series(conf, dtype=pl.Float64)
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
