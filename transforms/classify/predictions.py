"""The classifier's predictions of every staged item, reused from the last build where nothing changed.

A prediction (``Classifier.predict``: kind, sentiment, matched type, confidences, method) is a pure
function of the item's text, its 0-10 score, its day (taxonomy rules have validity dates) and the
classifier's version (taxonomy + model). So an item whose four inputs are the same as in the last
build gets the last build's prediction, and only new or changed items are predicted: an hourly build
over a long history predicts the new hour, not the history. A build without a last result (a new
warehouse, a replay in a scratch one) predicts everything and gets the same rows, which
tests/transforms/classify/test_predictions.py proves on the rows themselves.

Manual labels, the channel's default type and the owner are applied after this, in ``classify``.
"""

import polars as pl

from transforms.classify.engine import OUTPUT_SCHEMA, Classifier

PREDICTION_INPUTS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "body_text": pl.String(),
    "score_10": pl.Float64(),
    "received_day": pl.Date(),
}
PREDICTION_COLUMNS: dict[str, pl.DataType] = {**PREDICTION_INPUTS, "classifier_version": pl.String(), **OUTPUT_SCHEMA}
PREDICT_CHUNK_ROWS = 50_000


def prediction_inputs(feedback: pl.DataFrame) -> pl.DataFrame:
    """The four inputs of each staged item (score and day null where the frame has no such column)."""
    names = feedback.columns
    score = pl.col("score_10") if "score_10" in names else pl.lit(None)
    day = pl.col("received_at").dt.date() if "received_at" in names else pl.lit(None)
    return feedback.select(
        pl.col("feedback_id").cast(pl.String),
        pl.col("body_text").cast(pl.String),
        score.cast(pl.Float64).alias("score_10"),
        day.cast(pl.Date).alias("received_day"),
    )


def predictions(feedback: pl.DataFrame, engine: Classifier, previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """``PREDICTION_COLUMNS`` for every item of ``feedback``, by feedback_id; rows of ``previous`` (a
    former result of this function) whose inputs and classifier version are the same are reused."""
    inputs = prediction_inputs(feedback)
    version = f"{engine.taxonomy_version}+{engine.model_version}"
    reused = pl.DataFrame(schema=PREDICTION_COLUMNS)
    if previous is not None and set(PREDICTION_COLUMNS) <= set(previous.columns):
        same_version = previous.filter(pl.col("classifier_version") == version).select(_cast(PREDICTION_COLUMNS))
        reused = inputs.join(
            same_version.unique("feedback_id", keep="none"), on=list(PREDICTION_INPUTS), how="inner", nulls_equal=True
        )
    todo = inputs.join(reused.select("feedback_id"), on="feedback_id", how="anti")
    predicted = _predict_in_chunks(engine, todo)
    fresh = pl.concat([todo, predicted], how="horizontal").with_columns(classifier_version=pl.lit(version))
    return pl.concat([reused, fresh.select(_cast(PREDICTION_COLUMNS))]).sort("feedback_id")


def _predict_in_chunks(engine: Classifier, todo: pl.DataFrame) -> pl.DataFrame:
    """``engine.predict`` of ``todo``'s items, ``PREDICT_CHUNK_ROWS`` at a time: a prediction reads its own
    item only, so the chunks' rows are the rows of one call, while the features (a sparse matrix per
    chunk) take the memory of a chunk, not of the history (a million items at once took 6.8 GiB)."""
    if todo.height <= PREDICT_CHUNK_ROWS:
        return engine.predict(todo["body_text"], todo["score_10"], todo["received_day"])
    chunks = todo.iter_slices(PREDICT_CHUNK_ROWS)
    return pl.concat([engine.predict(c["body_text"], c["score_10"], c["received_day"]) for c in chunks])


def _cast(columns: dict[str, pl.DataType]) -> list[pl.Expr]:
    return [pl.col(name).cast(dtype) for name, dtype in columns.items()]
