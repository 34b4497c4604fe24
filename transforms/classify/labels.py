"""Manual labels as people hand them over (CSV/XLSX, or fields of a CRM export): validated rows.

A label file has ``feedback_id`` and any of ``kind``, ``sentiment``, ``feedback_type_id`` (a CRM
export's own names can be mapped with ``columns``). Empty cells say nothing; a bad value stops the
import with the row it is on, so nothing half-imported reaches the warehouse.
"""

import polars as pl

from transforms.classify.kind_rules import SENTIMENTS, TEXT_KINDS
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, FeedbackType

LABEL_COLUMNS = ("kind", "sentiment", "feedback_type_id")


def parse_labels(
    frame: pl.DataFrame, types: tuple[FeedbackType, ...], columns: dict[str, str] | None = None
) -> pl.DataFrame:
    """Validated labels: feedback_id, kind, sentiment, feedback_type_id (nulls where not given)."""
    mapping = {"feedback_id": "feedback_id", **{c: c for c in LABEL_COLUMNS}, **(columns or {})}
    if mapping["feedback_id"] not in frame.columns:
        raise ValueError(f"the label file has no {mapping['feedback_id']!r} column")
    present = [c for c in LABEL_COLUMNS if mapping[c] in frame.columns]
    if not present:
        raise ValueError(f"the label file has none of the label columns {', '.join(mapping[c] for c in LABEL_COLUMNS)}")
    out = frame.select(
        pl.col(mapping["feedback_id"]).cast(pl.String).str.strip_chars().alias("feedback_id"),
        *[
            (
                pl.col(mapping[c]).cast(pl.String).str.strip_chars().str.to_lowercase()
                if c in present
                else pl.lit(None, pl.String)
            ).alias(c)
            for c in LABEL_COLUMNS
        ],
    ).with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in LABEL_COLUMNS)
    allowed = {
        "kind": set(TEXT_KINDS),
        "sentiment": set(SENTIMENTS),
        "feedback_type_id": {t.feedback_type_id for t in types} | {UNCLASSIFIED_TYPE_ID},
    }
    for index, row in enumerate(out.iter_rows(named=True), start=2):
        if not row["feedback_id"]:
            raise ValueError(f"label row {index}: empty feedback_id")
        for column, values in allowed.items():
            if row[column] is not None and row[column] not in values:
                raise ValueError(f"label row {index}: unknown {column} {row[column]!r}")
    out = out.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in LABEL_COLUMNS))
    if out.height == 0:
        raise ValueError("the label file has no labelled rows")
    return out
