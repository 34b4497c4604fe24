"""The demo's simulated reviewer: deterministic, believable rates, grades 1-5, and files the import accepts."""

from datetime import date
from pathlib import Path

import polars as pl

from otklik.sample.qa_reviewer import (
    FALLBACK_REVIEWER,
    VERDICT_FILE_COLUMNS,
    Reviewer,
    review_sample,
    reviewers_from_org,
)
from transforms.org import load_org
from transforms.qa import load_sampling_rules, parse_verdicts, read_verdict_file

REVIEWERS = (Reviewer("Лебедева О. А."), Reviewer("Смирнова Ю. Р.", "m_smirnova"))
MANAGERS = ("m_orlov", "m_belov", "m_smirnova", "m_pavlov")


def sample(n: int, *, late_every: int = 0, reopened_every: int = 0) -> pl.DataFrame:
    """``n`` cases of four managers; every ``late_every``-th closed late, every ``reopened_every``-th reopened."""
    return pl.DataFrame(
        {
            "case_id": [f"CS-{i:05d}" for i in range(n)],
            "manager_id": [MANAGERS[i % len(MANAGERS)] for i in range(n)],
            "is_closed_late": [bool(late_every) and i % late_every == 0 for i in range(n)],
            "reopened_count": [int(bool(reopened_every) and (i + 1) % reopened_every == 0) for i in range(n)],
        }
    )


def fail_rate(verdicts: pl.DataFrame) -> float:
    return (verdicts["verdict"] == "fail").mean()


def test_the_same_case_gets_the_same_verdict_whatever_else_is_in_the_sample() -> None:
    cases = sample(400, late_every=8, reopened_every=30)
    once = review_sample(cases, reviewers=REVIEWERS)
    again = review_sample(cases, reviewers=REVIEWERS)
    shuffled = review_sample(cases.reverse().head(150), reviewers=REVIEWERS)
    assert once.equals(again)
    assert shuffled.sort("case_id").equals(
        once.filter(pl.col("case_id").is_in(shuffled["case_id"].to_list())).sort("case_id")
    )
    other_team = review_sample(cases, reviewers=REVIEWERS, seed="another-team")
    assert not other_team["verdict"].equals(once["verdict"])


def test_mostly_passes_and_late_or_reopened_cases_fail_more_often() -> None:
    demo_like = review_sample(sample(6000, late_every=8, reopened_every=35), reviewers=REVIEWERS)
    assert 0.85 <= 1 - fail_rate(demo_like) <= 0.92  # about 12 % of the demo's cases close late, 3 % reopen
    on_time = fail_rate(review_sample(sample(3000), reviewers=REVIEWERS))
    late = fail_rate(review_sample(sample(3000, late_every=1), reviewers=REVIEWERS))
    reopened = fail_rate(review_sample(sample(3000, reopened_every=1), reviewers=REVIEWERS))
    assert 0.04 <= on_time <= 0.10
    assert late > 3 * on_time and reopened > late


def test_clarity_is_1_to_5_mostly_high_and_lower_for_failed_cases() -> None:
    verdicts = review_sample(sample(6000, late_every=4), reviewers=REVIEWERS)
    assert set(verdicts["clarity_score"].unique()) == {1, 2, 3, 4, 5}
    passed = verdicts.filter(pl.col("verdict") == "pass")["clarity_score"]
    failed = verdicts.filter(pl.col("verdict") == "fail")["clarity_score"]
    assert (passed >= 4).mean() > 0.75
    assert passed.mean() > 4 > 3 > failed.mean()


def test_a_fail_says_why_in_russian_and_a_reviewer_never_checks_their_own_cases() -> None:
    verdicts = review_sample(sample(2000, late_every=5, reopened_every=20), reviewers=REVIEWERS)
    failed = verdicts.filter(pl.col("verdict") == "fail")
    assert failed["comment"].null_count() == 0
    assert all(any("а" <= ch <= "я" for ch in text.lower()) for text in failed["comment"])
    own = verdicts.join(sample(2000), on="case_id").filter(
        (pl.col("manager_id") == "m_smirnova") & (pl.col("reviewer") == "Смирнова Ю. Р.")
    )
    assert own.is_empty()
    assert set(verdicts["reviewer"]) == {"Лебедева О. А.", "Смирнова Ю. Р."}


def test_reviewers_come_from_the_customer_service_directorate_of_the_org() -> None:
    assert reviewers_from_org(load_org()) == REVIEWERS
    assert reviewers_from_org(load_org(), "no_such_directorate") == ()
    unnamed = review_sample(sample(10))
    assert set(unnamed["reviewer"]) == {FALLBACK_REVIEWER}


def test_an_empty_sample_gives_an_empty_file() -> None:
    empty = review_sample(sample(0), reviewers=REVIEWERS)
    assert empty.is_empty() and tuple(empty.columns) == VERDICT_FILE_COLUMNS


def test_what_it_writes_is_a_verdict_file_the_import_accepts(tmp_path: Path) -> None:
    cases = sample(300, late_every=6)
    path = tmp_path / "qa-verdicts-2026-10-simulated.csv"
    review_sample(cases, reviewers=REVIEWERS).select(VERDICT_FILE_COLUMNS).write_csv(path)
    drawn = pl.DataFrame({"sample_month": [date(2026, 10, 1)] * cases.height, "case_id": cases["case_id"]})
    parsed = parse_verdicts(read_verdict_file(path), drawn, rules=load_sampling_rules(), name=path.name)
    assert parsed.height == 300
    assert parsed["clarity_score"].is_between(1, 5).all()


def test_a_case_without_known_facts_is_judged_as_closed_on_time_and_never_reopened() -> None:
    bare = sample(200).select("case_id", "manager_id")
    assert review_sample(bare, reviewers=REVIEWERS).equals(review_sample(sample(200), reviewers=REVIEWERS))
