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

from datetime import date
from pathlib import Path

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


def _row(con: duckdb.DuckDBPyConnection, mart: str, **key: object) -> dict:
    where = " and ".join(f"{column} = ?" for column in key)
    cursor = con.execute(f"select * from marts.{mart} where {where}", list(key.values()))
    names = [d[0] for d in cursor.description]
    [row] = cursor.fetchall()
    return dict(zip(names, row, strict=True))


def test_metric_marts_for_october(warehouse: duckdb.DuckDBPyConnection) -> None:
    october = date(2026, 10, 1)
    company = _mart(warehouse, "all")
    # CSI on the recommend question: 8–10 are R1 10, R2 9, R3 9, R4 8, R9 10 = 5; 0–3 are R7 3, R8 0 = 2
    assert (company["csi_high_count"], company["csi_low_count"], company["csi"]) == (5, 2, 2.5)
    assert (company["enps_answers_count"], company["enps"]) == (0, None)  # no employee survey in the fixture
    # cases opened in October: CASE-1..5; CASE-3 never closed; CASE-4 reopened after its close → 1 / 4
    assert (company["cases_count"], company["cases_closed_count"], company["cases_reopened_count"]) == (5, 4, 1)
    assert company["reopen_rate"] == pytest.approx(0.25)
    # no bot or FAQ session resolved an issue in the fixture: 0 of 0 + 5 cases opened
    assert (company["issues_count"], company["self_service_share"]) == (5, 0.0)
    # first contact: CASE-3 20 min, CASE-4 30, CASE-1 35, CASE-5 40, CASE-2 90 → median 35 min;
    # p90 at rank 3.6: 40 + 0.6 × (90 − 40) = 70 min
    assert company["first_contact_hours_median"] == pytest.approx(35 / 60)
    assert company["first_contact_hours_p90"] == pytest.approx(70 / 60)
    # close: CASE-5 2 h 50, CASE-4 19 h, CASE-1 22 h 55, CASE-2 24 h 01 → median (19 + 22.9167) / 2;
    # p90 at rank 2.7: 22.9167 + 0.7 × (24.0167 − 22.9167) = 23.6867
    assert company["close_hours_median"] == pytest.approx((19 + 22 + 55 / 60) / 2)
    assert company["close_hours_p90"] == pytest.approx(23.686667, abs=1e-5)
    # cost per contact (transforms/costs/channel_costs.yaml): the e-mail survey's 25,000 over its 10
    # October items (R14 is November's), the IVR's 60,000 over its 2 calls: 85,000 over 12 contacts
    assert (company["costed_contacts_count"], company["contact_cost_rub"]) == (12, pytest.approx(85_000))
    assert company["cost_per_contact_rub"] == pytest.approx(85_000 / 12)

    survey = _row(warehouse, "channel_monthly", report_month=october, channel_id="nps_email_survey")
    assert (survey["contacts_count"], survey["contact_share"]) == (10, pytest.approx(10 / 12))
    assert survey["cost_per_contact_rub"] == pytest.approx(2_500)
    ivr = _row(warehouse, "channel_monthly", report_month=october, channel_id="ivr_post_call_survey")
    assert (ivr["contacts_count"], ivr["cost_per_contact_rub"]) == (2, pytest.approx(30_000))
    november = _row(warehouse, "channel_monthly", report_month=october.replace(month=11), channel_id="nps_email_survey")
    assert (november["contacts_count"], november["cost_per_contact_rub"]) == (1, pytest.approx(25_000))

    # per policy for the company: the same clocks the management figures above judge
    close = _row(
        warehouse,
        "sla_compliance_monthly",
        report_month=october,
        directorate_id="all",
        sla_policy_id="close_within_24h",
    )
    # CASE-1, 4, 5 achieved; CASE-2 closed 1 min late; CASE-3 open past due → 3 of 5, 2 breaches
    assert [close[k] for k in ("achieved_count", "breached_count", "open_breached_count", "measured_count")] == [
        3,
        1,
        1,
        5,
    ]
    assert (close["breaches_count"], close["compliance_rate"]) == (2, pytest.approx(0.6))

    # stores: R2 names MSK-001 (a 9: promoter), R7 names SPB-001 (a 3: detractor)
    msk = _row(warehouse, "store_monthly", report_month=october, store_id="MSK-001")
    spb = _row(warehouse, "store_monthly", report_month=october, store_id="SPB-001")
    assert (msk["items_count"], msk["nps"], msk["manager_id"]) == (1, 100.0, "m_orlov")
    assert (spb["items_count"], spb["nps"], spb["manager_id"]) == (1, -100.0, "m_belov")

    # owners: CASE-1 is m_fedorov's (logistics / delivery), closed after 22 h 55
    fedorov = _row(
        warehouse,
        "owner_monthly",
        report_month=october,
        directorate_id="logistics",
        department_id="delivery",
        manager_id="m_fedorov",
    )
    assert (fedorov["cases_count"], fedorov["close_hours_median"]) == (1, pytest.approx(22 + 55 / 60))


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


