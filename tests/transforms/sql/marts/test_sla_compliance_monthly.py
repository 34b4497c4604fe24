"""marts.sla_compliance_monthly: hand-computed compliance per (month, directorate, policy) and for the company."""

from datetime import date

import duckdb
import pytest

from tests.transforms.sql.marts.core_frames import NOV, OCT, SLA_POLICIES, clock, given_core, run_mart

CLOSE, CONTACT = "close_within_24h", "first_contact_within_1h"


def build(con: duckdb.DuckDBPyConnection, sla: list[dict]) -> dict[tuple, dict]:
    given_core(con, sla=sla)
    return run_mart(con, "sla_compliance_monthly", "report_month", "directorate_id", "sla_policy_id")


def test_compliance_counts_decided_clocks_and_times_stopped_ones(con: duckdb.DuckDBPyConnection) -> None:
    sla = [
        clock(CLOSE, "achieved", elapsed_minutes=120.0),  # 2 h
        clock(CLOSE, "achieved", elapsed_minutes=600.0),  # 10 h
        clock(CLOSE, "breached", elapsed_minutes=1800.0),  # 30 h
        clock(CLOSE, "open_breached", elapsed_minutes=3000.0),  # still open: not in the times
        clock(CLOSE, "open_ok", elapsed_minutes=30.0),
        clock(CLOSE, "at_risk", elapsed_minutes=1300.0),
        clock(CLOSE, "not_started"),
        clock(CLOSE, "achieved", "logistics", elapsed_minutes=60.0),
    ]
    rows = build(con, sla)
    retail = rows[(OCT, "retail", CLOSE)]
    assert [retail[k] for k in ("clocks_count", "achieved_count", "breached_count", "open_breached_count")] == [
        7,
        2,
        1,
        1,
    ]
    assert [retail[k] for k in ("open_ok_count", "at_risk_count", "not_started_count")] == [1, 1, 1]
    # measured = 2 + 1 + 1 = 4; 2 achieved → 0.5; breaches = 1 closed late + 1 open past due
    assert (retail["measured_count"], retail["breaches_count"], retail["compliance_rate"]) == (4, 2, 0.5)
    # stopped 2, 10, 30 h → median 10; p90 at rank 1.8 → 10 + 0.8 × 20 = 26
    assert (retail["stopped_count"], retail["elapsed_hours_median"]) == (3, 10.0)
    assert retail["elapsed_hours_p90"] == pytest.approx(26.0)
    assert retail["is_small_sample"] is True
    company = rows[(OCT, "all", CLOSE)]
    # the company pools 1, 2, 10, 30 h: median 6; 3 achieved of 5 measured
    assert (company["measured_count"], company["compliance_rate"], company["elapsed_hours_median"]) == (
        5,
        0.6,
        6.0,
    )
    assert company["is_company_total"] is True


def test_every_directorate_and_policy_appears_for_every_month_with_a_clock(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [clock(CLOSE, "achieved", month=OCT), clock(CONTACT, "breached", "logistics", month=NOV)])
    directorates = ("retail", "logistics", "unassigned", "all")
    assert sorted(rows) == sorted((m, d, p) for m in (OCT, NOV) for d in directorates for p in (CLOSE, CONTACT))
    empty = rows[(OCT, "logistics", CONTACT)]
    assert (empty["clocks_count"], empty["measured_count"], empty["compliance_rate"]) == (0, 0, None)
    assert (empty["target_minutes_min"], empty["target_minutes_max"], empty["policy_label"]) == (
        60,
        60,
        "Первый контакт за 1 час",
    )


def test_a_policy_found_only_on_clocks_still_gets_rows(con: duckdb.DuckDBPyConnection) -> None:
    rows = build(con, [clock("vip_callback_5min", "achieved")])
    row = rows[(OCT, "retail", "vip_callback_5min")]
    assert (row["clocks_count"], row["policy_label"], row["target_minutes_min"]) == (1, None, None)


def test_a_policy_found_only_on_clocks_gets_rows_only_in_the_months_of_its_clocks(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """A month's rows read only that month's clocks, so that a build may bring only the months whose clocks
    changed up to date: a policy of policies.yaml has rows in every month with a clock, one found only on
    clocks in the months of its clocks."""
    rows = build(con, [clock("vip_callback_5min", "achieved", month=OCT), clock(CLOSE, "achieved", month=NOV)])
    assert {(m, p) for m, _, p in rows} == {
        (OCT, "vip_callback_5min"),
        (OCT, CLOSE),
        (OCT, CONTACT),
        (NOV, CLOSE),
        (NOV, CONTACT),
    }


def test_later_cycles_are_counted_apart(con: duckdb.DuckDBPyConnection) -> None:
    sla = [
        clock(CLOSE, "achieved", cycle_number=1, elapsed_minutes=60.0),
        clock(CLOSE, "breached", cycle_number=2, elapsed_minutes=2000.0),  # the reopen's cycle
    ]
    rows = build(con, sla)
    row = rows[(OCT, "retail", CLOSE)]
    assert (row["clocks_count"], row["measured_count"], row["compliance_rate"], row["later_cycles_count"]) == (
        1,
        1,
        1.0,
        1,
    )


def test_targets_are_those_of_every_rule_in_force_during_the_month(con: duckdb.DuckDBPyConnection) -> None:
    """Two rules of one policy in October (24 h, then 8 h from the 15th), and per-priority targets of
    the second (2 h for vip, 16 h for low): the month shows every target a clock could get."""
    import polars as pl

    from tests.helpers import given
    from tests.transforms.sql.marts.core_frames import SLA_TARGETS

    given_core(con, sla=[clock(CLOSE, "achieved")])
    close_rules = pl.DataFrame(
        {
            "sla_policy_id": [CLOSE, CLOSE],
            "label": ["24 часа", "8 часов"],
            "target_minutes": [1440, 480],
            "valid_from": [date(2010, 1, 1), date(2026, 10, 15)],
            "valid_to": [date(2026, 10, 15), None],
        }
    )
    rules = pl.concat([SLA_POLICIES.filter(pl.col("sla_policy_id") == CONTACT), close_rules], how="diagonal_relaxed")
    targets = pl.DataFrame(
        {
            "sla_policy_id": [CLOSE, CLOSE],
            "valid_from": [date(2026, 10, 15)] * 2,
            "target_order": [1, 2],
            "priorities": [["vip"], ["low"]],
            "target_minutes": [120, 960],
        }
    )
    given(con, "staging.stg_config__sla_policies", rules.select(SLA_POLICIES.columns))
    given(con, "staging.stg_config__sla_targets", pl.concat([SLA_TARGETS, targets], how="diagonal_relaxed"))
    rows = run_mart(con, "sla_compliance_monthly", "report_month", "directorate_id", "sla_policy_id")
    row = rows[(OCT, "retail", CLOSE)]
    assert (row["target_minutes_min"], row["target_minutes_max"]) == (120, 1440)
    assert (row["has_rule_change"], row["policy_label"]) == (True, "8 часов")
    contact = rows[(OCT, "retail", CONTACT)]
    assert (contact["target_minutes_min"], contact["target_minutes_max"], contact["has_rule_change"]) == (60, 60, False)
