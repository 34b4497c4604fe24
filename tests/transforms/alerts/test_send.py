"""Sending against real receivers on loopback: pytest-httpserver and aiosmtpd, up, down and failing."""

import json
from datetime import UTC, datetime

import pytest
from werkzeug import Response

from tests.transforms.alerts.receivers import WEBHOOK_PATH, receivers
from transforms.alerts.config import RetryPolicy, Smtp, Webhook
from transforms.alerts.messages import email_message, message_id, webhook_body
from transforms.alerts.send import DeliveryFailed, post_webhook, send_email

ALERT = {
    "alert_id": "CS-1|close_within_24h|1|breached",
    "transition": "breached",
    "sla_state": "open_breached",
    "case_id": "CS-1",
    "sla_policy_id": "close_within_24h",
    "cycle_number": 1,
    "directorate_id": "retail",
    "department_id": "stores_moscow",
    "manager_id": "m_orlov",
    "due_at": datetime(2026, 10, 20, 9, 0, tzinfo=UTC),
    "detected_at": datetime(2026, 10, 20, 9, 5, tzinfo=UTC),
}
FAST = RetryPolicy(attempts=3, wait_seconds=0, max_wait_seconds=0)


def test_webhook_gets_the_json_with_token_and_idempotency_key() -> None:
    with receivers() as (webhook, _):
        webhook.expect_oneshot_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
        hook = Webhook(id="desk", url=f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}")
        post_webhook(hook, webhook_body(ALERT), token="t0ken", policy=FAST)
        (request, _response), *rest = webhook.log
    assert rest == []
    assert json.loads(request.data) == webhook_body(ALERT)
    assert json.loads(request.data)["due_at"] == "2026-10-20T09:00:00+00:00"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.headers["Idempotency-Key"] == ALERT["alert_id"]


def test_webhook_5xx_is_retried_within_the_call() -> None:
    with receivers() as (webhook, _):
        webhook.expect_ordered_request(WEBHOOK_PATH).respond_with_response(Response("busy", status=503))
        webhook.expect_ordered_request(WEBHOOK_PATH).respond_with_data("ok")
        hook = Webhook(id="desk", url=f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}")
        post_webhook(hook, webhook_body(ALERT), token=None, policy=FAST)
        assert [r.status_code for _, r in webhook.log] == [503, 200]


def test_webhook_4xx_is_not_retried() -> None:
    with receivers() as (webhook, _):
        webhook.expect_request(WEBHOOK_PATH).respond_with_response(Response("no", status=401))
        hook = Webhook(id="desk", url=f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}")
        with pytest.raises(DeliveryFailed, match="HTTP 401"):
            post_webhook(hook, webhook_body(ALERT), token=None, policy=FAST)
        assert len(webhook.log) == 1


def test_webhook_down_fails_after_the_retries() -> None:
    with receivers(started=False) as (webhook, _):
        hook = Webhook(id="desk", url=f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}")
        with pytest.raises(DeliveryFailed, match="webhook desk"):
            post_webhook(hook, webhook_body(ALERT), token=None, policy=FAST)


def test_email_reaches_the_smtp_server_with_a_stable_message_id() -> None:
    with receivers() as (_, smtp):
        server = Smtp(host="127.0.0.1", port=smtp.port, sender="sla@otklik.test")
        message = email_message(
            ALERT, sender=server.sender, recipients=["a@otklik.test", "b@otklik.test"], timezone="Europe/Moscow"
        )
        send_email(server, message, password=None, policy=FAST)
    [received] = smtp.mailbox.messages
    assert smtp.mailbox.envelopes == [["a@otklik.test", "b@otklik.test"]]
    assert received["Subject"] == "[otklik] SLA нарушен: CS-1 (close_within_24h)"
    assert received["Message-ID"] == message_id(ALERT["alert_id"])
    assert "Срок: 20.10.2026 12:00 (Europe/Moscow)" in received.get_content()


def test_email_server_down_fails_after_the_retries() -> None:
    with receivers(started=False) as (_, smtp):
        server = Smtp(host="127.0.0.1", port=smtp.port, sender="sla@otklik.test")
        message = email_message(ALERT, sender=server.sender, recipients=["a@otklik.test"], timezone="UTC")
        with pytest.raises(DeliveryFailed, match=f"127.0.0.1:{smtp.port}"):
            send_email(server, message, password=None, policy=FAST)