# ------------------------------------------------------------- the marts before the metric layer
# tests/fixtures/golden_marts_before_metric_layer/ holds every mart of this golden warehouse as the
# build made it before the metric layer (one definition per metric) replaced the marts' own counting
# (commit b290a7f). Where no scope changed, every figure must be the same; each difference below is
# expected, with its reason. A difference not listed fails, and so does a listed one that is gone.
BEFORE = Path(__file__).resolve().parent / "fixtures" / "golden_marts_before_metric_layer"
GONE_COLUMNS = {
    ("sla_compliance_monthly", "target_minutes"): "per-policy targets shown as they are: target_minutes_min/_max",
}
FINAL_SURVEY_REASON = "the final survey's two questions are one item of ctl_final_survey: one response, one item"
SESSIONS_REASON = "a new channel, the chat bot's and FAQ's sessions, the source of self-service share"
ROWS_GONE = {
    ("channel_freshness", ("ctl_final_survey_solved",)): FINAL_SURVEY_REASON,
    ("channel_monthly", (date(2026, 10, 1), "ctl_final_survey_solved")): FINAL_SURVEY_REASON,
    ("channel_monthly", (date(2026, 11, 1), "ctl_final_survey_solved")): FINAL_SURVEY_REASON,
}
CRM_CUSTOMERS_REASON = "a new source in the registry: the CRM's customer statuses (the fixture has none: stale)"
ROWS_NEW = {
    ("channel_freshness", ("self_service_sessions",)): SESSIONS_REASON,
    ("channel_freshness", ("crm_customer_statuses",)): CRM_CUSTOMERS_REASON,
    ("channel_monthly", (date(2026, 10, 1), "self_service_sessions")): SESSIONS_REASON,
    ("channel_monthly", (date(2026, 11, 1), "self_service_sessions")): SESSIONS_REASON,
}
# a channel added to the registry (no items in the fixture): a row of its own in each channel mart
TELEGRAM_EXPORT_REASON = "telegram_chat_export added: Telegram Desktop chat exports (issue 17, ids within a chat)"
ROWS_NEW[("channel_freshness", ("telegram_chat_export",))] = TELEGRAM_EXPORT_REASON
for _month in (date(2026, 10, 1), date(2026, 11, 1)):
    ROWS_NEW[("channel_monthly", (_month, "telegram_chat_export"))] = TELEGRAM_EXPORT_REASON
REVIEW_FEED_REASON = "review_site_feed added: a review site's Atom feed (issue 17, the xml_feed reader)"
ROWS_NEW[("channel_freshness", ("review_site_feed",))] = REVIEW_FEED_REASON
for _month in (date(2026, 10, 1), date(2026, 11, 1)):
    ROWS_NEW[("channel_monthly", (_month, "review_site_feed"))] = REVIEW_FEED_REASON
CHANGED = {
    ("channel_freshness", ("ctl_final_survey",), "display_name"): FINAL_SURVEY_REASON,
    ("channel_monthly", (date(2026, 10, 1), "ctl_final_survey"), "display_name"): FINAL_SURVEY_REASON,
    ("channel_monthly", (date(2026, 11, 1), "ctl_final_survey"), "display_name"): FINAL_SURVEY_REASON,
}
# a label, not a figure: the App Store channel pulls the App Store Connect API, not the iTunes RSS feed
APP_STORE_REASON = "app_store_reviews renamed: its source is the App Store Connect API now (no items in the fixture)"
CHANGED[("channel_freshness", ("app_store_reviews",), "display_name")] = APP_STORE_REASON
for _month in (date(2026, 10, 1), date(2026, 11, 1)):
    CHANGED[("channel_monthly", (_month, "app_store_reviews"), "display_name")] = APP_STORE_REASON
# transforms/costs/channel_costs.yaml: the costs in force since January 2026 are known since January
# 2025 (the demo's history starts in October 2025); the monthly costs, the figures, are the same
COSTS_SINCE_2025 = "channel costs recorded from January 2025: the same cost, an earlier valid_from"
for _month in (date(2026, 10, 1), date(2026, 11, 1)):
    for _channel in (
        "ivr_post_call_survey", "nps_email_survey", "telegram_bot", "website_chat", "whatsapp",
        "sms_survey_replies", "email_inbox", "web_form", "store_complaint_book",
    ):  # fmt: skip
        CHANGED[("channel_monthly", (_month, _channel), "cost_valid_from")] = COSTS_SINCE_2025
# the wall-clock time of the ingest (and what is measured from it for a channel without items): it
# differs between any two builds, and is not a figure
VOLATILE = {("channel_freshness", "last_loaded_at"), ("channel_freshness", "silent_hours")}


