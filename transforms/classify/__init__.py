"""Classify staged feedback: kind, sentiment, feedback type, owner, confidence and method.

``classify(feedback, ...)`` adds to the staged feedback frame (one row in, one row out):
``kind`` (complaint / wish / thanks / question / other; ``unclassified`` = no text),
``sentiment``, ``feedback_type_id`` (a taxonomy code or ``unclassified``), the owner
(``directorate_id``, ``department_id``, ``manager_id``), ``confidence`` (and per-label
confidences), ``method`` (rule / model / manual), ``needs_review``, ``taxonomy_version``,
``model_version`` and ``classifier_version`` (both versions in one string).

Owner: the type's department; an item about a store (it names a ``store_id``) of a retail type,
or of no type, goes to the store's manager *on the item's day* (org.yaml ``manager_history``). An
item whose text names no type falls back to its channel's ``default_feedback_type``, then to
the missing members ('unclassified', 'unassigned'). A manual label (``manual_labels``: the latest
label per feedback_id) overrides the prediction of each label it gives.
"""

import polars as pl

from transforms.channels import Channel
from transforms.classify.engine import OUTPUT_SCHEMA, REVIEW_THRESHOLD, Classifier, default_classifier
from transforms.classify.kind_rules import KINDS, NO_TEXT_KIND, SENTIMENTS, TEXT_KINDS
from transforms.org import MISSING_DIRECTORATE_ID, Org
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, FeedbackType

__all__ = [
    "KINDS",
    "NO_TEXT_KIND",
    "SENTIMENTS",
    "TEXT_KINDS",
    "Classifier",
    "classifier_for",
    "classifier_version",
    "classify",
    "latest_manual_labels",
]

MANUAL_LABEL_COLUMNS = {
    "feedback_id": pl.String,
    "kind": pl.String,
    "sentiment": pl.String,
    "feedback_type_id": pl.String,
}


def classifier_for(types: tuple[FeedbackType, ...], classifier: Classifier | None = None) -> Classifier:
    """``classifier`` (default: the committed model) over exactly ``types``."""
    base = classifier or default_classifier()
    return base if base.types == types else Classifier(types, base.model, base.featurizer)


def classifier_version(types: tuple[FeedbackType, ...], classifier: Classifier | None = None) -> str:
    """Taxonomy and model versions in force, e.g. ``tax-1a2b…+model-3c4d…``."""
    c = classifier_for(types, classifier)
    return f"{c.taxonomy_version}+{c.model_version}"


def _store_managers(frame: pl.DataFrame, org: Org) -> pl.DataFrame:
    stores = {s.id: s for s in org.stores}
    department_of_manager = {m.id: m.department_id for m in org.managers}
    pairs = frame.select("store_id", "_day").unique().filter(pl.col("store_id").is_in(list(stores)))
    managers = [
        stores[store].manager_on(day) if day is not None else stores[store].manager_id
        for store, day in pairs.iter_rows()
    ]
    return pairs.with_columns(
        _store_manager_id=pl.Series(managers, dtype=pl.String),
        _store_department_id=pl.Series([department_of_manager[m] for m in managers], dtype=pl.String),
    )


def latest_manual_labels(labels: pl.LazyFrame) -> pl.DataFrame:
    """The label in force per feedback_id of ``raw.manual_labels`` rows (latest labelled_at, then label_seq)."""
    return (
        labels.sort("labelled_at", "label_seq")
        .unique("feedback_id", keep="last", maintain_order=True)
        .select(list(MANUAL_LABEL_COLUMNS))
        .collect()
    )


def _aligned(frame: pl.DataFrame, predicted: pl.DataFrame) -> pl.DataFrame:
    """``OUTPUT_SCHEMA`` columns of ``predicted`` in the order of ``frame``'s feedback_ids, every item once."""
    by_id = predicted.select("feedback_id", *OUTPUT_SCHEMA)
    aligned = frame.select("feedback_id").join(by_id, on="feedback_id", how="left", maintain_order="left")
    if aligned.height != frame.height or aligned["method"].null_count():
        raise ValueError("the predictions do not cover every staged item exactly once: rebuild them")
    return aligned.drop("feedback_id")


