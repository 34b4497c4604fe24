"""The monthly review page: Russian, self-contained, escaped, numbers formatted the Russian way."""

import re
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import polars as pl
import pytest

from expectations.marts.management_monthly import COUNT_COLUMNS as MART_COUNT_COLUMNS
from tests.helpers import given, run_model
from transforms.review import format_decimal, format_int, format_percent, month_title, render_monthly_review

OCT = date(2026, 10, 1)
NBSP = "\u00a0"


# Additive counts default to 0, rates and orders to null (as the mart has them without data). The
# mart's columns are listed once, in its expectations suite (a test there keeps them in step with the SQL).
COUNT_COLUMNS = tuple(c for c in MART_COUNT_COLUMNS if c != "orders_count")
NULLABLE_COLUMNS = (
    "complaint_share",
    "nps",
    "nps_ci_low",
    "nps_ci_high",
    "csat",
    "sla_close_24h_compliance_rate",
    "sla_first_contact_1h_compliance_rate",
    "orders_count",
    "complaints_per_1000_orders",
)


def mart_row(directorate_id: str, directorate_name: str, **figures: Any) -> dict[str, Any]:
    counts = dict.fromkeys(COUNT_COLUMNS, 0)
    rates = dict.fromkeys(NULLABLE_COLUMNS)
    return {
        "report_month": OCT,
        "directorate_id": directorate_id,
        "directorate_name": directorate_name,
        "is_company_total": directorate_id == "all",
        "is_nps_small_sample": figures.get("nps_answers_count", 0) < 30,
        **counts,
        **rates,
        **figures,
    }


def mart(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), infer_schema_length=None)


COMPANY = mart_row(
    "all",
    "Вся компания",
    items_count=1234,
    complaints_count=321,
    complaint_share=321 / 1234,
    nps_answers_count=250,
    nps=41.2,
    nps_ci_low=35.04,
    nps_ci_high=47.36,
    sla_close_24h_measured_count=200,
    sla_close_24h_compliance_rate=0.925,
    orders_count=120000,
    complaints_per_1000_orders=2.675,
)
RETAIL = mart_row("retail", "Розничная сеть", items_count=1000, complaints_count=300, nps_answers_count=230, nps=45.0)
LOGISTICS = mart_row(
    "logistics", "Логистика и доставка", items_count=234, complaints_count=21, nps_answers_count=20, nps=-15.0
)
EMPTY_UNASSIGNED = mart_row("unassigned", "Не распределено")


def render(frame: pl.DataFrame, **kwargs: Any) -> str:
    return render_monthly_review(
        frame,
        month=kwargs.pop("month", OCT),
        company_name=kwargs.pop("company_name", "ООО «Инструмент-Маркет»"),
        generated_at=datetime(2026, 11, 2, 7, 30, tzinfo=UTC),
        sources=kwargs.pop("sources", {"warehouse": "/data/otklik.duckdb", "build run": "run-42"}),
    )


def test_title_names_the_month_in_russian() -> None:
    html = render(mart(COMPANY, RETAIL, LOGISTICS))
    assert "<title>Ежемесячный обзор обратной связи — октябрь 2026</title>" in html
    assert "<h1>Ежемесячный обзор обратной связи — октябрь 2026</h1>" in html
    assert "ООО «Инструмент-Маркет»" in html


def test_every_directorate_is_listed_and_an_empty_unassigned_member_is_not() -> None:
    html = render(mart(COMPANY, RETAIL, LOGISTICS, EMPTY_UNASSIGNED))
    assert "Розничная сеть" in html and "Логистика и доставка" in html and "Вся компания" in html
    assert "Не распределено" not in html
    busy_unassigned = mart_row("unassigned", "Не распределено", items_count=3)
    assert "Не распределено" in render(mart(COMPANY, RETAIL, busy_unassigned))


def test_kpis_use_russian_number_formats() -> None:
    html = render(mart(COMPANY, RETAIL))
    assert f"1{NBSP}234" in html  # items
    assert "41,2" in html  # NPS
    assert "n&nbsp;=&nbsp;250" in html
    assert "35,0…47,4" in html  # NPS interval
    assert f"92,5{NBSP}%" in html  # SLA 24h compliance
    assert "2,7" in html  # complaints per 1,000 orders
    assert f"120{NBSP}000" in html


def test_small_samples_are_flagged() -> None:
    html = render(mart(COMPANY, RETAIL, LOGISTICS))
    assert html.count("мало ответов") >= 2  # the table row and the legend
    assert "−15,0*" in html  # the chart label of the small sample


def test_page_requests_nothing_from_the_network() -> None:
    html = render(mart(COMPANY, RETAIL, LOGISTICS))
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<(script|link|img|iframe)\b", html)
    assert "<svg" in html and "<style>" in html


def test_text_from_data_and_arguments_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    html = render(
        mart(COMPANY, mart_row("retail", evil, items_count=1, complaints_count=1)),
        company_name=evil,
        sources={evil: evil},
    )
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_footer_shows_the_sources_and_when_the_page_was_made() -> None:
    html = render(mart(COMPANY, RETAIL))
    assert "/data/otklik.duckdb" in html and "run-42" in html
    assert "02.11.2026 07:30 UTC" in html


def test_month_without_a_company_row_is_an_error() -> None:
    with pytest.raises(ValueError, match="2026-11"):
        render(mart(COMPANY, RETAIL), month=date(2026, 11, 1))


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


def test_renders_what_the_mart_model_produces(con: duckdb.DuckDBPyConnection) -> None:
    given(
        con,
        "core.dim_directorates",
        pl.DataFrame(
            {
                "directorate_id": ["retail", "unassigned"],
                "directorate_name": ["Розничная сеть", "Не распределено"],
                "head_name": ["Соколов А. В.", None],
            }
        ),
    )
    given(
        con,
        "core.fct_feedback",
        pl.DataFrame(
            {
                "received_month": [OCT],
                "directorate_id": ["retail"],
                "kind": ["complaint"],
                "question_type": ["nps"],
                "nps_group": ["detractor"],
                "score_raw": [2.0],
                "score_scale": ["0-10"],
                "is_conversation_repeat": [False],
            }
        ),
    )
    given(con, "core.fct_cases", pl.DataFrame({"opened_month": [OCT]}))
    given(
        con,
        "core.fct_case_sla",
        pl.DataFrame(
            {
                "report_month": [OCT],
                "directorate_id": ["retail"],
                "sla_policy_id": ["close_within_24h"],
                "sla_state": ["achieved"],
                "is_breached": [False],
            }
        ),
    )
    orders = pl.DataFrame({"report_month": [OCT], "directorate_id": ["retail"], "orders_count": [500]})
    given(con, "core.fct_orders_monthly", orders)
    html = render(run_model(con, "marts", "management_monthly"))
    assert "Розничная сеть" in html
    assert "−100,0" in html  # one detractor
    assert f"100,0{NBSP}%" in html  # the one decided case closed in time
