"""Voice of the customer chosen for meaning: the quotes that stand for a group of complaints.

A figure of the review (a complaint type's complaints, a growth point) has the items behind it. The
quotes shown for it are those closest to what the group says as a whole: each text becomes a TF-IDF
vector of character n-grams (robust to Russian inflection and typos, no dictionary to ship), the
group's centre is their mean, and the texts most similar to the centre win. A text that repeats an
already chosen one (cosine above ``max_overlap``) is passed over, so three quotes say three things.
Very short texts say too little and very long ones bury the point: only texts between
``min_chars`` and ``max_chars`` compete while at least ``n`` of them exist. Ties go to the smaller
item id, so the same snapshot always quotes the same items, whatever their order.

scikit-learn's TfidfVectorizer does the vectors: it is already a dependency (the classifier's training),
and it is deterministic for a given input. It is imported when quotes are chosen, not with this module:
in a fresh process, importing scikit-learn (and the SciPy statistics it pulls in) takes about 0.7 s, which
every process that imported the review's modules paid, writing a review or not.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np


def representative(
    items: Sequence[dict[str, Any]],
    n: int,
    *,
    text_key: str = "body_text",
    id_key: str = "feedback_id",
    min_chars: int = 40,
    max_chars: int = 400,
    max_overlap: float = 0.5,
) -> list[dict[str, Any]]:
    """Up to ``n`` items whose texts are closest to the group's centre, in order of closeness."""
    texts = [i for i in items if isinstance(i.get(text_key), str) and i[text_key].strip()]
    if n <= 0 or not texts:
        return []
    texts.sort(key=lambda i: str(i.get(id_key)))
    fitting = [i for i in texts if min_chars <= len(i[text_key]) <= max_chars]
    pool = fitting if len(fitting) >= n else texts
    if len(pool) == 1:
        return pool[:n]
    from sklearn.feature_extraction.text import TfidfVectorizer  # 0.7 s to import (module docstring)

    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
    matrix = vectors.fit_transform([i[text_key] for i in pool])  # rows are L2-normalised
    centre = np.asarray(matrix.mean(axis=0)).ravel()
    closeness = matrix @ centre / (np.linalg.norm(centre) or 1.0)
    order = sorted(range(len(pool)), key=lambda k: (-round(float(closeness[k]), 12), k))
    chosen: list[int] = []
    for k in order:
        if len(chosen) == n:
            break
        if chosen and max(float(matrix[k].multiply(matrix[c]).sum()) for c in chosen) > max_overlap:
            continue
        chosen.append(k)
    for k in order:  # every remaining text repeats a chosen one: fill up with the closest of them
        if len(chosen) == n:
            break
        if k not in chosen:
            chosen.append(k)
    return [pool[k] for k in chosen]
