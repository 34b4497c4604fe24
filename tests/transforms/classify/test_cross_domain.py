"""Leave-one-domain-out on a tiny fixture, and the scores by hand."""

import polars as pl
import pytest

from transforms.classify.cross_domain import leave_one_domain_out, score_domain, table_lines
from transforms.classify.train import train_model
from transforms.taxonomy import load_feedback_types


def test_scores_by_hand() -> None:
    held = pl.DataFrame(
        {
            "text": ["a" * 50, "b" * 50, "c" * 600, "d" * 600, "e" * 50],
            "kind": ["complaint", "complaint", "thanks", "thanks", None],
            "sentiment": ["negative", "negative", "positive", "positive", "neutral"],
        }
    )
    predicted = pl.DataFrame(
        {
            "kind": ["complaint", "other", "thanks", "complaint", "other"],
            "sentiment": ["negative", "neutral", "positive", "negative", "neutral"],
            "kind_confidence": [0.9, 0.3, 0.8, 0.7, 0.5],
        }
    )
    s = score_domain(held, predicted, "d", "rest")
    # complaint: P 1/2 R 1/2 F1 0.5; thanks: P 1 R 1/2 F1 2/3
    assert s.kind_n == 4 and s.kind_macro_f1 == pytest.approx((0.5 + 2 / 3) / 2)
    assert s.other_share == pytest.approx(0.25)
    # negative: P 1/2 R 1/2; neutral: P 1/2 R 1 (2/3); positive: P 1 R 1/2 (2/3)
    assert s.sentiment_macro_f1 == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    # confident (>= 0.6): rows 1, 3, 4 of the polar ones, 2 right; wrong: rows 2 and 4, one under 0.6
    assert s.kind_accuracy_confident == pytest.approx(2 / 3)
    assert s.errors_in_review == pytest.approx(0.5)
    assert s.by_length["<100"]["kind_n"] == 2 and s.by_length["500+"]["kind_n"] == 2
    assert s.by_length["100-499"]["kind_macro_f1"] is None


FIXTURE = {
    "shop": (
        ["Ужасный магазин, хамят", "Отвратительно, продавец нахамил"],
        ["Спасибо, отличный магазин", "Прекрасный магазин, вежливо"],
    ),
    "bank": (
        ["Ужасный банк, списали деньги", "Отвратительно, карту заблокировали"],
        ["Спасибо, отличный банк", "Прекрасное обслуживание в банке"],
    ),
    "taxi": (
        ["Ужасное такси, водитель хамил", "Отвратительно, опоздал на час"],
        ["Спасибо, отличная поездка", "Прекрасный водитель, вежливо"],
    ),
}


def test_each_domain_is_scored_by_a_model_that_never_saw_it() -> None:
    rows = [
        {"text": t, "kind": k, "sentiment": s, "score_10": None, "source": d, "domain": d, "language": "ru"}
        for d, (bad, good) in FIXTURE.items()
        for texts, k, s in ((bad, "complaint", "negative"), (good, "thanks", "positive"))
        for t in texts * 2
    ]
    corpus = pl.DataFrame(rows, schema_overrides={"score_10": pl.Float64})
    seen: list[list[str]] = []

    def train(rest: pl.DataFrame):
        seen.append(sorted(rest["domain"].unique().to_list()))
        return train_model(rest)

    scores = leave_one_domain_out(corpus, load_feedback_types(), train)
    assert [s.domain for s in scores] == ["bank", "shop", "taxi"]
    assert seen == [["shop", "taxi"], ["bank", "taxi"], ["bank", "shop"]]
    for s in scores:
        assert s.kind_n == 8 and s.sentiment_n == 8
        assert 0 <= s.kind_macro_f1 <= 1 and 0 <= s.other_share <= 1
    lines = table_lines(scores)
    assert lines[0].startswith("held out") and any(line.startswith("mean") for line in lines)
