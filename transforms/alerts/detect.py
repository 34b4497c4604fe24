"""Which SLA clocks need an alert now, and to whom: pure functions of Polars frames.

A transition is alerted once per (case, policy, cycle): ``at_risk`` when the clock is open with
less than its at-risk share left, ``breached`` when its due time passed (open or achieved late).
A clock that went from open_ok straight to breached between two runs gets only the breach alert.
"""

from datetime import datetime, timedelta

import polars as pl

from transforms.alerts.config import Routing

TRANSITION_OF_STATE = {"at_risk": "at_risk", "open_breached": "breached", "breached": "breached"}

CLOCK_COLUMNS = (
    "case_id",
    "sla_policy_id",
    "cycle_number",
    "sla_state",
    "directorate_id",
    "department_id",
    "manager_id",
    "due_at",
    "at_risk_at",
)
ALERT_KEY = ("case_id", "sla_policy_id", "cycle_number", "transition")


def escalate(clocks: pl.DataFrame, *, as_of: datetime) -> pl.DataFrame:
    """Clocks as they stand at ``as_of``, between two builds: an open, running clock whose due time has
    passed is open_breached now, and one whose ``at_risk_at`` has passed is at_risk. Both moments come
    from the build (core.fct_case_sla), in the policy's calendar, so the watch needs no calendar
    arithmetic of its own. A paused clock keeps its state: its moments move when it resumes.

    Both are the last instant of the state before (the boundary rule, docs/sla.md): ``due_at`` the last
    within target, ``at_risk_at`` the last with at least the at-risk share left. So "passed" is strictly
    after, as the build judges ``as_of > due_at``: a clock due Monday 09:00 is not breached on Saturday,
    nor at 09:00 itself."""
    running = pl.col("sla_state").is_in(["open_ok", "at_risk"]) & ~pl.col("is_paused").fill_null(False)
    overdue = running & pl.col("due_at").is_not_null() & (pl.col("due_at") < as_of)
    at_risk = running & pl.col("at_risk_at").is_not_null() & (pl.col("at_risk_at") < as_of)
    return clocks.with_columns(
        sla_state=pl.when(overdue)
        .then(pl.lit("open_breached"))
        .when(at_risk)
        .then(pl.lit("at_risk"))
        .otherwise("sla_state")
    )


def new_alerts(clocks: pl.DataFrame, alerted: pl.DataFrame, *, as_of: datetime, window: timedelta) -> pl.DataFrame:
    """Clocks in an alerting state whose transition is not in the alert log yet.

    Args:
        clocks: core.fct_case_sla rows (``CLOCK_COLUMNS``), escalated to ``as_of``.
        alerted: the alert log's keys (``ALERT_KEY``).
        as_of: the watch's clock.
        window: breaches whose due time is older than this are history and not alerted.
    """
    candidates = (
        clocks.select(CLOCK_COLUMNS)
        .filter(pl.col("sla_state").is_in(list(TRANSITION_OF_STATE)))
        .with_columns(
            transition=pl.col("sla_state").replace_strict(TRANSITION_OF_STATE, return_dtype=pl.String),
            cycle_number=pl.col("cycle_number").cast(pl.Int32),
        )
        .filter((pl.col("transition") == "at_risk") | (pl.col("due_at") >= as_of - window))
    )
    known = alerted.select(ALERT_KEY).with_columns(pl.col("cycle_number").cast(pl.Int32))
    return (
        candidates.join(known, on=list(ALERT_KEY), how="anti")
        .with_columns(
            alert_id=pl.concat_str([pl.col(c).cast(pl.String) for c in ALERT_KEY], separator="|"),
            detected_at=pl.lit(as_of).cast(pl.Datetime("us", "UTC")),
        )
        .sort("due_at", "case_id", "sla_policy_id", "transition", nulls_last=True)
    )


def deliveries(alerts: pl.DataFrame, routing: Routing) -> pl.DataFrame:
    """One row per (alert, channel, target): each webhook of the owner's route, and one e-mail to its addresses."""
    rows = []
    for alert in alerts.select("alert_id", "manager_id", "department_id", "directorate_id").iter_rows(named=True):
        route = routing.route_for(
            manager_id=alert["manager_id"], department_id=alert["department_id"], directorate_id=alert["directorate_id"]
        )
        rows += [{"alert_id": alert["alert_id"], "channel": "webhook", "target": w} for w in route.webhooks]
        if route.emails:
            rows.append({"alert_id": alert["alert_id"], "channel": "email", "target": ",".join(route.emails)})
    return pl.DataFrame(rows, schema={"alert_id": pl.String, "channel": pl.String, "target": pl.String})
