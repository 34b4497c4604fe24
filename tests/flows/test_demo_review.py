"""The demo's review as a manager opens it: a year of history, every KPI with its changes, growth points
with quotes and causes, the QA section, VIP and under-review figures, no raw column name.

The main job runs on a sample history (otklik.sample.history: 13 months, October 2025 - October 2026,
smaller than the demo's 2,000 items a month to keep the suite fast) and the October review is opened
in headless Chromium. Skips without Chromium unless OTKLIK_REQUIRE_CHROMIUM=1 (CI), where it fails.
"""

import os
import re
from pathlib import Path

import duckdb
import pytest

from flows.pipeline import otklik_pipeline
from otklik.sample.history import generate_history
from tests.helpers import chromium_or_skip
from transforms.review.config import load_review_settings

ITEMS_A_MONTH = 1_200


_chromium = chromium_or_skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    saved = {k: os.environ.get(k) for k in ("OTKLIK_WAREHOUSE", "OTKLIK_REPORTS", "OTKLIK_ARCHIVE", "OTKLIK_PII_KEY")}
    os.environ.update(
        OTKLIK_WAREHOUSE=str(root / "w.duckdb"),
        OTKLIK_REPORTS=str(root / "reports"),
        OTKLIK_ARCHIVE=str(root / "archive"),
        OTKLIK_PII_KEY="test-key-not-a-secret-0123456789",
    )
    try:
        generate_history(root / "landing", items=ITEMS_A_MONTH)
        result = otklik_pipeline(
            month="2026-10", as_of="2026-11-15T00:00:00+00:00", landing=str(root / "landing"), sample_checks=True
        )
        with duckdb.connect(str(root / "w.duckdb"), read_only=True) as con:
            columns = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = 'marts'"
                ).fetchall()
            }
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"review": result["review"], "columns": columns}


@pytest.fixture(scope="module")
def page(demo: dict) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
            tab.goto(Path(demo["review"]).as_uri(), wait_until="load")
            company = tab.locator('section[aria-label="Ключевые показатели компании"]')
            found = {
                "text": tab.inner_text("body"),
                "company": company.inner_text(),
                "kpis": company.locator(".kpi").evaluate_all(
                    "nodes => nodes.map(n => ({label: n.querySelector('.label').innerText,"
                    " value: n.querySelector('.value').innerText, note: n.querySelector('.note').innerText}))"
                ),
                "growth": tab.locator(".growth").evaluate_all(
                    "nodes => nodes.map(n => ({quotes: n.querySelectorAll('blockquote').length,"
                    " causes: n.querySelectorAll('ul.causes li').length}))"
                ),
                "qa_rows": tab.locator("section h3:has-text('Контроль качества закрытия') + table tbody tr").count(),
                "segments": tab.locator("section h3:has-text('Сегменты клиентов и отток') ~ table")
                .first.locator("tbody tr")
                .evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText))"),
                "churn": tab.locator("section h3:has-text('Сегменты клиентов и отток') ~ table")
                .nth(1)
                .locator("tbody tr")
                .evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText))"),
            }
        finally:
            browser.close()
    return found


def test_every_kpi_of_the_company_has_its_value_and_its_month_on_month_and_year_on_year_change(page: dict) -> None:
    labels = [k.label for k in load_review_settings().monthly.kpis]
    assert [k["label"] for k in page["kpis"]] == labels
    assert "нет данных" not in page["company"]
    for kpi in page["kpis"]:
        assert kpi["value"].strip() not in ("", "—"), kpi
        assert re.search(r"[▲▼=] .* к пред\. месяцу", kpi["note"]), kpi
        assert re.search(r"[▲▼=] .* к году ранее", kpi["note"]), kpi


def test_vip_callbacks_and_cases_under_review_have_figures(page: dict) -> None:
    by_label = {k["label"]: k["value"] for k in page["kpis"]}
    assert by_label["Звонок VIP-клиенту за 5 минут"].endswith("%")
    assert int(by_label["На проверке (эскалация)"].replace("\u00a0", "")) > 0


def test_a_growth_point_comes_with_quotes_and_root_causes(page: dict) -> None:
    assert page["growth"], "no growth point in the demo's October"
    assert any(g["quotes"] >= 2 and g["causes"] >= 1 for g in page["growth"]), page["growth"]


def test_the_quality_checks_are_shown(page: dict) -> None:
    assert page["qa_rows"] > 0


def test_segments_and_the_churn_of_detractors_against_promoters(page: dict) -> None:
    segments = {row[0]: row for row in page["segments"]}
    assert {"Частные клиенты (B2C)", "Компании (B2B)", "VIP"} <= set(segments), segments
    for name in ("Частные клиенты (B2C)", "Компании (B2B)", "VIP"):
        at_start, churn_rate, feedback = segments[name][1], segments[name][5], segments[name][6]
        assert int(at_start.replace("\u00a0", "")) > 0 and churn_rate.endswith("%"), segments[name]
        assert int(feedback.replace("\u00a0", "")) > 0, segments[name]
    groups = {row[0]: row for row in page["churn"]}
    assert {"Критики (0–6)", "Сторонники (9–10)"} <= set(groups), groups
    # the sample's customers who would not recommend us leave more often (otklik/sample/crm_customers.py)
    ratio = float(groups["Критики (0–6)"][4].replace(",", "."))
    assert ratio > 1.2, groups
    assert all(row[3].endswith("%") for row in groups.values()), groups
    assert re.search(r"критики уходили в [\d,]+ раза чаще сторонников", page["text"])


def test_no_raw_column_name_reaches_the_page(page: dict, demo: dict) -> None:
    assert not re.search(r"built-in method|object at 0x|\bNone\b|\bnan\b", page["text"])
    words = set(re.findall(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", page["text"]))
    assert not words & demo["columns"], sorted(words & demo["columns"])
