"""Golden end-to-end test: the golden landing folder through every layer, without Prefect.

Every figure below is worked out by hand from tests/fixtures/golden_landing (see the comments),
as of 2026-11-01 00:00 UTC, reporting in Europe/Moscow.

nps_email_survey (14 rows):
  R1 10 thanks/logistics  R2 9 thanks/retail(MSK-001)  R3 9 no text  R4 8 wish/logistics
  R5 7 no text  R6 6 complaint/logistics  R7 3 complaint/retail(SPB-001)  R8 0 complaint/ecommerce
  R9 10 thanks/unassigned  R10 7 complaint/finance
  R11 score 11 → rejected; second R1 → duplicate; R13 dated 2027 → future; R14 01.11 01:00 MSK → November
ivr_post_call_survey (cp1251, ';'): CALL-1 5 thanks, CALL-2 2 complaint, both customer_service
crm_case_events: CASE-1..5 (+1 repeated line → duplicate); orders: retail 4000, ecommerce 1000
"""

import duckdb
import pytest

from tests.golden import golden_warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return golden_warehouse(tmp_path_factory.mktemp("golden"))


def _mart(con: duckdb.DuckDBPyConnection, directorate_id: str) -> dict:
    cursor = con.execute(
        "select * from marts.management_monthly where report_month = date '2026-10-01' and directorate_id = ?",
        [directorate_id],
    )
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


def test_nothing_is_lost_and_nothing_counts_twice(warehouse: duckdb.DuckDBPyConnection) -> None:
    one = lambda sql: warehouse.execute(sql).fetchone()[0]  # noqa: E731
    assert one("select count(*) from raw.channel_payloads") == 36  # 14 + 2 + 18 + 2
    assert one("select count(*) from quarantine.files") == 1  # not_a_channel/readme.txt
    # 13 feedback (10 good survey rows + R14 + 2 IVR) + 17 case events + 2 order rows + 4 rejects = 36
    staged = one(
        "select (select count(*) from staging.stg_channels__feedback)"
        " + (select count(*) from staging.stg_crm__case_events)"
        " + (select count(*) from staging.stg_erp__orders_monthly)"
    )
    assert staged == 32
    rejects = warehouse.execute(
        "select source_item_id, reason from quarantine.staging_rejects order by source_item_id, reason"
    ).fetchall()
    assert rejects == [
        ("CASE-5", "duplicate"),
        ("R1", "duplicate"),
        ("R11", "score_out_of_range"),
        ("R13", "future_date"),
    ]
    assert one("select count(*) from core.fct_feedback") == 13


def test_company_figures_for_october(warehouse: duckdb.DuckDBPyConnection) -> None:
    company = _mart(warehouse, "all")
    # R14 was written at 01:00 Moscow on 1 November: it is November's, although it is 31 October in UTC.
    assert company["items_count"] == 12
    assert (company["complaints_count"], company["wishes_count"], company["thanks_count"]) == (5, 1, 4)
    assert company["unclassified_count"] == 2  # R3 and R5 have a score and no text
    # NPS: promoters R1 R2 R3 R9 = 4, passives R4 R5 R10 = 3, detractors R6 R7 R8 = 3 → 100 × (4 − 3) / 10
    assert (company["nps_answers_count"], company["promoters_count"], company["detractors_count"]) == (
        10,
        4,
        3,
    )
    assert company["nps"] == pytest.approx(10.0)
    # se = sqrt((0.4 + 0.3 − 0.1²) / 10) = 0.262679; 1.96 × 26.2679 = 51.485
    assert company["nps_ci_low"] == pytest.approx(-41.485, abs=0.01)
    assert company["nps_ci_high"] == pytest.approx(61.485, abs=0.01)
    assert company["is_nps_small_sample"] is True
    assert company["csat"] == pytest.approx(0.5)  # CALL-1 scored 5, CALL-2 scored 2
    # close within 24 h: CASE-1 22h55m ok, CASE-2 24h01m late, CASE-3 open since 10.10 → breached,
    # CASE-4 19h ok (its reopen does not reset the first close), CASE-5 2h50m ok → 3 of 5
    assert (company["sla_close_24h_measured_count"], company["sla_close_24h_breached_count"]) == (5, 2)
    assert company["sla_close_24h_compliance_rate"] == pytest.approx(0.6)
    # first contact within 1 h: only CASE-2 (90 min) is late → 4 of 5
    assert company["sla_first_contact_1h_compliance_rate"] == pytest.approx(0.8)
    assert company["orders_count"] == 5000
    assert company["complaints_per_1000_orders"] == pytest.approx(1.0)  # 5 / 5000 × 1000


@pytest.mark.parametrize(
    ("directorate_id", "items", "complaints", "nps_answers", "nps", "close_rate", "per_1000_orders"),
    [
        ("logistics", 3, 1, 3, 0.0, 1.0, None),  # R1 P, R4 pass, R6 D; CASE-1 on time; no orders attributed
        ("retail", 2, 1, 2, 0.0, 0.0, 0.25),  # R2 P, R7 D; CASE-2 late; 1 / 4000 × 1000
        ("ecommerce", 1, 1, 1, -100.0, 0.0, 1.0),  # R8 D; CASE-3 still open past due; 1 / 1000 × 1000
        ("finance", 1, 1, 1, 0.0, 1.0, None),  # R10 passive; CASE-4 closed in 19 h
        ("customer_service", 2, 1, 0, None, 1.0, None),  # CSAT answers only; CASE-5 on time
        ("unassigned", 3, 0, 3, 200 / 3, None, None),  # R3 P, R5 pass, R9 P; no cases
    ],
)
def test_figures_by_directorate(
    warehouse: duckdb.DuckDBPyConnection,
    directorate_id: str,
    items: int,
    complaints: int,
    nps_answers: int,
    nps: float | None,
    close_rate: float | None,
    per_1000_orders: float | None,
) -> None:
    row = _mart(warehouse, directorate_id)
    assert (row["items_count"], row["complaints_count"], row["nps_answers_count"]) == (
        items,
        complaints,
        nps_answers,
    )
    assert row["nps"] == (pytest.approx(nps) if nps is not None else None)
    assert row["sla_close_24h_compliance_rate"] == (pytest.approx(close_rate) if close_rate is not None else None)
    assert row["complaints_per_1000_orders"] == (
        pytest.approx(per_1000_orders) if per_1000_orders is not None else None
    )


def test_personal_data_is_masked_and_customer_keys_are_hashed(warehouse: duckdb.DuckDBPyConnection) -> None:
    text, key = warehouse.execute(
        "select body_text, customer_key from core.fct_feedback where feedback_id = 'nps_email_survey:R6'"
    ).fetchone()
    assert text == "Курьер опоздал на два часа, звоните [телефон]"
    assert len(key) == 64 and "C006" not in key
    leaked = warehouse.execute(
        "select count(*) from core.fct_feedback where regexp_matches(body_text, '\\+7|@example')"
    ).fetchone()[0]
    assert leaked == 0


def test_every_check_ran_and_passed(warehouse: duckdb.DuckDBPyConnection) -> None:
    failed = warehouse.execute(
        "select suite, expectation from audit.validation_results where run_id = 'golden'"
        " and severity = 'critical' and not success"
    ).fetchall()
    assert failed == []
    assert warehouse.execute("select count(*) from audit.validation_results").fetchone()[0] > 10
