"""Hint rules over normalized text: taxonomy hints → feedback type, cue phrases → cue features.

A hint matches when every one of its words occurs in the text, in any order (Russian word order
is free: «списали деньги дважды» and «деньги дважды списали» both match «списать дважды»).
All distinct hint words of all types are found in one Aho-Corasick pass (Polars
``str.extract_many``) over the lemma text padded with spaces, so 140 types cost about what one
rule costs. A whole word is `` lemma `` (spaces both sides); a prefix (``deliver*``) is `` deliver``.
A hint weighs as many points as it has words: «не работать оплата» says more than «оплата».
"""

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from transforms.classify.text import lowered, normalize
from transforms.taxonomy import FeedbackType

# Function words say nothing about a topic and occur in most texts; a hint's bag of words leaves
# them out («на этаж» is «этаж»), which also keeps the hint-word join small.
STOP_WORDS = frozenset((
    "в", "во", "на", "с", "со", "по", "за", "до", "из", "от", "к", "ко", "у", "о", "об", "и", "а", "но", "же", "ли",
    "бы", "то", "что", "как", "это", "мой", "my", "i", "me", "the", "a", "an", "to", "of", "in", "on", "at", "for",
    "is", "it", "was", "and", "or", "with",
))  # fmt: skip


def _word_patterns(phrases: list[str], *, keep_stop_words: bool = False) -> list[list[str]]:
    """Per phrase (as written in config), the padded patterns of its words (normalized like texts)."""
    normalized = normalize(pl.Series([p.removesuffix("*") for p in phrases], dtype=pl.String)).to_list()
    out = []
    for phrase, norm in zip(phrases, normalized, strict=True):
        if phrase.endswith("*"):
            stem = pl.select(lowered(pl.lit(phrase[:-1]))).item().strip()
            out.append([f" {stem}"])
        else:
            words = norm.split()
            content = [w for w in words if w not in STOP_WORDS]
            # «есть ли», «работать до»: a hint that would shrink to one word keeps its function words
            content = words if keep_stop_words or (len(content) < 2 < len(words) + 1) else content
            out.append([f" {w} " for w in content])
    return out


def compile_phrases(phrases: list[str]) -> list[str]:
    """Padded contiguous patterns for phrases (the cue lexicons match phrases as written)."""
    return [
        "".join(p[:-1] for p in words[:-1]) + words[-1] if words else " "
        for words in _word_patterns(phrases, keep_stop_words=True)
    ]


@dataclass(frozen=True)
class TypeRules:
    """Every hint of every type as a set of word patterns, with its type, weight and order."""

    hints: pl.DataFrame  # hint_id, feedback_type_id, weight (= words), type_order, department_order, valid_*
    words: pl.DataFrame  # hint_id, pattern

    @cached_property
    def patterns(self) -> list[str]:
        return self.words["pattern"].unique(maintain_order=True).to_list()

    @cached_property
    def needed(self) -> pl.DataFrame:
        """hint_id → how many distinct words the hint has."""
        return self.words.group_by("hint_id").len("needed")

    @cached_property
    def type_ids(self) -> pl.DataFrame:
        return self.hints.select("type_order", "feedback_type_id").unique("type_order")


def compile_type_rules(types: tuple[FeedbackType, ...]) -> TypeRules:
    rows: list[tuple[str, str, int]] = [(h, t.feedback_type_id, i) for i, t in enumerate(types) for h in t.hints]
    word_lists = _word_patterns([r[0] for r in rows])
    valid = {t.feedback_type_id: (t.valid_from, t.valid_to) for t in types}
    department = {t.feedback_type_id: t.department_id for t in types}
    departments = sorted(set(department.values()))
    keep = [i for i, words in enumerate(word_lists) if words]
    hints = pl.DataFrame(
        {
            "hint_id": keep,
            "feedback_type_id": [rows[i][1] for i in keep],
            "weight": [float(len(set(word_lists[i]))) for i in keep],
            "type_order": [rows[i][2] for i in keep],
            "department_order": [departments.index(department[rows[i][1]]) for i in keep],
            "valid_from": [valid[rows[i][1]][0] for i in keep],
            "valid_to": [valid[rows[i][1]][1] for i in keep],
        },
        schema_overrides={"valid_to": pl.Date, "hint_id": pl.Int64},
    )
    words = pl.DataFrame(
        {"hint_id": [i for i in keep for _ in word_lists[i]], "pattern": [w for i in keep for w in word_lists[i]]},
        schema={"hint_id": pl.Int64, "pattern": pl.String},
    ).unique(maintain_order=True)
    return TypeRules(hints, words)


