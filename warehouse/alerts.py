"""The alert log and its deliveries (audit.sla_alerts, audit.sla_alert_deliveries), and the clocks to watch.

The clocks are core.fct_case_sla as the last build judged them (the SLA engine's one definition,
calendars and pauses included); transforms/alerts/detect.py moves an open clock whose due time has
passed since then to open_breached, and one past its at_risk_at to at_risk.
"""

from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from transforms.alerts.detect import ALERT_KEY, CLOCK_COLUMNS


class WarehouseNotBuilt(RuntimeError):
    """core.fct_case_sla is missing: nothing to watch yet."""


def current_clocks(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """core.fct_case_sla's ``CLOCK_COLUMNS`` plus is_paused (cycle 1 / not paused when the engine lacks them)."""
    try:
        clocks = con.sql("select * from core.fct_case_sla").pl()
    except duckdb.CatalogException as exc:
        raise WarehouseNotBuilt("core.fct_case_sla is missing: run `otklik build` first") from exc
    if "cycle_number" not in clocks.columns:
        clocks = clocks.with_columns(cycle_number=pl.lit(1, pl.Int32))
    if "is_paused" not in clocks.columns:
        clocks = clocks.with_columns(is_paused=pl.lit(False))
    if "at_risk_at" not in clocks.columns:  # a build before the engine projected it: at risk only as judged
        clocks = clocks.with_columns(at_risk_at=pl.lit(None, pl.Datetime("us", "UTC")))
    return clocks.select(*CLOCK_COLUMNS, "is_paused")


def alerted_keys(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql(f"select {', '.join(ALERT_KEY)} from audit.sla_alerts").pl()


def record_alerts(
    con: duckdb.DuckDBPyConnection, alerts: pl.DataFrame, deliveries: pl.DataFrame, *, run_id: str | None
) -> int:
    """Log new alerts and their pending deliveries in one transaction; return the alerts newly logged.

    An alert another run logged meanwhile is skipped (its key is unique), so it is never sent twice.
    """
    if alerts.is_empty():
        return 0
    con.register("_alerts", alerts.with_columns(run_id=pl.lit(run_id, pl.String)))
    con.register("_deliveries", deliveries)
    try:
        con.execute("begin transaction")
        fresh = [
            row[0]
            for row in con.execute(
                "select alert_id from _alerts where alert_id not in (select alert_id from audit.sla_alerts)"
            ).fetchall()
        ]
        con.execute(
            """
            insert into audit.sla_alerts by name
            select alert_id, case_id, sla_policy_id, cycle_number, transition, sla_state, directorate_id,
                   department_id, manager_id, due_at, detected_at, run_id
            from _alerts
            where alert_id in (select unnest($fresh::varchar[]))
            """,
            {"fresh": fresh},
        )
        con.execute(
            """
            insert into audit.sla_alert_deliveries (alert_id, channel, target, status)
            select distinct alert_id, channel, target, 'pending' from _deliveries as d
            where alert_id in (select unnest($fresh::varchar[]))
              and not exists (
                  select 1 from audit.sla_alert_deliveries as s
                  where s.alert_id = d.alert_id and s.channel = d.channel and s.target = d.target
              )
            """,
            {"fresh": fresh},
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_alerts")
        con.unregister("_deliveries")
    return len(fresh)


def pending_deliveries(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every send not accepted yet, with its alert, oldest alert first."""
    return (
        con.sql(
            """
            select deliveries.channel, deliveries.target, deliveries.attempts, alerts.*
            from audit.sla_alert_deliveries as deliveries
            inner join audit.sla_alerts as alerts
                on alerts.alert_id = deliveries.alert_id
            where deliveries.status = 'pending'
            order by alerts.detected_at, alerts.alert_id, deliveries.channel, deliveries.target
            """
        )
        .pl()
        .to_dicts()
    )


def record_delivery(
    con: duckdb.DuckDBPyConnection, *, alert_id: str, channel: str, target: str, at: datetime, error: str | None
) -> None:
    """One run's outcome for one send: sent, or still pending with the error."""
    con.execute(
        """
        update audit.sla_alert_deliveries
        set attempts = attempts + 1,
            last_attempt_at = $at,
            last_error = $error,
            status = case when $error is null then 'sent' else 'pending' end,
            sent_at = case when $error is null then $at end
        where alert_id = $alert_id and channel = $channel and target = $target and status = 'pending'
        """,
        {"at": at, "error": error, "alert_id": alert_id, "channel": channel, "target": target},
    )
