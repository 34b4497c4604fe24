"""Classify staged feedback: kind, feedback type and the owning directorate (Polars, set-based).

``classify(feedback, ...)`` adds ``kind``, ``feedback_type_id``, ``directorate_id``,
``department_id``, ``manager_id``, ``has_text`` and ``classifier_version`` to the staged
feedback frame. Types are tried in taxonomy-file order; the first whose keywords match wins.
An item that matches no type falls back to its channel's ``default_feedback_type``; then, if it
names a store, to the store's manager in retail; otherwise to the missing members
('unclassified', 'unassigned').
"""

import hashlib

import polars as pl

from transforms.channels import Channel
from transforms.classify.kind_rules import COMPLAINT, KINDS, QUESTION, THANKS, WISH
from transforms.org import MISSING_DIRECTORATE_ID, Org
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, FeedbackType

__all__ = ["KINDS", "classifier_version", "classify"]


def classifier_version(types: tuple[FeedbackType, ...]) -> str:
    """Content hash of the rules in force: the kind patterns and every type's keywords."""
    digest = hashlib.sha256()
    for part in (COMPLAINT, WISH, QUESTION, THANKS, *(f"{t.feedback_type_id}={t.keywords}" for t in types)):
        digest.update(part.encode())
    return "rules-" + digest.hexdigest()[:12]


def _kind(text: pl.Expr) -> pl.Expr:
    complaint_hits = text.str.count_matches(COMPLAINT)
    has_text = text.str.strip_chars().str.len_chars().fill_null(0) > 0
    return (
        pl.when(~has_text)
        .then(pl.lit("unclassified"))
        .when(text.str.contains(WISH) & (complaint_hits < 2))
        .then(pl.lit("wish"))
        .when(complaint_hits > 0)
        .then(pl.lit("complaint"))
        .when(text.str.contains(QUESTION))
        .then(pl.lit("question"))
        .when(text.str.contains(THANKS))
        .then(pl.lit("thanks"))
        .otherwise(pl.lit("unclassified"))
    )


def _feedback_type(text: pl.Expr, types: tuple[FeedbackType, ...]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for t in reversed(types):  # built inside-out so that the first type in the file wins
        expr = pl.when(text.str.contains(f"(?i){t.keywords}")).then(pl.lit(t.feedback_type_id)).otherwise(expr)
    return expr


def classify(
    feedback: pl.LazyFrame,
    *,
    types: tuple[FeedbackType, ...],
    org: Org,
    channels: tuple[Channel, ...],
) -> pl.LazyFrame:
    """Add kind, type and owner columns to staged feedback (one row in, one row out)."""
    text = pl.col("body_text").fill_null("")
    channel_default = pl.DataFrame(
        {
            "channel_id": [c.id for c in channels],
            "_channel_default_type": [c.default_feedback_type for c in channels],
        },
        schema={"channel_id": pl.String, "_channel_default_type": pl.String},
    ).lazy()
    type_owner = pl.DataFrame(
        {
            "feedback_type_id": [t.feedback_type_id for t in types],
            "_type_directorate_id": [t.directorate_id for t in types],
            "_type_department_id": [t.department_id for t in types],
        }
    ).lazy()
    department_of_manager = {m.id: m.department_id for m in org.managers}
    store_owner = pl.DataFrame(
        {
            "store_id": [s.id for s in org.stores],
            "_store_manager_id": [s.manager_id for s in org.stores],
            "_store_department_id": [department_of_manager[s.manager_id] for s in org.stores],
        }
    ).lazy()
    retail_departments = {dep.id for d in org.directorates if d.id == "retail" for dep in d.departments}
    return (
        feedback.with_columns(
            has_text=text.str.strip_chars().str.len_chars() > 0,
            kind=_kind(text),
            _matched_type=_feedback_type(text, types),
        )
        .join(channel_default, on="channel_id", how="left", maintain_order="left")
        .with_columns(feedback_type_id=pl.coalesce("_matched_type", "_channel_default_type"))
        .join(type_owner, on="feedback_type_id", how="left", maintain_order="left")
        .join(store_owner, on="store_id", how="left", maintain_order="left")
        .with_columns(
            # A store's own manager owns what is said about that store: retail types, or an
            # item that matched no type at all but was left in the store's complaint book.
            _store_owns=pl.col("_store_manager_id").is_not_null()
            & (pl.col("_type_department_id").is_in(list(retail_departments)) | pl.col("feedback_type_id").is_null()),
        )
        .with_columns(
            feedback_type_id=pl.col("feedback_type_id").fill_null(UNCLASSIFIED_TYPE_ID),
            directorate_id=pl.when("_store_owns")
            .then(pl.lit("retail"))
            .otherwise(pl.col("_type_directorate_id"))
            .fill_null(MISSING_DIRECTORATE_ID),
            department_id=pl.when("_store_owns")
            .then(pl.col("_store_department_id"))
            .otherwise(pl.col("_type_department_id")),
            manager_id=pl.when("_store_owns").then(pl.col("_store_manager_id")).otherwise(pl.lit(None, pl.String)),
            classifier_version=pl.lit(classifier_version(types)),
        )
        .drop(
            "_matched_type",
            "_channel_default_type",
            "_type_directorate_id",
            "_type_department_id",
            "_store_manager_id",
            "_store_department_id",
            "_store_owns",
        )
    )
