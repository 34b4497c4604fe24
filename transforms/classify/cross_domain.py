"""An evaluation that cannot flatter: leave one domain out.

For each domain of the corpus, train on every other source and score on the one left out: the
model never saw the held-out domain's vocabulary, as it will not have seen a new company's.
Reported per domain:

- **kind**: macro-F1 of complaint vs thanks on the rows labelled complaint or thanks (a
  prediction of wish / question / other counts as a miss for both), and ``other_share``: the share
  of these clearly opinionated rows that came back ``other``;
- **sentiment**: macro-F1 over negative / neutral / positive;
- the same by text length (``LENGTH_BUCKETS``, characters);
- **confidence**: for kind, the accuracy of decisions at or above the review threshold and the
  share of the wrong ones that fall below it (the review queue catches them).

``fixed_model`` scores one given model on every domain instead (no training): the "before" column.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from transforms.classify.engine import REVIEW_THRESHOLD, Classifier
from transforms.classify.evaluate import score
from transforms.classify.model import Model
from transforms.taxonomy import FeedbackType

LENGTH_BUCKETS = ((0, 100, "<100"), (100, 500, "100-499"), (500, 10**9, "500+"))
POLAR = ("complaint", "thanks")


@dataclass(frozen=True)
class DomainScore:
    domain: str
    trained_on: str
    kind_n: int
    kind_macro_f1: float | None
    other_share: float | None
    sentiment_n: int
    sentiment_macro_f1: float | None
    kind_accuracy_confident: float | None
    errors_in_review: float | None
    by_length: dict[str, dict[str, float | int | None]]

    def to_dict(self) -> dict:
        return asdict(self)


def _macro(truth: list[str], predicted: list[str]) -> float | None:
    return score(truth, predicted).macro_f1 if truth else None


def score_domain(held: pl.DataFrame, predicted: pl.DataFrame, domain: str, trained_on: str) -> DomainScore:
    """``held``: text, kind, sentiment; ``predicted``: the classifier's output rows for it, in order."""
    rows = held.select("text", "kind", "sentiment").with_columns(
        p_kind=predicted["kind"],
        p_sentiment=predicted["sentiment"],
        kind_confidence=predicted["kind_confidence"],
        length=pl.col("text").str.len_chars(),
    )
    polar = rows.filter(pl.col("kind").is_in(POLAR))
    sentiment = rows.filter(pl.col("sentiment").is_not_null())
    kind_f1 = _macro(polar["kind"].to_list(), polar["p_kind"].to_list()) if polar.height else None
    other = float((polar["p_kind"] == "other").mean()) if polar.height else None
    sentiment_f1 = _macro(sentiment["sentiment"].to_list(), sentiment["p_sentiment"].to_list())
    confident_accuracy = errors_caught = None
    if polar.height:
        right = (polar["kind"] == polar["p_kind"]).to_numpy()
        sure = (polar["kind_confidence"] >= REVIEW_THRESHOLD).to_numpy()
        confident_accuracy = float(right[sure].mean()) if sure.any() else None
        errors_caught = float((~sure[~right]).mean()) if (~right).any() else None
    by_length: dict[str, dict[str, float | int | None]] = {}
    for low, high, name in LENGTH_BUCKETS:
        in_bucket = (pl.col("length") >= low) & (pl.col("length") < high)
        p, s = polar.filter(in_bucket), sentiment.filter(in_bucket)
        by_length[name] = {
            "kind_n": p.height,
            "kind_macro_f1": _macro(p["kind"].to_list(), p["p_kind"].to_list()) if p.height else None,
            "sentiment_n": s.height,
            "sentiment_macro_f1": _macro(s["sentiment"].to_list(), s["p_sentiment"].to_list()) if s.height else None,
        }
    return DomainScore(
        domain, trained_on, polar.height, kind_f1, other, sentiment.height, sentiment_f1,
        confident_accuracy, errors_caught, by_length,
    )  # fmt: skip


def leave_one_domain_out(
    corpus: pl.DataFrame,
    types: tuple[FeedbackType, ...],
    train: Callable[[pl.DataFrame], Model],
    domains: list[str] | None = None,
) -> list[DomainScore]:
    """Per held-out domain: train on the rest (``train``), predict the held-out rows, score them."""
    out = []
    for domain in domains or sorted(corpus["domain"].unique().to_list()):
        held = corpus.filter(pl.col("domain") == domain)
        rest = corpus.filter(pl.col("domain") != domain)
        model = train(rest)
        predicted = Classifier(types, model).predict(held["text"])
        out.append(score_domain(held, predicted, domain, "+".join(sorted(rest["domain"].unique().to_list()))))
    return out


def fixed_model(
    corpus: pl.DataFrame, classifier: Classifier, domains: list[str] | None = None, label: str = "fixed"
) -> list[DomainScore]:
    """One classifier scored on every domain (no training)."""
    out = []
    for domain in domains or sorted(corpus["domain"].unique().to_list()):
        held = corpus.filter(pl.col("domain") == domain)
        out.append(score_domain(held, classifier.predict(held["text"]), domain, label))
    return out


def average(scores: list[DomainScore], field: str) -> float | None:
    values = [getattr(s, field) for s in scores if getattr(s, field) is not None]
    return float(np.mean(values)) if values else None


def table_lines(scores: list[DomainScore]) -> list[str]:
    """A plain-text table: one line per domain, then the averages and the length breakdown."""

    def f(value: float | None, pct: bool = False) -> str:
        if value is None:
            return "—"
        return f"{value * 100:.1f} %" if pct else f"{value:.3f}"

    head = f"{'held out':<13}{'kind n':>8}{'kind F1':>9}{'other':>9}{'sent n':>8}{'sent F1':>9}"
    head += f"{'acc≥thr':>9}{'err→rev':>9}"
    lines = [head]
    for s in scores:
        lines.append(
            f"{s.domain:<13}{s.kind_n:>8}{f(s.kind_macro_f1):>9}{f(s.other_share, True):>9}{s.sentiment_n:>8}"
            f"{f(s.sentiment_macro_f1):>9}{f(s.kind_accuracy_confident):>9}{f(s.errors_in_review, True):>9}"
        )
    lines.append(
        f"{'mean':<13}{'':>8}{f(average(scores, 'kind_macro_f1')):>9}{f(average(scores, 'other_share'), True):>9}"
        f"{'':>8}{f(average(scores, 'sentiment_macro_f1')):>9}"
    )
    lines.append("")
    lines.append("by length (characters): kind F1 (n) / sentiment F1 (n)")
    for s in scores:
        cells = [
            f"{name}: {f(b['kind_macro_f1'])} ({b['kind_n']}) / {f(b['sentiment_macro_f1'])} ({b['sentiment_n']})"
            for name, b in s.by_length.items()
        ]
        lines.append(f"{s.domain:<13}" + "   ".join(cells))
    return lines
