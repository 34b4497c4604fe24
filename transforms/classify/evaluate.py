"""Quality measures: per-class precision / recall / F1, macro-F1, accuracy, confusion matrix; k-fold CV."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
from sklearn.model_selection import StratifiedKFold

from transforms.classify.engine import Classifier
from transforms.taxonomy import FeedbackType

TASK_COLUMNS = {"kind": "kind", "sentiment": "sentiment", "type": "predicted_type_id"}


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    n: int
    accuracy: float
    macro_f1: float
    classes: list[ClassScore]
    labels: list[str]
    confusion: list[list[int]]  # rows: truth, columns: prediction, in ``labels`` order

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"{'class':<24}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        out += [f"{c.label:<24}{c.precision:>10.3f}{c.recall:>10.3f}{c.f1:>10.3f}{c.support:>10}" for c in self.classes]
        out.append(f"n={self.n}  accuracy={self.accuracy:.3f}  macro-F1={self.macro_f1:.3f}")
        width = max(len(label) for label in self.labels) + 2
        out.append("confusion (rows: truth, columns: predicted)")
        out.append(" " * width + "".join(f"{label[:10]:>11}" for label in self.labels))
        out += [
            f"{label:<{width}}" + "".join(f"{v:>11}" for v in row)
            for label, row in zip(self.labels[: len(self.confusion)], self.confusion, strict=True)
        ]
        return out


def score(truth: Sequence[str], predicted: Sequence[str]) -> Report:
    """Scores over the classes present in the truth (macro-F1 averages those)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    if not truth:
        raise ValueError("nothing to evaluate: no labelled rows")
    t, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    gold = sorted(set(t))
    labels = gold + sorted(set(p) - set(gold))
    classes = []
    for label in gold:
        tp = int(np.sum((t == label) & (p == label)))
        precision = tp / max(int(np.sum(p == label)), 1)
        recall = tp / max(int(np.sum(t == label)), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        classes.append(ClassScore(label, precision, recall, f1, int(np.sum(t == label))))
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in gold]
    for a, b in zip(t, p, strict=True):
        confusion[index[a]][index[b]] += 1
    return Report(
        n=len(t),
        accuracy=float(np.mean(t == p)),
        macro_f1=float(np.mean([c.f1 for c in classes])),
        classes=classes,
        labels=labels,
        confusion=confusion[: len(gold)],
    )


def evaluate(classifier: Classifier, frame: pl.DataFrame, task: str, text_col: str, label_col: str,
             score_col: str | None = None) -> Report:  # fmt: skip
    """Score ``classifier`` on ``frame`` rows that carry a label."""
    frame = frame.filter(pl.col(label_col).is_not_null() & (pl.col(label_col).cast(pl.String) != ""))
    scores = frame[score_col] if score_col else None
    predicted = classifier.predict(frame[text_col], scores)[TASK_COLUMNS[task]].fill_null("unclassified")
    return score(frame[label_col].cast(pl.String).to_list(), predicted.to_list())


def cross_validate(frame: pl.DataFrame, task: str, types: tuple[FeedbackType, ...], *, folds: int = 5,
                   seed_rows: pl.DataFrame | None = None) -> Report:  # fmt: skip
    """k-fold CV of ``train`` on ``frame`` (columns text, score_10, and the task's label column).

    Each fold trains on the other folds (plus ``seed_rows``, when given) and predicts its own
    rows; the report pools the out-of-fold predictions.
    """
    from transforms.classify.train import train_model

    column = {"kind": "kind", "sentiment": "sentiment", "type": "feedback_type"}[task]
    y = frame[column].cast(pl.String).to_numpy()
    predicted = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        part = frame[train]
        if seed_rows is not None:
            part = pl.concat([part, seed_rows.select(part.columns)], how="vertical_relaxed")
        model = train_model(part, tasks=(task,))
        heads = model.heads
        classifier = Classifier(types, model)
        if task != "type":  # the engine always needs kind and sentiment heads: borrow the trained one
            heads.setdefault("kind", heads[task])
            heads.setdefault("sentiment", heads[task])
        held = frame[test]
        out = classifier.predict(held["text"], held["score_10"] if "score_10" in held.columns else None)
        if task == "type":
            labels, _ = model.heads["type"].predict(classifier.featurizer.matrix(held))
            predicted[test] = labels
        else:
            predicted[test] = out[TASK_COLUMNS[task]].to_list()
    return score(list(y), list(predicted))
