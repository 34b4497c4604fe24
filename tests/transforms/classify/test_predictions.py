"""transforms/classify/predictions.py: reusing the last build's predictions gives the rows a build from
nothing gives, and only new or changed items are predicted."""

from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.transforms.classify.staged import STAGED_SCHEMA
from transforms.channels import load_channels
from transforms.classify import classify
from transforms.classify.engine import Classifier, default_classifier
from transforms.classify.predictions import PREDICTION_COLUMNS, predictions
from transforms.org import load_org
from transforms.taxonomy import load_feedback_types

TEXTS = ["Курьер опоздал на три часа", "Спасибо за доставку!", "Подскажите, когда будет перфоратор?", "", None]


def _staged(n: int, *, offset: int = 0) -> pl.DataFrame:
    rows = [
        {
            "feedback_id": f"f{i:04d}",
            "channel_id": "web_form",
            "body_text": TEXTS[i % len(TEXTS)] and f"{TEXTS[i % len(TEXTS)]} №{i % 7}",
            "store_id": None,
            "score_10": None if i % 3 == 0 else float(i % 11),
            "received_at": datetime(2026, 10, 1 + i % 28, 12, tzinfo=UTC),
        }
        for i in range(offset, offset + n)
    ]
    return pl.DataFrame(rows, schema=STAGED_SCHEMA)


class CountingClassifier(Classifier):
    """The default classifier, counting the texts it is asked to predict."""

    asked = 0

    def predict(self, texts, scores=None, days=None):
        type(self).asked += texts.len()
        return super().predict(texts, scores, days)


def _engine() -> CountingClassifier:
    base = default_classifier()
    CountingClassifier.asked = 0
    return CountingClassifier(load_feedback_types(), base.model, base.featurizer)


def test_reused_predictions_equal_a_build_from_nothing() -> None:
    engine = _engine()
    before = _staged(60)
    last = predictions(before, engine)
    # the next build: 20 new items, 5 edited texts, 3 rescored, 2 gone
    after = pl.concat([before, _staged(20, offset=60)]).filter(~pl.col("feedback_id").is_in(["f0001", "f0002"]))
    edited = pl.col("feedback_id").is_in([f"f{i:04d}" for i in (3, 10, 17, 24, 31)])
    rescored = pl.col("feedback_id").is_in(["f0040", "f0041", "f0042"])
    after = after.with_columns(
        body_text=pl.when(edited).then(pl.lit("Не работает приложение")).otherwise("body_text"),
        score_10=pl.when(rescored).then(pl.lit(0.0)).otherwise("score_10"),
    )

    CountingClassifier.asked = 0
    incremental = predictions(after, engine, previous=last)
    asked_incrementally = CountingClassifier.asked
    from_nothing = predictions(after, engine)

    assert_frame_equal(incremental, from_nothing)
    assert incremental.columns == list(PREDICTION_COLUMNS) and incremental.height == 78
    assert asked_incrementally == 20 + 5 + 3  # only the new and the changed items


def test_another_classifier_version_predicts_everything_again() -> None:
    engine = _engine()
    staged = _staged(30)
    last = predictions(staged, engine).with_columns(classifier_version=pl.lit("an-older-model"))
    CountingClassifier.asked = 0
    again = predictions(staged, engine, previous=last)
    assert CountingClassifier.asked == 30
    assert_frame_equal(again, predictions(staged, engine))


def test_classify_with_the_predictions_equals_classify_predicting_itself() -> None:
    engine = _engine()
    staged = _staged(40)
    common = {"types": load_feedback_types(), "org": load_org(), "channels": load_channels(), "classifier": engine}
    itself = classify(staged.lazy(), **common).collect()
    given = classify(staged.lazy(), **common, predicted=predictions(staged, engine)).collect()
    assert_frame_equal(given, itself)


def test_predictions_in_chunks_equal_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A history is predicted a chunk at a time (memory of a chunk, not of the history): the same rows."""
    from transforms.classify import predictions as module

    staged = _staged(60)
    one_call = predictions(staged, _engine())
    calls: list[int] = []
    real = CountingClassifier.predict
    counted = lambda self, texts, *rest: (calls.append(texts.len()), real(self, texts, *rest))[1]  # noqa: E731
    monkeypatch.setattr(CountingClassifier, "predict", counted)
    monkeypatch.setattr(module, "PREDICT_CHUNK_ROWS", 7)
    chunked = predictions(staged, _engine())
    assert calls == [7] * 8 + [4]
    assert_frame_equal(chunked, one_call)