def _with_manual_labels(frame: pl.DataFrame, manual: pl.DataFrame | None) -> pl.DataFrame:
    if manual is None or manual.height == 0:
        return frame
    labels = manual.select(
        pl.col(c).cast(t).alias(f"_manual_{c}" if c != "feedback_id" else c) for c, t in MANUAL_LABEL_COLUMNS.items()
    ).unique("feedback_id", keep="last", maintain_order=True)
    frame = frame.join(labels, on="feedback_id", how="left", maintain_order="left")
    labelled = pl.any_horizontal(
        pl.col(f"_manual_{c}").is_not_null() for c in ("kind", "sentiment", "feedback_type_id")
    )
    return frame.with_columns(
        kind=pl.coalesce("_manual_kind", "kind"),
        sentiment=pl.coalesce("_manual_sentiment", "sentiment"),
        _matched_type=pl.coalesce("_manual_feedback_type_id", "_matched_type"),
        confidence=pl.when(labelled).then(1.0).otherwise(pl.col("confidence")),
        method=pl.when(labelled).then(pl.lit("manual")).otherwise(pl.col("method")),
    ).drop("_manual_kind", "_manual_sentiment", "_manual_feedback_type_id")


def classify(
    feedback: pl.LazyFrame,
    *,
    types: tuple[FeedbackType, ...],
    org: Org,
    channels: tuple[Channel, ...],
    classifier: Classifier | None = None,
    manual_labels: pl.DataFrame | None = None,
    predicted: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Add the classification and owner columns to staged feedback (one row in, one row out).

    ``predicted``: the items' predictions by feedback_id (``transforms.classify.predictions``, made
    by the same classifier); without it every item is predicted here."""
    engine = classifier_for(types, classifier)
    frame = feedback.collect()
    names = frame.columns
    day = pl.col("received_at").dt.date() if "received_at" in names else pl.lit(None, pl.Date)
    frame = frame.with_columns(_day=day)
    scores = frame["score_10"] if "score_10" in names else None
    if predicted is None:
        predicted = engine.predict(frame["body_text"], scores, frame["_day"])
    else:
        predicted = _aligned(frame, predicted)
    text = pl.col("body_text").fill_null("")
    frame = pl.concat([frame, predicted.rename({"predicted_type_id": "_matched_type"})], how="horizontal")
    frame = frame.with_columns(has_text=text.str.strip_chars().str.len_chars() > 0)
    if "feedback_id" in names:
        frame = _with_manual_labels(frame, manual_labels)
    channel_default = pl.DataFrame(
        {"channel_id": [c.id for c in channels], "_channel_default_type": [c.default_feedback_type for c in channels]},
        schema={"channel_id": pl.String, "_channel_default_type": pl.String},
    )
    type_owner = pl.DataFrame(
        {
            "feedback_type_id": [t.feedback_type_id for t in types],
            "_type_directorate_id": [t.directorate_id for t in types],
            "_type_department_id": [t.department_id for t in types],
        },
        schema={"feedback_type_id": pl.String, "_type_directorate_id": pl.String, "_type_department_id": pl.String},
    )
    retail_departments = [dep.id for d in org.directorates if d.id == "retail" for dep in d.departments]
    frame = (
        frame.join(channel_default, on="channel_id", how="left", maintain_order="left")
        .with_columns(feedback_type_id=pl.coalesce("_matched_type", "_channel_default_type"))
        .join(type_owner, on="feedback_type_id", how="left", maintain_order="left")
    )
    frame = frame.join(
        _store_managers(frame, org), on=["store_id", "_day"], how="left", maintain_order="left", nulls_equal=True
    )
    return (
        frame.with_columns(
            # A store's manager owns what is said about that store: retail types, or an item that
            # matched no type at all but was left in the store's complaint book.
            _store_owns=pl.col("_store_manager_id").is_not_null()
            & (pl.col("_type_department_id").is_in(retail_departments) | pl.col("feedback_type_id").is_null()),
        )
        .with_columns(
            feedback_type_id=pl.col("feedback_type_id").fill_null(UNCLASSIFIED_TYPE_ID),
            directorate_id=pl.when("_store_owns")
            .then(pl.lit("retail"))
            .otherwise(pl.col("_type_directorate_id"))
            .fill_null(MISSING_DIRECTORATE_ID),
            department_id=pl.when("_store_owns").then(pl.col("_store_department_id")).otherwise("_type_department_id"),
            manager_id=pl.when("_store_owns").then(pl.col("_store_manager_id")).otherwise(pl.lit(None, pl.String)),
            needs_review=pl.col("confidence") < REVIEW_THRESHOLD,
            taxonomy_version=pl.lit(engine.taxonomy_version),
            model_version=pl.lit(engine.model_version),
            classifier_version=pl.lit(f"{engine.taxonomy_version}+{engine.model_version}"),
        )
        .drop(
            "_day",
            "_matched_type",
            "_channel_default_type",
            "_type_directorate_id",
            "_type_department_id",
            "_store_manager_id",
            "_store_department_id",
            "_store_owns",
        )
        .lazy()
    )