def _same(before: object, after: object) -> bool:
    if isinstance(before, float) or isinstance(after, float):
        return before is not None and after is not None and abs(float(before) - float(after)) < 1e-9
    return before == after


def test_no_figure_changed_where_no_scope_changed(warehouse: duckdb.DuckDBPyConnection) -> None:
    from transforms.model_specs import load_spec

    found: dict[str, set] = {"gone_columns": set(), "rows_gone": set(), "rows_new": set(), "changed": set()}
    unexpected = []
    for path in sorted(BEFORE.glob("*.csv")):
        mart = path.stem
        keys = list(load_spec("marts", mart).grain)
        after = warehouse.execute(f"select * from marts.{mart}").pl()
        # read the CSV through DuckDB with the mart's own column types, so values compare as values
        header = warehouse.execute(f"select * from read_csv('{path}', all_varchar = true) limit 0").pl().columns
        types = {name: kind for name, kind, *_ in warehouse.execute(f"describe marts.{mart}").fetchall()}
        before = warehouse.execute(
            f"select * from read_csv('{path}', header = true, types = $types)",
            {"types": {c: types[c] for c in header if c in types}},
        ).pl()
        found["gone_columns"] |= {(mart, c) for c in before.columns if c not in after.columns}
        before_rows = {tuple(r[k] for k in keys): r for r in before.to_dicts()}
        after_rows = {tuple(r[k] for k in keys): r for r in after.to_dicts()}
        found["rows_gone"] |= {(mart, k) for k in before_rows.keys() - after_rows.keys()}
        found["rows_new"] |= {(mart, k) for k in after_rows.keys() - before_rows.keys()}
        for key in before_rows.keys() & after_rows.keys():
            for column, value in before_rows[key].items():
                if column not in after_rows[key] or (mart, column) in VOLATILE:
                    continue
                if not _same(value, after_rows[key][column]):
                    found["changed"].add((mart, key, column))
                    if (mart, key, column) not in CHANGED:
                        unexpected.append(f"{mart} {key} {column}: {value!r} -> {after_rows[key][column]!r}")
    assert unexpected == [], "figures changed where no scope changed:\n" + "\n".join(unexpected)
    assert found["gone_columns"] == set(GONE_COLUMNS)
    assert found["rows_gone"] == set(ROWS_GONE)
    assert found["rows_new"] == set(ROWS_NEW)
    assert found["changed"] == set(CHANGED)


# ------------------------------------------------------------------- the specs of the SQL models
# Figures that are rates without saying so in their name, and flags not named after their figure.
RATE_LIKE = {"nps", "csat", "csi", "enps", "tnps", "ces_effort", "complaints_per_1000_orders", "cost_per_contact_rub"}
FLAG_OF = {
    "sla_close_24h_compliance_rate": "is_sla_close_24h_small_sample",
    "sla_first_contact_1h_compliance_rate": "is_sla_first_contact_1h_small_sample",
    "ces_rate": "is_ces_small_sample",
    "self_service_share": "is_self_service_small_sample",
    "cost_per_contact_rub": "is_cost_per_contact_small_sample",
    "complaint_share_of_month": "is_complaint_share_small_sample",
    "complaints_mom_growth_rate": "is_mom_growth_small_sample",
    "complaints_yoy_growth_rate": "is_yoy_growth_small_sample",
    "contacted_within_1h_rate": "is_funnel_small_sample",
    "resolved_rate": "is_funnel_small_sample",
    "final_survey_answered_rate": "is_funnel_small_sample",
}
IS_SMALL_SAMPLE = "is_small_sample"  # the one rate of a mart that has one (sla_compliance, weekly_sla_breaches)


def test_every_model_with_a_spec_has_exactly_its_columns(warehouse: duckdb.DuckDBPyConnection) -> None:
    from transforms.model_specs import load_spec, specified_models

    for layer in ("core", "marts"):
        for name in specified_models(layer):
            built = [row[0] for row in warehouse.execute(f"describe {layer}.{name}").fetchall()]
            assert built == list(load_spec(layer, name).columns), f"{layer}.{name}: the spec and the SQL differ"


def test_every_rate_of_every_mart_has_its_small_sample_flag() -> None:
    from transforms.model_specs import load_spec, specified_models

    for name in specified_models("marts"):
        columns = list(load_spec("marts", name).columns)
        rates = [
            c
            for c in columns
            if c.endswith(("_rate", "_share", "_share_of_month")) or c in RATE_LIKE or c == "rating_mean"
        ]
        for rate in rates:
            flag = FLAG_OF.get(rate, f"is_{rate.removesuffix('_mean')}_small_sample")
            assert flag in columns or IS_SMALL_SAMPLE in columns, f"{name}.{rate} has no small-sample flag"
