"""A history of sample months (otklik/sample/history.py): 13 months in their own folders, a season, a
trend and incidents, the same bytes for the same arguments."""

import hashlib
from pathlib import Path

import pytest

from otklik.sample.history import INCIDENTS, generate_history, plan_history
from otklik.sample.texts import PAYMENT_PAGE_FAILS
from otklik.sample.writers import OLD_BROWSER


def test_the_plan_has_a_season_a_falling_complaint_weight_and_the_incidents() -> None:
    plan = plan_history("2026-10", 13, 2_000)
    assert [m.label for m in plan][:2] == ["2025-10", "2025-11"] and plan[-1].label == "2026-10"
    by_label = {m.label: m for m in plan}
    assert by_label["2026-05"].items > by_label["2026-01"].items  # spring is busy, January quiet
    # the complaint weight falls over the year (the company improves), incidents aside
    assert by_label["2025-11"].mood.kinds["complaint"] > by_label["2026-09"].mood.kinds["complaint"]
    for incident in INCIDENTS:
        month = by_label[incident.month]
        assert month.story == incident.story and month.mood.topics == incident.topics
        assert month.orders_basis < month.items  # orders do not grow with the incident's complaints
    assert by_label["2026-10"].mood.broken_payment_agent == OLD_BROWSER
    with pytest.raises(ValueError):
        plan_history("2026-10", 0, 10)


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("history")
    return root, generate_history(root, months=13, items=500, seed=5)


def test_each_month_lands_in_its_own_folder_and_nothing_is_left_beside_them(history: tuple[Path, list]) -> None:
    root, summaries = history
    assert [s.month for s in summaries] == [m.label for m in plan_history("2026-10", 13, 500)]
    web_form = sorted(p.name for p in (root / "web_form").iterdir())
    assert web_form == [s.month for s in summaries]
    assert not [p for p in root.iterdir() if p.name.startswith(".history")]  # the scratch folders are gone
    # a case closed after its month's end is written by its own month: no file of one month in another's
    for summary in summaries:
        assert all(p.is_file() and p.parent.name == summary.month for p in summary.files), summary.month
        assert all(f"/{summary.month}/" in b.file and (root / b.file).is_file() for b in summary.bad_records)


def test_the_october_incident_puts_payment_failures_in_the_old_browser(history: tuple[Path, list]) -> None:
    root, _ = history
    phrases = [t.split("{")[0][:30] for t in PAYMENT_PAGE_FAILS]

    def count(month: str) -> int:
        files = [*(root / "website_chat" / month).iterdir(), *(root / "inapp_popup_rating" / month).iterdir()]
        lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines()]
        return sum(1 for line in lines if "Trident/7.0" in line and any(p in line for p in phrases))

    assert count("2026-10") >= 1 and count("2026-09") == 0


def test_the_same_arguments_give_the_same_bytes_and_an_occupied_folder_is_refused(
    history: tuple[Path, list], tmp_path: Path
) -> None:
    root, _ = history
    again = tmp_path / "again"
    generate_history(again, months=13, items=500, seed=5)
    assert _digest(again) == _digest(root)
    with pytest.raises(FileExistsError):
        generate_history(again, months=2, items=50, seed=5)
    generate_history(again, months=2, items=50, seed=5, overwrite=True)
    assert sorted(p.name for p in (again / "web_form").iterdir()) == ["2026-09", "2026-10"]
