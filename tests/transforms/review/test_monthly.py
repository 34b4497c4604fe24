"""The monthly review page from a published snapshot: Russian, self-contained, escaped, linked to its items."""

import re
from datetime import date

import pytest

from tests.transforms.review.review_warehouse import FORMULA_TEXT, SCRIPT_TEXT
from transforms.review import format_decimal, format_int, format_percent, month_title
from transforms.review.links import anchor
from transforms.review.publishing import ReviewFiles

NBSP = "\u00a0"


def _read(path: str) -> str:
    return open(path, encoding="utf-8").read()


def test_title_names_the_month_in_russian(files: ReviewFiles) -> None:
    html = _read(files.html)
    assert "<title>Ежемесячный обзор обратной связи — октябрь 2026</title>" in html
    assert "<h1>Ежемесячный обзор обратной связи — октябрь 2026</h1>" in html
    assert "ООО «Инструмент-Маркет»" in html
    assert "Опубликованная версия 1" in html


def test_every_active_directorate_has_a_section_and_an_empty_unassigned_member_has_none(files: ReviewFiles) -> None:
    html = _read(files.html)
    assert 'id="d-retail"' in html and 'id="d-logistics"' in html
    assert "Не распределено" not in html


def test_kpis_carry_month_on_month_and_year_on_year_arrows(files: ReviewFiles) -> None:
    html = _read(files.html)
    # retail complaints: 3 in October, 1 in September, 1 in October 2025 → ▲ +2 both ways (more is worse)
    retail = html[html.index('id="d-retail"') :]
    kpi = retail[retail.index("Жалобы</div>") : retail.index("Жалоб на 1 000 заказов")]
    assert kpi.count('<span class="bad">▲ +2</span>') == 2  # a count changes by whole complaints


def test_figures_link_to_their_items(files: ReviewFiles) -> None:
    html, items = _read(files.html), _read(files.items_html)
    figure = "marts.management_monthly|2026-10-01|retail|complaints_count"
    assert f'href="monthly-review-2026-10-items.html#{anchor(figure)}"' in html
    section = items[items.index(f'id="{anchor(figure)}"') :]
    section = section[: section.index("</section>")]
    assert "F1" in section and "F2" in section and "F3" in section and "F5" not in section


def test_growth_points_and_verbatims(files: ReviewFiles) -> None:
    retail = _read(files.html)
    retail = retail[retail.index('id="d-retail"') :]
    retail = retail[: retail.index("</section>")]
    assert "Опоздание доставки" in retail and "Грубость" in retail  # complaint types
    # 3 complaints are below the growth-point rule's floor of 5 (marts.feedback_type_monthly.is_growth_point)
    assert "Точки роста" in retail and "Точек роста нет" in retail
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in retail  # a masked verbatim, escaped
    assert FORMULA_TEXT.replace('"', "&#34;") in retail


def test_pages_request_nothing_and_run_no_script(files: ReviewFiles) -> None:
    for path in (files.html, files.items_html):
        html = _read(path)
        assert "http://" not in html.replace("http://evil.example", "") and "https://" not in html
        assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert "<svg" in _read(files.html) and SCRIPT_TEXT not in _read(files.items_html)


def test_footer_shows_the_provenance(files: ReviewFiles) -> None:
    html = _read(files.html)
    assert "monthly:2026-10:all:v1" in html and "build-1" in html
    assert "transforms/org/org.yaml" in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0, "0", id="zero"),
        pytest.param(999, "999", id="three-digits"),
        pytest.param(1234, f"1{NBSP}234", id="thousands"),
        pytest.param(1234567, f"1{NBSP}234{NBSP}567", id="millions"),
        pytest.param(-1234, f"−1{NBSP}234", id="negative-with-minus-sign"),
        pytest.param(None, "—", id="missing"),
    ],
)
def test_format_int(value: int | None, expected: str) -> None:
    assert format_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(41.2, "41,2", id="decimal-comma"),
        pytest.param(41.25, "41,3", id="half-up"),
        pytest.param(20.0, "20,0", id="keeps-one-decimal"),
        pytest.param(-12.5, "−12,5", id="negative"),
        pytest.param(-0.04, "0,0", id="no-negative-zero"),
        pytest.param(1234.56, f"1{NBSP}234,6", id="thousands"),
        pytest.param(None, "—", id="missing"),
    ],
)
def test_format_decimal(value: float | None, expected: str) -> None:
    assert format_decimal(value) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        pytest.param(0.925, f"92,5{NBSP}%", id="rate"),
        pytest.param(1.0, f"100,0{NBSP}%", id="all"),
        pytest.param(None, "—", id="missing"),
    ],
)
def test_format_percent(rate: float | None, expected: str) -> None:
    assert format_percent(rate) == expected


def test_month_title_is_nominative() -> None:
    assert [month_title(date(2026, m, 1)) for m in (1, 5, 10)] == ["январь 2026", "май 2026", "октябрь 2026"]
