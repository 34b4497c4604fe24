"""Manual labels in the warehouse (raw.manual_labels), the review queue, and labelled rows for training."""

import duckdb
import polars as pl

from warehouse.lake import next_numbers, target_of

LATEST_LABELS_SQL = """
    select feedback_id, kind, sentiment, feedback_type_id
    from raw.manual_labels
    qualify row_number() over (partition by feedback_id order by labelled_at desc, label_seq desc) = 1
"""


def store_labels(con: duckdb.DuckDBPyConnection, labels: pl.DataFrame, *, labelled_by: str, source: str) -> int:
    """Append validated labels (``transforms.classify.labels.parse_labels``); return how many."""
    staged = labels.with_columns(labelled_by=pl.lit(labelled_by), source=pl.lit(source))
    columns = "feedback_id, kind, sentiment, feedback_type_id, labelled_by, source"
    if target_of(con) is not None:  # a DuckLake has no column defaults from sequences (warehouse/lake.py)
        numbers = next_numbers(con, "raw.manual_label_seq", staged.height)
        staged = staged.with_columns(label_seq=pl.Series(numbers, dtype=pl.Int64))
        columns = "label_seq, " + columns
    con.register("_incoming_labels", staged.to_arrow())
    try:
        con.execute(f"insert into raw.manual_labels ({columns}) select {columns} from _incoming_labels")
    finally:
        con.unregister("_incoming_labels")
    return labels.height


def latest_labels(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The label in force per feedback_id (what the build applies)."""
    return con.sql(LATEST_LABELS_SQL).pl()


def review_queue(con: duckdb.DuckDBPyConnection, *, limit: int = 100) -> pl.DataFrame:
    """Items the classifier was least sure of and nobody has labelled yet, least sure first."""
    return con.execute(
        f"""
        select f.feedback_id, f.channel_id, f.received_at, f.body_text, f.kind, f.sentiment,
               f.feedback_type_id, f.classification_confidence as confidence, f.classification_method as method
        from core.fct_feedback as f
        anti join ({LATEST_LABELS_SQL}) as l on l.feedback_id = f.feedback_id
        where f.needs_review
        order by f.classification_confidence, f.received_at desc, f.feedback_id
        limit ?
        """,
        [limit],
    ).pl()


def labelled_training_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Manual labels joined to their items' text and score: training rows for ``train``."""
    return con.sql(
        f"""
        select f.body_text as text, f.score_10, l.kind, l.sentiment, l.feedback_type_id as feedback_type
        from ({LATEST_LABELS_SQL}) as l
        join core.fct_feedback as f on f.feedback_id = l.feedback_id
        where f.has_text
        order by l.feedback_id
        """
    ).pl()
