"""Alert owners of SLA clocks that turned at_risk or breached, once per transition (every 5 minutes).

Reads the SLA clocks of the last build read-only (a clock whose due time passed since is breached
now), logs new alerts with their pending sends in one short write, then
sends without holding the warehouse: a receiver that is down never blocks a build.
"""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from flows._tasks import parse_as_of
from transforms.alerts import deliveries, escalate, load_routing, new_alerts
from transforms.alerts.config import ROUTING_PATH, Routing
from transforms.alerts.messages import email_message, webhook_body
from transforms.alerts.send import DeliveryFailed, post_webhook, send_email
from transforms.org import load_org
from warehouse import connect
from warehouse.alerts import alerted_keys, current_clocks, pending_deliveries, record_alerts, record_delivery


class AlertsPending(RuntimeError):
    """Some sends were not accepted; they stay pending and the next run retries them."""


def routing_path(path: str | None) -> Path:
    return Path(path or os.environ.get("OTKLIK_ALERT_ROUTING", ROUTING_PATH))


@task(name="log-new-alerts")
def log_new_alerts(as_of: datetime, routing: Routing, run_id: str | None) -> int:
    with connect(read_only=True) as con:
        clocks = escalate(current_clocks(con), as_of=as_of)
        alerted = alerted_keys(con)
    alerts = new_alerts(clocks, alerted, as_of=as_of, window=timedelta(hours=routing.window_hours))
    if alerts.is_empty():
        return 0
    with connect() as con:
        return record_alerts(con, alerts, deliveries(alerts, routing), run_id=run_id)


def _send(pending: dict, routing: Routing, secrets: dict[str, str | None]) -> None:
    def secret(name: str | None) -> str | None:
        if name and not secrets.get(name):
            raise DeliveryFailed(f"environment variable {name} (named in the alert routing) is not set")
        return secrets.get(name) if name else None

    if pending["channel"] == "webhook":
        webhook = routing.webhook(pending["target"])
        post_webhook(webhook, webhook_body(pending), token=secret(webhook.token_env), policy=routing.retry)
    else:
        recipients = pending["target"].split(",")
        timezone = load_org().company.reporting_timezone
        message = email_message(pending, sender=routing.smtp.sender, recipients=recipients, timezone=timezone)
        send_email(routing.smtp, message, password=secret(routing.smtp.password_env), policy=routing.retry)


@task(name="deliver-pending-alerts")
def deliver_pending(routing: Routing) -> dict[str, int]:
    """Send every pending delivery (this run's and earlier runs' leftovers); record each outcome."""
    logger = get_run_logger()
    with connect(read_only=True) as con:
        pending = pending_deliveries(con)
    secrets = {name: os.environ.get(name) for name in routing.secret_names()}
    outcomes = []
    for item in pending:
        try:
            _send(item, routing, secrets)
            error = None
        except DeliveryFailed as exc:
            error = str(exc)
            logger.warning("alert %s via %s stays pending: %s", item["alert_id"], item["channel"], error)
        outcomes.append((item, error, datetime.now(UTC)))
    if outcomes:
        with connect() as con:
            for item, error, at in outcomes:
                record_delivery(
                    con, alert_id=item["alert_id"], channel=item["channel"], target=item["target"], at=at, error=error
                )
    failed = sum(1 for _, error, _ in outcomes if error)
    return {"sent": len(outcomes) - failed, "pending": failed}


@flow(name="sla-watch")
def sla_watch(as_of: str | None = None, routing: str | None = None) -> dict[str, int]:
    """Log new at_risk / breached transitions and send what is pending; fail while sends stay pending."""
    config = load_routing(routing_path(routing))
    logged = log_new_alerts(parse_as_of(as_of), config, flow_run.get_id())
    sent = deliver_pending(config)
    summary = {"new_alerts": logged, **sent}
    if sent["pending"]:
        raise AlertsPending(f"{sent['pending']} alert deliveries stay pending for the next run: {summary}")
    return summary
