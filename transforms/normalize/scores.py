"""Scores as received (``score_raw`` on the channel's scale) and on 0-10 where that means something.

Numbers may be written "7", "7.0" or "4,5" (decimal comma). A yes/no scale takes
да/нет/yes/no/1/0/true/false (and a few spellings of them) as 1/0. ``score_10``: 0-10 as is,
1-5 → (x-1)·2.5, 1-7 → (x-1)·10/6; a yes/no answer is not a rating, so it has no score_10.
The answer to "Was your issue solved?" (the ``issue_solved`` field) is a question of its own beside
a channel's score: ``parse_answer`` takes exactly да/нет/yes/no/1/0/true/false.
"""

import polars as pl

from transforms.channels.registry import ScoreScale

SCALE_RANGES: dict[str, tuple[float, float]] = {
    "0-10": (0, 10),
    "1-5": (1, 5),
    "1-7": (1, 7),
    "yes_no": (0, 1),
}
YES = ("да", "д", "yes", "y", "true", "t", "on", "checked")
NO = ("нет", "н", "no", "n", "false", "f", "off", "unchecked")
# What a yes/no question's answer may say (issue_solved): survey modules write one of these.
ANSWER_YES = ("да", "yes", "1", "true")
ANSWER_NO = ("нет", "no", "0", "false")


def parse_number(raw: pl.Expr) -> pl.Expr:
    """A finite Float64 from "7", "7.0", "4,5", " 1e1 "; null otherwise."""
    value = raw.str.replace_all(r"[ \u00a0]", "").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def parse_score(raw: pl.Expr, scale: ScoreScale) -> pl.Expr:
    """``score_raw``: the answer on ``scale`` as a number, null when it is not one."""
    number = parse_number(raw)
    if scale != "yes_no":
        return number
    word = raw.str.to_lowercase()
    return pl.when(word.is_in(YES)).then(pl.lit(1.0)).when(word.is_in(NO)).then(pl.lit(0.0)).otherwise(number)


def in_range(score: pl.Expr, scale: ScoreScale) -> pl.Expr:
    low, high = SCALE_RANGES[scale]
    check = score.is_between(low, high)
    if scale == "yes_no":
        check = check & score.is_in([0.0, 1.0])
    return check


def score_10(score: pl.Expr, scale: ScoreScale) -> pl.Expr:
    if scale == "0-10":
        return score
    if scale == "1-5":
        return (score - 1) * 2.5
    if scale == "1-7":
        return (score - 1) * 10 / 6
    return pl.lit(None, dtype=pl.Float64)


def is_yes(raw: pl.Expr) -> pl.Expr:
    """A ticked "contact me" box: yes/да/1/true/on/checked (any case); anything else is no."""
    word = raw.str.to_lowercase()
    return (word.is_in(YES) | (parse_number(raw) == 1)).fill_null(False)


def parse_answer(raw: pl.Expr) -> pl.Expr:
    """A yes/no answer as a Boolean: ANSWER_YES → true, ANSWER_NO → false (any case; the value comes
    trimmed); null when blank or anything else (the caller tells those two apart)."""
    word = raw.str.to_lowercase()
    return pl.when(word.is_in(ANSWER_YES)).then(pl.lit(True)).when(word.is_in(ANSWER_NO)).then(pl.lit(False))