def matched_patterns(norm: pl.Series, patterns: list[str]) -> pl.Series:
    """Per text, the distinct patterns it contains."""
    padded = " " + norm.fill_null("") + " "
    return padded.str.extract_many(patterns, overlapping=True).list.unique()


def match_types(norm: pl.Series, rules: TypeRules, days: pl.Series | None = None) -> pl.DataFrame:
    """Best type per text: ``rule_type`` (null when no hint matched) and ``rule_confidence``.

    ``days`` (dates, optional) restricts each text to the types valid on its day. The type with
    most points wins (ties: earlier in the taxonomy). Confidence is about the routing: the share
    of all matched points that point to the winner's department, times ``1 - 0.5**points`` of
    those points: one word alone gives 0.5, two agreeing words 0.75; a rival owner lowers it.
    """
    n = norm.len()
    found = (
        pl.DataFrame(
            {"row": pl.int_range(n, eager=True, dtype=pl.Int64), "pattern": matched_patterns(norm, rules.patterns)}
        )
        .explode("pattern")
        .drop_nulls("pattern")
        .join(rules.words, on="pattern", how="inner")
        .join(rules.needed, on="hint_id", how="inner")
    )
    # A one-word hint matched is a candidate as it stands; a longer one needs all its words, counted
    # on a single integer key (row, hint) because that is the one large group-by of the pass.
    n_hints = int(rules.hints["hint_id"].max() or 0) + 1
    multi = (
        found.filter(pl.col("needed") > 1)
        .group_by(key=pl.col("row") * n_hints + pl.col("hint_id"))
        .agg(pl.len().alias("present"), pl.col("needed").first())
        .filter(pl.col("present") == pl.col("needed"))
        .select(row=pl.col("key") // n_hints, hint_id=pl.col("key") % n_hints)
    )
    candidates = pl.concat([found.filter(pl.col("needed") == 1).select("row", "hint_id"), multi])
    candidates = candidates.join(rules.hints, on="hint_id", how="inner")
    if days is not None:
        candidates = candidates.join(
            pl.DataFrame({"row": pl.int_range(n, eager=True, dtype=pl.Int64), "day": days.cast(pl.Date)}), on="row"
        ).filter(
            pl.col("day").is_null()
            | (
                (pl.col("valid_from") <= pl.col("day"))
                & (pl.col("valid_to").is_null() | (pl.col("day") <= pl.col("valid_to")))
            )
        )
    scored = (
        candidates.group_by(key=pl.col("row") * n_hints + pl.col("type_order"))
        .agg(pl.col("weight").sum().alias("points"), pl.col("department_order").first())
        .with_columns(row=pl.col("key") // n_hints, type_order=pl.col("key") % n_hints)
        .with_columns(owner_points=pl.col("points").sum().over("row", "department_order"))
        .sort("row", "points", "type_order", descending=[False, True, False])
    )
    best = (
        scored.group_by("row", maintain_order=True)
        .agg(
            pl.col("type_order").first(),
            pl.col("owner_points").first().alias("owner_points"),
            pl.col("points").sum().alias("total"),
        )
        .join(rules.type_ids, on="type_order", how="left")
        .rename({"feedback_type_id": "rule_type"})
    )
    best = best.with_columns(
        rule_confidence=(pl.col("owner_points") / pl.col("total")) * (1 - pl.lit(0.5).pow(pl.col("owner_points")))
    )
    return (
        pl.DataFrame({"row": pl.int_range(n, eager=True, dtype=pl.Int64)})
        .join(best.select("row", "rule_type", "rule_confidence"), on="row", how="left")
        .sort("row")
        .drop("row")
    )
