"""The published review in headless Chromium: it renders, logs no errors, asks the network for nothing.

Skips when Debian's chromium is not installed, unless OTKLIK_REQUIRE_CHROMIUM=1 (CI), where it fails.
"""

from pathlib import Path

from tests.helpers import chromium_or_skip
from tests.transforms.review.review_warehouse import SCRIPT_TEXT
from transforms.review.publishing import ReviewFiles

_chromium = chromium_or_skip


def _open(path: str) -> dict:
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):  # r: playwright's Route
                requests.append(r.request.url)
                return r.continue_() if r.request.url.startswith("file://") else r.abort()

            page.route("**/*", route)
            page.goto(Path(path).as_uri(), wait_until="load")
            result = {
                "h1": page.inner_text("h1"),
                "text": page.inner_text("body"),
                "scripts": page.eval_on_selector_all("script", "nodes => nodes.length"),
                "svgs": page.eval_on_selector_all("svg", "nodes => nodes.length"),
                "links": page.eval_on_selector_all("a.drill", "nodes => nodes.map(n => n.getAttribute('href'))"),
            }
        finally:
            browser.close()
    return {**result, "requests": requests, "errors": errors}


def test_review_page_renders_offline_without_errors(files: ReviewFiles) -> None:
    page = _open(files.html)
    assert page["h1"] == "Ежемесячный обзор обратной связи — октябрь 2026"
    assert page["errors"] == []
    assert page["requests"] == [Path(files.html).as_uri()]
    assert page["scripts"] == 0 and page["svgs"] >= 4  # the trend charts
    assert "Розничная сеть" in page["text"] and "Логистика и доставка" in page["text"]
    assert any(link.startswith("monthly-review-2026-10-items.html#fig-") for link in page["links"])


def test_drill_down_page_shows_a_script_text_as_text(files: ReviewFiles) -> None:
    page = _open(files.items_html)
    assert page["errors"] == [] and page["requests"] == [Path(files.items_html).as_uri()]
    assert page["scripts"] == 0
    assert SCRIPT_TEXT in page["text"]
