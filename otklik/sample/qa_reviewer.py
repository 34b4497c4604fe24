"""A simulated reviewer for the demo: fills in the head's sample check as the reviewers would.

In production the head of customer service draws a month's sample of closed cases (``otklik qa
sample``), reviewers fill in the workbook (a verdict, a clarity grade of the closing comment, a
comment when the case fails) and ``otklik qa import`` loads it. The sample data has no reviewers, so
the demo (``otklik_pipeline(..., sample_checks=True)``, flows/sample_checks.py) lets this module
fill the workbook instead, and imports its rows through the same path.

``review_sample`` is pure and deterministic: every draw is sha256("<seed>|<what>|<case_id>"), never
a random state, so a case gets the same verdict whatever else is in the sample and in whatever order
it comes. What it does, roughly as a real check goes:

- most cases pass (about 88 % of the demo's closed cases); a case closed late (a breached clock that
  stops at the close) or reopened fails far more often than one closed on time;
- the clarity grade is mostly 4-5 for a pass, mostly 2-3 for a fail;
- a fail gets a short comment saying what is wrong, a pass usually none;
- the reviewer is the customer-service directorate's head or one of its managers (org.yaml), never
  the case's own manager.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from transforms.org import Org

SEED = "otklik-demo-reviewer-v1"
REVIEWING_DIRECTORATE = "customer_service"  # whose head draws the sample and whose people check it
FALLBACK_REVIEWER = "Отдел контроля качества"

# The chance that a case fails the check.
FAIL_ON_TIME = 0.07
FAIL_CLOSED_LATE = 0.35
FAIL_REOPENED = 0.45
FAIL_LATE_AND_REOPENED = 0.60
# Clarity grades 1..5 (weights) of the closing comment of a passed and of a failed case.
CLARITY_PASS = (1, 3, 12, 38, 46)
CLARITY_FAIL = (14, 34, 34, 14, 4)

COMMENTS_FAIL = (
    "Вопрос клиента решён не полностью",
    "Нет подтверждения, что с клиентом связались",
    "Закрыто без ответа клиенту по существу",
    "Решение не соответствует регламенту",
    "В комментарии нет принятого решения",
)
COMMENTS_FAIL_LATE = (
    "Закрыто с опозданием, причина задержки не указана",
    "Срок нарушен, клиент не предупреждён о задержке",
)
COMMENTS_FAIL_REOPENED = (
    "Проблема повторилась: обращение переоткрыто",
    "Клиент обратился повторно, первое решение не помогло",
)
COMMENT_UNCLEAR = "Комментарий при закрытии непонятен клиенту"

VERDICT_FILE_COLUMNS = ("case_id", "verdict", "clarity_score", "reviewer", "comment")


@dataclass(frozen=True)
class Reviewer:
    name: str
    manager_id: str | None = None  # a reviewer who owns cases never checks their own


def reviewers_from_org(org: Org, directorate_id: str = REVIEWING_DIRECTORATE) -> tuple[Reviewer, ...]:
    """The directorate's head and its managers, as org.yaml names them; none when it has no such directorate."""
    directorate = next((d for d in org.directorates if d.id == directorate_id), None)
    if directorate is None:
        return ()
    departments = {dep.id for dep in directorate.departments}
    managers = tuple(Reviewer(m.name, m.id) for m in org.managers if m.department_id in departments)
    return (Reviewer(directorate.head), *managers)


def _unit(seed: str, what: str, case_id: str) -> float:
    """A number in [0, 1) that only the seed, the purpose and the case decide."""
    digest = hashlib.sha256(f"{seed}|{what}|{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(weights: Sequence[float], u: float) -> int:
    """The index ``u`` falls on when [0, 1) is cut in proportion to ``weights``."""
    total, acc = sum(weights), 0.0
    for index, weight in enumerate(weights):
        acc += weight / total
        if u < acc:
            return index
    return len(weights) - 1


def fail_chance(*, closed_late: bool, reopened: bool) -> float:
    if closed_late and reopened:
        return FAIL_LATE_AND_REOPENED
    if reopened:
        return FAIL_REOPENED
    return FAIL_CLOSED_LATE if closed_late else FAIL_ON_TIME


def review_case(
    case_id: str,
    *,
    manager_id: str | None,
    closed_late: bool,
    reopened: bool,
    reviewers: Sequence[Reviewer],
    seed: str = SEED,
) -> dict[str, object]:
    """One row of the verdict file for one case (``VERDICT_FILE_COLUMNS``)."""
    failed = _unit(seed, "verdict", case_id) < fail_chance(closed_late=closed_late, reopened=reopened)
    clarity = 1 + _pick(CLARITY_FAIL if failed else CLARITY_PASS, _unit(seed, "clarity", case_id))
    comment = None
    if failed:
        reasons = COMMENTS_FAIL
        if reopened:
            reasons = COMMENTS_FAIL_REOPENED
        elif closed_late:
            reasons = COMMENTS_FAIL_LATE
        comment = reasons[int(_unit(seed, "comment", case_id) * len(reasons))]
    elif clarity <= 2:
        comment = COMMENT_UNCLEAR
    eligible = [r for r in reviewers if r.manager_id is None or r.manager_id != manager_id]
    reviewer = eligible[int(_unit(seed, "reviewer", case_id) * len(eligible))].name if eligible else FALLBACK_REVIEWER
    return {
        "case_id": case_id,
        "verdict": "fail" if failed else "pass",
        "clarity_score": clarity,
        "reviewer": reviewer,
        "comment": comment,
    }


def review_sample(sample: pl.DataFrame, *, reviewers: Sequence[Reviewer] = (), seed: str = SEED) -> pl.DataFrame:
    """The verdict file of a drawn sample, one row per case, as the reviewers would fill it in.

    Args:
        sample: the drawn sample (``case_id``, ``manager_id``), with what is known of each case if
            present: ``is_closed_late`` (a clock stopping at the close was breached) and
            ``reopened_count``; a case without them is judged as closed on time and never reopened.
        reviewers: who checks (``reviewers_from_org``); none: the quality department, unnamed.
        seed: the salt of every draw; another seed is another reviewer team.
    """
    rows = [
        review_case(
            row["case_id"],
            manager_id=row.get("manager_id"),
            closed_late=bool(row.get("is_closed_late")),
            reopened=bool(row.get("reopened_count")),
            reviewers=reviewers,
            seed=seed,
        )
        for row in sample.iter_rows(named=True)
    ]
    schema = {
        "case_id": pl.String,
        "verdict": pl.String,
        "clarity_score": pl.Int8,
        "reviewer": pl.String,
        "comment": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
