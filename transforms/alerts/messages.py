"""What an alert says: the webhook's JSON body and the e-mail, from one alert-log row (pure)."""

import hashlib
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

SUBJECTS = {
    "at_risk": "SLA под угрозой",
    "breached": "SLA нарушен",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_body(alert: dict[str, Any]) -> dict[str, Any]:
    """The JSON document POSTed to a webhook; ``alert_id`` doubles as the receiver's idempotency key."""
    return {
        "alert_id": alert["alert_id"],
        "transition": alert["transition"],
        "sla_state": alert["sla_state"],
        "case_id": alert["case_id"],
        "sla_policy_id": alert["sla_policy_id"],
        "cycle_number": alert["cycle_number"],
        "directorate_id": alert["directorate_id"],
        "department_id": alert["department_id"],
        "manager_id": alert["manager_id"],
        "due_at": _iso(alert["due_at"]),
        "detected_at": _iso(alert["detected_at"]),
    }


def message_id(alert_id: str) -> str:
    """A stable Message-ID, so a mail server or client can drop a re-sent duplicate."""
    return f"<sla-{hashlib.sha256(alert_id.encode()).hexdigest()[:32]}@otklik>"


def email_message(alert: dict[str, Any], *, sender: str, recipients: list[str], timezone: str) -> EmailMessage:
    zone = ZoneInfo(timezone)
    due = alert["due_at"].astimezone(zone).strftime("%d.%m.%Y %H:%M") if alert["due_at"] else "—"
    message = EmailMessage()
    message["Subject"] = f"[otklik] {SUBJECTS[alert['transition']]}: {alert['case_id']} ({alert['sla_policy_id']})"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = message_id(alert["alert_id"])
    message["X-Otklik-Alert-Id"] = alert["alert_id"]
    message.set_content(
        "\n".join(
            [
                f"Обращение: {alert['case_id']}",
                f"Норматив: {alert['sla_policy_id']} (цикл {alert['cycle_number']})",
                f"Состояние: {alert['sla_state']}",
                f"Срок: {due} ({timezone})",
                f"Владелец: {alert['directorate_id']} / {alert['department_id']} / {alert['manager_id']}",
                "",
                "Письмо отправлено otklik sla-watch один раз на этот переход.",
            ]
        )
    )
    return message
