"""core.fct_feedback: conversations, language and edits carried from their models (given/expect, tests/helpers.py)."""

from datetime import UTC, datetime

import duckdb
import polars as pl

from tests.helpers import given, run_model
from transforms.conversations import OUTPUT_COLUMNS
from transforms.schemas import FEEDBACK


def classified(feedback_ids: list[str]) -> pl.DataFrame:
    """core.int_feedback_classified: staged feedback plus the classifier's columns."""
    n = len(feedback_ids)
    staged = pl.DataFrame(
        {name: [None] * n for name in FEEDBACK.columns} | {"feedback_id": feedback_ids}, schema=FEEDBACK.columns
    )
    return staged.with_columns(
        channel_id=pl.Series(["web_form", "telegram_bot", "web_form"][:n]),
        received_at=pl.lit(datetime(2026, 10, 31, 22, tzinfo=UTC)),  # 1 November in Moscow
        body_text=pl.lit("Курьер опоздал"),
        language=pl.lit("ru"),
        is_edited=pl.Series([False, True, False][:n]),
        kind=pl.lit("complaint"),
        feedback_type_id=pl.lit("delivery_late"),
        directorate_id=pl.lit("logistics"),
        department_id=pl.lit(None, pl.String),
        manager_id=pl.lit(None, pl.String),
        has_text=pl.lit(True),
        classifier_version=pl.lit("rules-test"),
        sentiment=pl.lit("negative"),
        confidence=pl.lit(0.9),
        method=pl.lit("rule"),
        needs_review=pl.lit(False),
        taxonomy_version=pl.lit("tax-test"),
        model_version=pl.lit("model-test"),
    )


def test_conversation_language_and_edit_columns(con: duckdb.DuckDBPyConnection) -> None:
    given(con, "core.int_feedback_classified", classified(["web_form:1", "telegram_bot:1", "web_form:2"]))
    given(con, "core.dim_channels", pl.DataFrame({"channel_id": ["web_form", "telegram_bot"]}))
    given(con, "core.dim_directorates", pl.DataFrame({"directorate_id": ["logistics", "unassigned"]}))
    conversations = pl.DataFrame(
        {
            "feedback_id": ["web_form:1", "telegram_bot:1"],  # web_form:2 is missing: it counts on its own
            "conversation_id": ["web_form:1", "web_form:1"],
            "is_conversation_repeat": [False, True],
            "repeat_of_feedback_id": [None, "web_form:1"],
        },
        schema=OUTPUT_COLUMNS,
    )
    given(con, "core.int_feedback_conversations", conversations)
    fct = run_model(con, "core", "fct_feedback").sort("feedback_id")
    assert fct.select("feedback_id", "conversation_id", "is_conversation_repeat", "language", "is_edited").rows() == [
        ("telegram_bot:1", "web_form:1", True, "ru", True),
        ("web_form:1", "web_form:1", False, "ru", False),
        ("web_form:2", "web_form:2", False, "ru", False),
    ]
    assert fct["received_month"].unique().to_list() == [datetime(2026, 11, 1).date()]
