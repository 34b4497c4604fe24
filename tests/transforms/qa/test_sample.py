"""The monthly QA draw: stratified by owner, deterministic, 100% for new or failing owners."""

import hashlib
from datetime import date

import polars as pl
import pytest

from transforms.qa import SamplingRules, draw_sample, load_sampling_rules, sample_key, sample_size

OCT = date(2026, 10, 1)
RULES = SamplingRules(seed="s", rate=0.1, min_cases=3, verdicts={"pass": ("pass",), "fail": ("fail",)})


def closed(counts: dict[str, int]) -> pl.DataFrame:
    rows = [
        {"case_id": f"{manager}-{i:03d}", "directorate_id": "retail", "department_id": "d", "manager_id": manager}
        for manager, n in counts.items()
        for i in range(n)
    ]
    return pl.DataFrame(rows)


def history(**failed: bool) -> pl.DataFrame:
    return pl.DataFrame(
        {"manager_id": list(failed), "last_check_failed": list(failed.values())},
        schema={"manager_id": pl.String, "last_check_failed": pl.Boolean},
    )


@pytest.mark.parametrize(
    ("closed_count", "full", "expected"),
    [
        (100, False, 10),  # 10% of 100
        (101, False, 11),  # rounded up: never less than the rate
        (20, False, 3),  # 10% would be 2: at least min_cases
        (2, False, 2),  # fewer closed than the minimum: all of them
        (40, True, 40),  # new or failed owner: everything
        (0, False, 0),
    ],
    ids=["rate", "rate-rounds-up", "minimum", "fewer-than-minimum", "full", "none-closed"],
)
def test_sample_size(closed_count: int, full: bool, expected: int) -> None:
    assert sample_size(closed_count, RULES, full=full) == expected


def test_new_owner_and_failed_owner_are_checked_in_full_others_at_the_rate() -> None:
    sample = draw_sample(
        closed({"m_new": 30, "m_failed": 25, "m_good": 50}),
        history(m_failed=True, m_good=False),
        month=OCT,
        rules=RULES,
    )
    per_owner = dict(sample.group_by("manager_id", "sample_reason").len().select("manager_id", "len").iter_rows())
    reasons = dict(sample.select("manager_id", "sample_reason").unique().iter_rows())
    assert per_owner == {"m_new": 30, "m_failed": 25, "m_good": 5}  # 10% of 50
    assert reasons == {"m_new": "new_owner", "m_failed": "failed_last_check", "m_good": "rate"}


def test_the_draw_takes_the_smallest_seeded_hashes_and_is_repeatable() -> None:
    cases = closed({"m_good": 50})
    first = draw_sample(cases, history(m_good=False), month=OCT, rules=RULES)
    again = draw_sample(cases.reverse(), history(m_good=False), month=OCT, rules=RULES)
    expected = sorted(cases["case_id"], key=lambda c: hashlib.sha256(f"s|2026-10|{c}".encode()).hexdigest())[:5]
    assert first["case_id"].to_list() == expected
    assert again.equals(first)
    assert first["sample_key"].to_list() == [sample_key("s", OCT, c) for c in expected]


def test_another_month_or_seed_draws_other_cases() -> None:
    cases = closed({"m_good": 200})
    base = set(draw_sample(cases, history(m_good=False), month=OCT, rules=RULES)["case_id"])
    next_month = set(draw_sample(cases, history(m_good=False), month=date(2026, 11, 1), rules=RULES)["case_id"])
    reseeded = RULES.model_copy(update={"seed": "t"})
    other_seed = set(draw_sample(cases, history(m_good=False), month=OCT, rules=reseeded)["case_id"])
    assert base != next_month and base != other_seed


def test_the_projects_sampling_rules_load() -> None:
    rules = load_sampling_rules()
    assert rules.verdict_of(" Зачтено ") == "pass"
    assert rules.verdict_of("FAIL") == "fail"
    assert rules.verdict_of("maybe") is None


def test_a_spelling_under_both_verdicts_is_refused() -> None:
    with pytest.raises(ValueError, match="both pass and fail"):
        SamplingRules(seed="s", rate=0.1, min_cases=1, verdicts={"pass": ("ok",), "fail": ("OK",)})
