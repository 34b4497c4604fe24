"""Property tests: the marts' NPS, its interval, CSI and percentiles against brute-force Python oracles.

Each example builds core tables in an in-memory DuckDB and runs the real mart SQL, so the oracles
check the SQL (and the macros of warehouse/sql_models.py) as the build runs it.
"""

import math
from datetime import UTC, datetime, timedelta

import duckdb
import hypothesis
import pytest
from hypothesis import strategies as st

from tests.transforms.sql.marts.core_frames import OCT, case, clock, given_core, run_mart, scored

SETTINGS = hypothesis.settings(
    max_examples=30, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
OPENED = datetime(2026, 10, 14, 9, tzinfo=UTC)


def nps_oracle(scores: list[int]) -> tuple[float, float, float]:
    """NPS and its clipped 95% interval, from the per-answer scores +1 / 0 / −1 (population variance)."""
    points = [1 if s >= 9 else -1 if s <= 6 else 0 for s in scores]
    n = len(points)
    mean = sum(points) / n
    variance = sum((p - mean) ** 2 for p in points) / n
    half_width = 1.96 * 100 * math.sqrt(variance / n)
    return 100 * mean, max(-100.0, 100 * mean - half_width), min(100.0, 100 * mean + half_width)


def csi_oracle(scores: list[int]) -> float | None:
    high = sum(1 for s in scores if 8 <= s <= 10)
    low = sum(1 for s in scores if 0 <= s <= 3)
    return None if low == 0 else high / low


def percentile_oracle(values: list[float], q: float) -> float:
    """Linear interpolation between the order statistics at rank q × (n − 1)."""
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (rank - below) * (ordered[above] - ordered[below])


@SETTINGS
@hypothesis.given(scores=st.lists(st.integers(0, 10), min_size=1, max_size=80))
def test_nps_interval_and_csi_match_their_definitions(con: duckdb.DuckDBPyConnection, scores: list[int]) -> None:
    given_core(con, feedback=[scored(s) for s in scores])
    for mart, key in (
        ("management_monthly", (OCT, "retail")),
        ("owner_monthly", (OCT, "retail", "unassigned", "unassigned")),
    ):
        row = run_mart(
            con, mart, *(["report_month", "directorate_id"] + (["department_id", "manager_id"] if len(key) > 2 else []))
        )[key]
        nps, low, high = nps_oracle(scores)
        assert row["nps_answers_count"] == len(scores)
        assert (row["nps"], row["nps_ci_low"], row["nps_ci_high"]) == (
            pytest.approx(nps),
            pytest.approx(low, abs=1e-9),
            pytest.approx(high, abs=1e-9),
        )
        expected_csi = csi_oracle(scores)
        assert row["csi"] == (None if expected_csi is None else pytest.approx(expected_csi))
        assert row["is_nps_small_sample"] is (len(scores) < 30)


@SETTINGS
@hypothesis.given(
    hours=st.lists(st.floats(0, 500, allow_nan=False).map(lambda h: round(h, 3)), min_size=1, max_size=40),
    split=st.integers(0, 40),
)
def test_medians_and_p90_of_times_match_the_oracle(
    con: duckdb.DuckDBPyConnection, hours: list[float], split: int
) -> None:
    # The first `split` cases are logistics', the rest retail's: the company row pools both.
    directorates = ["logistics" if i < split else "retail" for i in range(len(hours))]
    cases = [
        case(OPENED, closed_after=timedelta(hours=h), first_contact_after=timedelta(hours=h / 2), directorate_id=d)
        for h, d in zip(hours, directorates, strict=True)
    ]
    sla = [
        clock("close_within_24h", "achieved" if h <= 24 else "breached", d, elapsed_minutes=h * 60)
        for h, d in zip(hours, directorates, strict=True)
    ]
    given_core(con, cases=cases, sla=sla)
    management = run_mart(con, "management_monthly", "report_month", "directorate_id")
    compliance = run_mart(con, "sla_compliance_monthly", "report_month", "directorate_id", "sla_policy_id")
    for directorate in ("retail", "logistics", "all"):
        values = [h for h, d in zip(hours, directorates, strict=True) if directorate in (d, "all")]
        row = management[(OCT, directorate)]
        sla_row = compliance[(OCT, directorate, "close_within_24h")]
        if not values:
            assert (row["close_hours_median"], sla_row["elapsed_hours_p90"]) == (None, None)
            continue
        for q, column in ((0.5, "median"), (0.9, "p90")):
            expected = percentile_oracle(values, q)
            assert row[f"close_hours_{column}"] == pytest.approx(expected, abs=1e-6)
            assert row[f"first_contact_hours_{column}"] == pytest.approx(
                percentile_oracle([v / 2 for v in values], q), abs=1e-6
            )
            assert sla_row[f"elapsed_hours_{column}"] == pytest.approx(expected, abs=1e-6)
        assert sla_row["compliance_rate"] == pytest.approx(sum(v <= 24 for v in values) / len(values))
