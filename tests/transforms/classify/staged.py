"""The staged feedback columns the classifier reads, for frames built by hand in these tests."""

import polars as pl

STAGED_SCHEMA = {
    "feedback_id": pl.String,
    "channel_id": pl.String,
    "body_text": pl.String,
    "store_id": pl.String,
    "score_10": pl.Float64,
    "received_at": pl.Datetime("us", "UTC"),
}
