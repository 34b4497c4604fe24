"""Cross-channel conversations: one customer saying the same thing on two channels is one conversation.

A customer who writes in the chat, then leaves the same complaint in a review, has one problem,
not two. An item *repeats* an earlier one when both have the same ``customer_key``, come from
different channels, the earlier one is at most ``window`` older (default 48 hours), and they say
substantially the same thing:
- the same normalized text (lower-cased, every run of non-letters and non-digits one space), or
- token sets with a Jaccard index of at least 0.8, tokens being the lower-cased words of three
  letters or more, as written (no lemmas: "опоздал" and "опоздала" differ).
An item without text or without a customer_key repeats nothing (an employee's eNPS answer has no
customer_key: an employee channel may map no customer field). A self-service session (the chat
bot's or the FAQ widget's: its ``self_service_outcome`` is set) is never part of a conversation,
neither its first item nor a repeat: it counts as self-service, and the chat message that follows
a session the bot escalated is the customer's contact, counted in its own right. A repeat points
at the earliest item it repeats (``repeat_of_feedback_id``), and its ``conversation_id`` is the
feedback_id of the first item of the chain: the earliest item, whose own conversation_id is its
feedback_id. Chains may run longer than the window (chat → e-mail 30 h later → review 30 h after
that) when each step is within it. Ties in time are broken by feedback_id, so the result does not
depend on row order.

Only customers with items on two or more channels are compared, and only items in the same or the
previous window-sized time bucket are paired: the pairs stay proportional to what each customer
wrote within a window, not to everything they ever wrote.
"""

from datetime import timedelta

import polars as pl

DEFAULT_WINDOW = timedelta(hours=48)
MIN_JACCARD = 0.8
MIN_WORD_LETTERS = 3
# Pointer jumping halves a chain per round; 64 rounds cover any chain that fits in memory.
MAX_ROUNDS = 64

OUTPUT_COLUMNS: dict[str, pl.DataType] = {
    "feedback_id": pl.String(),
    "conversation_id": pl.String(),  # the feedback_id of the conversation's first item
    "is_conversation_repeat": pl.Boolean(),  # counted once, under its first item, in the marts
    "repeat_of_feedback_id": pl.String(),  # the earliest earlier item this one repeats
}


def conversations(
    feedback: pl.LazyFrame, *, window: timedelta = DEFAULT_WINDOW, min_jaccard: float = MIN_JACCARD
) -> pl.LazyFrame:
    """One row per feedback item (columns ``OUTPUT_COLUMNS``), from feedback_id, channel_id,
    customer_key, received_at, body_text and, when the frame has it, self_service_outcome."""
    outcome = (
        pl.col("self_service_outcome")
        if "self_service_outcome" in feedback.collect_schema().names()
        else pl.lit(None, dtype=pl.String).alias("self_service_outcome")
    )
    items = feedback.select("feedback_id", "channel_id", "customer_key", "received_at", "body_text", outcome)
    parents = _parents(_candidates(items, window), window, min_jaccard)
    roots = _roots(parents)
    return (
        items.select("feedback_id")
        .join(parents.lazy(), on="feedback_id", how="left")
        .join(roots.lazy(), on="feedback_id", how="left")
        .select(
            "feedback_id",
            conversation_id=pl.coalesce("root_feedback_id", "feedback_id"),
            is_conversation_repeat=pl.col("repeat_of_feedback_id").is_not_null(),
            repeat_of_feedback_id="repeat_of_feedback_id",
        )
        .sort("feedback_id")
        .cast(OUTPUT_COLUMNS)
    )


def _candidates(items: pl.LazyFrame, window: timedelta) -> pl.LazyFrame:
    """Items that could repeat or be repeated, with their normalized text, tokens and time bucket."""
    text = pl.col("body_text").str.to_lowercase()
    bucket_us = int(window.total_seconds() * 1_000_000)
    return (
        items.filter(
            pl.col("customer_key").is_not_null()
            & pl.col("body_text").is_not_null()
            & pl.col("self_service_outcome").is_null()
        )
        .drop("self_service_outcome")
        .filter(pl.col("channel_id").n_unique().over("customer_key") > 1)
        .with_columns(
            normalized=text.str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars(),
            tokens=text.str.extract_all(rf"\p{{L}}{{{MIN_WORD_LETTERS},}}").list.unique(),
            bucket=pl.col("received_at").dt.epoch("us") // bucket_us,
        )
        .drop("body_text")
    )


def _parents(candidates: pl.LazyFrame, window: timedelta, min_jaccard: float) -> pl.DataFrame:
    """feedback_id → repeat_of_feedback_id: the earliest earlier item each one repeats."""
    later = candidates
    earlier = candidates.select(pl.all().name.suffix("_earlier"))
    pairs = pl.concat(
        [
            later.join(
                earlier,
                left_on=["customer_key", pl.col("bucket") - shift],
                right_on=["customer_key_earlier", "bucket_earlier"],
            )
            for shift in (0, 1)
        ]
    )
    common = pl.col("tokens").list.set_intersection("tokens_earlier").list.len()
    union = pl.col("tokens").list.set_union("tokens_earlier").list.len()
    ahead = (pl.col("received_at_earlier") < pl.col("received_at")) | (
        (pl.col("received_at_earlier") == pl.col("received_at"))
        & (pl.col("feedback_id_earlier") < pl.col("feedback_id"))
    )
    similar = ((pl.col("normalized") == pl.col("normalized_earlier")) & (pl.col("normalized") != "")) | (
        (union > 0) & (common >= union * min_jaccard)
    )
    return (
        pairs.filter(
            (pl.col("channel_id") != pl.col("channel_id_earlier"))
            & ahead
            & (pl.col("received_at") - pl.col("received_at_earlier") <= window)
            & similar
        )
        .group_by("feedback_id")
        .agg(
            repeat_of_feedback_id=pl.col("feedback_id_earlier")
            .sort_by("received_at_earlier", "feedback_id_earlier")
            .first()
        )
        .collect()
    )


def _roots(parents: pl.DataFrame) -> pl.DataFrame:
    """feedback_id → root_feedback_id, the first item of its chain (pointer jumping over parents)."""
    roots = parents.rename({"repeat_of_feedback_id": "root_feedback_id"})
    for _ in range(MAX_ROUNDS):
        jumped = roots.join(
            roots.rename({"feedback_id": "root_feedback_id", "root_feedback_id": "next_root"}),
            on="root_feedback_id",
            how="left",
        ).with_columns(root_feedback_id=pl.coalesce("next_root", "root_feedback_id"))
        if jumped["next_root"].null_count() == jumped.height:
            return roots
        roots = jumped.drop("next_root")
    raise RuntimeError(f"conversation chains longer than 2^{MAX_ROUNDS}: parents are not acyclic")
