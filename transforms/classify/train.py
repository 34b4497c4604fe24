"""Fit the model's heads from labelled rows (seed file, imported manual labels, any labelled CSV).

Deterministic: fixed fold assignment and solver, no random state left unset, so the same labels
give the same artifact byte for byte (and the same content hash) on the same machine with the same BLAS
threads; another BLAS kernel or thread count can move the sentiment head's weights (docs/classification.md).
"""

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from transforms.classify.corpus import source_weights
from transforms.classify.features import Featurizer
from transforms.classify.model import N_FEATURES, Head, Model

# L2 strength: chosen on the seed set by 5-fold CV over {1, 3, 10, 30}; texts are short and few.
DEFAULT_C = 10.0
MIN_PER_CLASS = 2
MIN_ROWS_PER_FEATURE = 2
TASKS = ("kind", "sentiment", "type")


def _fit(x: sparse.csr_matrix, y: np.ndarray, c: float, w: np.ndarray | None = None) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=2000, class_weight="balanced", solver="lbfgs").fit(x, y, sample_weight=w)


def _temperature(
    x: sparse.csr_matrix, y: np.ndarray, classes: np.ndarray, c: float, w: np.ndarray | None = None
) -> float:
    """Temperature minimising the log-loss of out-of-fold predictions (1 when folds are too small)."""
    folds = min(5, int(np.min(np.unique(y, return_counts=True)[1])))
    if folds < 2:
        return 1.0
    scores = np.zeros((len(y), len(classes)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        fitted = _fit(x[train], y[train], c, None if w is None else w[train])
        index = [list(classes).index(k) for k in fitted.classes_]
        raw = x[test] @ fitted.coef_.T + fitted.intercept_
        if len(classes) == 2 and raw.shape[1] == 1:
            raw = np.hstack([-raw / 2, raw / 2])
        scores[np.ix_(test, index)] = raw
    truth = np.searchsorted(classes, y)
    best, best_loss = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.2), np.log(5), 61)):
        s = scores / t
        s -= s.max(axis=1, keepdims=True)
        loss = -np.mean(s[np.arange(len(y)), truth] - np.log(np.exp(s).sum(axis=1)))
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def fit_head(
    x: sparse.csr_matrix, labels: Sequence[str], c: float = DEFAULT_C, weights: Sequence[float] | None = None
) -> Head:
    """One head; ``weights`` (per row, optional) balance the sources (``corpus.source_weights``)."""
    y = np.asarray(labels)
    w = None if weights is None else np.asarray(weights, dtype=float)
    values, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, values[counts >= MIN_PER_CLASS])
    x, y = x[keep], y[keep]
    w = None if w is None else w[keep]
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("a head needs at least two classes with two labelled rows each")
    # Fit on the buckets that at least MIN_ROWS_PER_FEATURE rows use: a word or bigram seen once
    # teaches nothing that carries to another text (and most bigrams of long reviews are seen once),
    # and the artifact keeps only the weights of fitted buckets. An unused bucket's weight is 0
    # under L2, so fitting on the used columns alone gives the same optimum, much faster.
    rows_per_bucket = np.bincount(x.indices, minlength=x.shape[1])
    used = np.flatnonzero(rows_per_bucket >= MIN_ROWS_PER_FEATURE)
    if used.size == 0:  # a tiny label file where every word is new: keep them all
        used = np.flatnonzero(rows_per_bucket)
    compact = x[:, used]
    fitted = _fit(compact, y, c, w)
    coef, intercept = fitted.coef_, fitted.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes; the artifact keeps one per class
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = np.zeros((x.shape[1], len(classes)))
    weights[used] = coef.T
    return Head(tuple(str(k) for k in classes), weights, intercept, _temperature(compact, y, classes, c, w))


def train_model(
    labelled: pl.DataFrame,
    *,
    featurizer: Featurizer | None = None,
    c: float = DEFAULT_C,
    tasks: Sequence[str] = TASKS,
    provenance: dict | None = None,
) -> Model:
    """Train one head per task that has labels. ``labelled``: text, score_10 (optional) and any of
    kind / sentiment / feedback_type columns (null = not labelled for that task). With a ``source``
    column, rows are weighted so that each source brings the same total weight to a task
    (``corpus.source_weights``): the 8,600 CEDR sentences do not drown the 280 car reviews."""
    featurizer = featurizer or Featurizer()
    columns = {"kind": "kind", "sentiment": "sentiment", "type": "feedback_type"}
    x_all = featurizer.matrix(labelled)
    heads: dict[str, Head] = {}
    for task in tasks:
        column = columns[task]
        if column not in labelled.columns:
            continue
        mask = labelled[column].is_not_null() & (labelled[column].cast(pl.String) != "")
        if mask.sum() == 0 or labelled.filter(mask)[column].n_unique() < 2:
            continue
        rows = np.flatnonzero(mask.to_numpy())
        weights = None
        if "source" in labelled.columns:
            weights = source_weights(labelled.filter(mask).with_columns(_label=pl.col(column)), "_label").to_list()
        heads[task] = fit_head(x_all[rows], labelled[column].filter(mask).cast(pl.String).to_list(), c, weights)
    if not heads:
        raise ValueError("no task has labels of two classes or more: nothing to train")
    model = Model(heads, N_FEATURES, {"rows": labelled.height, "c": c, **(provenance or {})})
    return Model.from_text(model.to_text())  # predictions always come from the rounded artifact
