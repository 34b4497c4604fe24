"""sla-watch end to end: a warehouse file, real receivers on loopback, down then up, then quiet."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from flows.sla_watch import sla_watch
from tests.helpers import given
from tests.transforms.alerts.receivers import WEBHOOK_PATH, receivers, write_routing
from warehouse import connect

AS_OF = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def clocks() -> pl.DataFrame:
    """c1 at risk until 15:00 (m_orlov), c2 breached (logistics), c3 fine until 14:00, c4 an old breach."""
    rows = [
        ("c1", 1, "at_risk", "retail", "m_orlov", AS_OF + timedelta(hours=3)),
        ("c2", 1, "open_breached", "logistics", "m_fedorov", AS_OF - timedelta(minutes=30)),
        ("c3", 1, "open_ok", "finance", "m_sidorov", AS_OF + timedelta(hours=2)),
        ("c4", 1, "breached", "finance", "m_sidorov", AS_OF - timedelta(days=10)),
    ]
    frame = pl.DataFrame(
        rows,
        schema=["case_id", "cycle_number", "sla_state", "directorate_id", "manager_id", "due_at"],
        orient="row",
    )
    return frame.with_columns(
        sla_policy_id=pl.lit("close_within_24h"), department_id=pl.lit("d"), is_paused=pl.lit(False)
    )


@pytest.fixture
def warehouse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(path))
    monkeypatch.setenv("TEST_ALERT_TOKEN", "secret-token")
    with connect(path) as con:
        given(con, "core.fct_case_sla", clocks())
    return path


def deliveries(path: Path) -> list[tuple]:
    with connect(path, read_only=True) as con:
        return con.sql(
            "select split_part(alert_id, '|', 1), channel, status, attempts"
            " from audit.sla_alert_deliveries order by all"
        ).fetchall()


def test_down_then_up_then_quiet(warehouse_file: Path, tmp_path: Path) -> None:
    with receivers(started=False) as (webhook, smtp):
        routing = str(write_routing(tmp_path / "routing.yaml", webhook=webhook, smtp=smtp))

        # receivers down: the two transitions are logged, their four sends stay pending, the run fails
        with pytest.raises(RuntimeError, match="4 alert deliveries stay pending"):
            sla_watch(as_of=AS_OF.isoformat(), routing=routing)
        assert deliveries(warehouse_file) == [
            ("c1", "email", "pending", 1),
            ("c1", "webhook", "pending", 1),
            ("c2", "email", "pending", 1),
            ("c2", "webhook", "pending", 1),
        ]

        # receivers up: the next run sends what was pending, and finds nothing new
        webhook.start()
        smtp.start()
        webhook.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
        assert sla_watch(as_of=(AS_OF + timedelta(minutes=5)).isoformat(), routing=routing) == {
            "new_alerts": 0,
            "sent": 4,
            "pending": 0,
        }
        bodies = sorted(json.loads(request.data)["alert_id"] for request, _ in webhook.log)
        assert bodies == ["c1|close_within_24h|1|at_risk", "c2|close_within_24h|1|breached"]
        assert {r.headers["Authorization"] for r, _ in webhook.log} == {"Bearer secret-token"}
        recipients = sorted(tuple(e) for e in smtp.mailbox.envelopes)
        assert recipients == [("logistics@otklik.test",), ("orlov@otklik.test", "retail@otklik.test")]

        # a third run sends nothing at all
        assert sla_watch(as_of=(AS_OF + timedelta(minutes=10)).isoformat(), routing=routing) == {
            "new_alerts": 0,
            "sent": 0,
            "pending": 0,
        }
        assert len(webhook.log) == 2 and len(smtp.mailbox.messages) == 2

        # c3's due time (14:00) passes with no new build: breached now, alerted once to the default route
        later = (AS_OF + timedelta(hours=2, minutes=5)).isoformat()
        assert sla_watch(as_of=later, routing=routing) == {"new_alerts": 1, "sent": 2, "pending": 0}
        assert json.loads(webhook.log[-1][0].data)["alert_id"] == "c3|close_within_24h|1|breached"
        assert smtp.mailbox.envelopes[-1] == ["service@otklik.test"]
        assert sla_watch(as_of=later, routing=routing)["sent"] == 0
