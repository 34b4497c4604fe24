"""The alert log in DuckDB: a transition is logged once, sends stay pending until accepted."""

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest

from tests.helpers import given
from transforms.alerts import Routing, deliveries, new_alerts
from warehouse.alerts import (
    WarehouseNotBuilt,
    alerted_keys,
    current_clocks,
    pending_deliveries,
    record_alerts,
    record_delivery,
)

AS_OF = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
ROUTING = Routing.model_validate(
    {
        "smtp": {"host": "127.0.0.1", "sender": "a@b.c"},
        "webhooks": [{"id": "desk", "url": "http://127.0.0.1:1/x"}],
        "routes": [{"default": True, "webhooks": ["desk"], "emails": ["x@b.c", "y@b.c"]}],
    }
)


def fct_case_sla(*rows: tuple[str, str, datetime | None]) -> pl.DataFrame:
    """The columns today's fct_case_sla had before cycles and pauses: the watch must cope with them."""
    return pl.DataFrame(
        [
            {
                "case_id": case_id,
                "sla_policy_id": "close_within_24h",
                "sla_state": state,
                "directorate_id": "retail",
                "department_id": "stores_moscow",
                "manager_id": "m_orlov",
                "due_at": due_at,
                "target_minutes": 1440,
            }
            for case_id, state, due_at in rows
        ],
        schema_overrides={"due_at": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def watched(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given(
        con,
        "core.fct_case_sla",
        fct_case_sla(
            ("c1", "at_risk", AS_OF + timedelta(hours=1)),
            ("c2", "open_breached", AS_OF - timedelta(hours=1)),
            ("c3", "open_ok", AS_OF + timedelta(hours=9)),
        ),
    )
    return con


def log(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    alerts = new_alerts(current_clocks(con), alerted_keys(con), as_of=AS_OF, window=timedelta(hours=48))
    return record_alerts(con, alerts, deliveries(alerts, ROUTING), run_id=run_id)


def test_clocks_without_cycles_or_pauses_are_cycle_1_and_running(watched: duckdb.DuckDBPyConnection) -> None:
    clocks = current_clocks(watched)
    assert set(clocks["cycle_number"]) == {1} and set(clocks["is_paused"]) == {False}


def test_missing_fct_case_sla_is_a_clear_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(WarehouseNotBuilt, match="run `otklik build` first"):
        current_clocks(con)


def test_each_transition_is_logged_once_with_one_send_per_receiver(watched: duckdb.DuckDBPyConnection) -> None:
    assert log(watched, "r1") == 2
    assert log(watched, "r2") == 0
    sends = sorted((p["case_id"], p["channel"], p["target"], p["attempts"]) for p in pending_deliveries(watched))
    assert sends == [
        ("c1", "email", "x@b.c,y@b.c", 0),
        ("c1", "webhook", "desk", 0),
        ("c2", "email", "x@b.c,y@b.c", 0),
        ("c2", "webhook", "desk", 0),
    ]


def test_a_failed_send_stays_pending_and_a_sent_one_is_done(watched: duckdb.DuckDBPyConnection) -> None:
    log(watched, "r1")
    c1 = "c1|close_within_24h|1|at_risk"
    record_delivery(watched, alert_id=c1, channel="webhook", target="desk", at=AS_OF, error="refused")
    record_delivery(watched, alert_id=c1, channel="email", target="x@b.c,y@b.c", at=AS_OF, error=None)
    later = AS_OF + timedelta(minutes=5)
    record_delivery(watched, alert_id=c1, channel="webhook", target="desk", at=later, error=None)
    record_delivery(watched, alert_id=c1, channel="webhook", target="desk", at=later, error=None)  # no-op: sent
    rows = watched.execute(
        "select channel, status, attempts, sent_at from audit.sla_alert_deliveries where alert_id = ? order by 1",
        [c1],
    ).fetchall()
    assert rows == [("email", "sent", 1, AS_OF), ("webhook", "sent", 2, later)]
    assert {p["case_id"] for p in pending_deliveries(watched)} == {"c2"}
