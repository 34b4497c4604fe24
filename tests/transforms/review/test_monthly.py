"""The monthly review page from a published snapshot: Russian, self-contained, escaped, linked to its items."""

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.helpers import given
from tests.transforms.review.conftest import COMPANY, publish_october
from tests.transforms.review.review_warehouse import FORMULA_TEXT, OCT, SCRIPT_TEXT
from transforms.review import format_decimal, format_int, format_percent, month_title
from transforms.review.config import load_review_settings
from transforms.review.links import anchor
from transforms.review.publishing import ReviewFiles, write_review_files

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


def _given_customer_marts(con: duckdb.DuckDBPyConnection, *, detractor_lost: int, promoter_lost: int) -> None:
    """October's customer marts: one B2C segment, and 40 customer-months each of detractors and promoters
    over the year, of whom ``detractor_lost`` and ``promoter_lost`` left."""
    given(
        con,
        "marts.customer_segments_monthly",
        pl.DataFrame(
            {"report_month": [OCT], "segment": ["b2c"], "customers_at_start_count": [80],
             "customers_new_count": [0], "customers_refused_count": [0], "customers_churned_count": [1],
             "churn_rate": [1 / 80], "items_count": [6], "complaints_count": [4], "nps": [0.0],
             "nps_answers_count": [2], "is_nps_small_sample": [True], "csi": [None]},
            schema_overrides={"csi": pl.Float64},
        ),
    )  # fmt: skip
    promoter_rate = promoter_lost / 40
    groups = {"detractor": detractor_lost, "promoter": promoter_lost}
    given(
        con,
        "marts.churn_by_nps_group_monthly",
        pl.DataFrame(
            [
                {"report_month": OCT, "nps_group": group, "customers_at_start_count": 4, "customers_lost_count": 0,
                 "churn_rate": 0.0, "customers_at_start_12m_count": 40, "customers_lost_12m_count": lost,
                 "churn_rate_12m": lost / 40,
                 "churn_rate_12m_to_promoters": (lost / 40) / promoter_rate if promoter_rate else None}
                for group, lost in groups.items()
            ],
            schema_overrides={"churn_rate_12m_to_promoters": pl.Float64},
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("detractor_lost", "promoter_lost", "verdict"),
    [
        pytest.param(8, 4, f"критики уходили в 2,0 раза чаще сторонников: 20,0{NBSP}% против 10,0{NBSP}%", id="more"),
        pytest.param(2, 4, f"критики уходили в 2,0 раза реже сторонников: 5,0{NBSP}% против 10,0{NBSP}%", id="less"),
        # the small demo's case: the ratio is 0, so "times less" would divide by it
        pytest.param(0, 4, f"ни один критик не ушёл, а сторонники уходили: 0,0{NBSP}% против 10,0{NBSP}%", id="none"),
        pytest.param(3, 0, None, id="no-promoter-lost"),
    ],
)
def test_the_churn_verdict_compares_detractors_with_promoters(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, detractor_lost: int, promoter_lost: int, verdict: str | None
) -> None:
    _given_customer_marts(warehouse, detractor_lost=detractor_lost, promoter_lost=promoter_lost)
    files = write_review_files(
        publish_october(warehouse), tmp_path / "reports", company_name=COMPANY, settings=load_review_settings()
    )
    html = _read(files.html)
    assert "Критики (0–6)" in html  # the churn table is shown either way
    if verdict is None:
        assert "За 12 месяцев" not in html
    else:
        assert f"За 12 месяцев {verdict} клиентов в месяц." in html


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
