"""Send one alert delivery by webhook (httpx) or e-mail (smtplib), retried with tenacity.

The only network code of transforms/alerts: callers pass the receiver, the secrets and the
message; nothing here reads the environment or the warehouse. A transient failure (connection
refused, timeout, HTTP 5xx or 429, SMTP 4xx) is retried within the call; a permanent one (HTTP
4xx, SMTP 5xx) is not. Either way the caller gets a ``DeliveryFailed`` and keeps the send pending.
"""

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from transforms.alerts.config import RetryPolicy, Smtp, Webhook


class DeliveryFailed(RuntimeError):
    """The receiver did not accept the alert (after the retries a transient failure gets)."""


class _Rejected(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _Rejected):
        return exc.transient
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return False
    return isinstance(exc, httpx.TransportError | OSError)  # refused, reset, timed out, server gone


def _retrying(policy: RetryPolicy) -> Retrying:
    return Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.wait_seconds, max=policy.max_wait_seconds),
        retry=retry_if_exception(_is_transient),
        reraise=True,
    )


def post_webhook(webhook: Webhook, body: dict[str, Any], *, token: str | None, policy: RetryPolicy) -> None:
    headers = {"Idempotency-Key": body["alert_id"]}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def attempt() -> None:
        response = httpx.post(webhook.url, json=body, headers=headers, timeout=10)
        if response.status_code >= 300:
            transient = response.status_code >= 500 or response.status_code == 429
            raise _Rejected(f"webhook {webhook.id} answered HTTP {response.status_code}", transient=transient)

    _deliver(attempt, policy, what=f"webhook {webhook.id}")


def send_email(smtp: Smtp, message: EmailMessage, *, password: str | None, policy: RetryPolicy) -> None:
    def attempt() -> None:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, password or "")
            client.send_message(message)

    _deliver(attempt, policy, what=f"e-mail via {smtp.host}:{smtp.port}")


def _deliver(attempt: Callable[[], None], policy: RetryPolicy, *, what: str) -> None:
    try:
        _retrying(policy)(attempt)
    except (_Rejected, httpx.HTTPError, OSError) as exc:
        raise DeliveryFailed(f"{what}: {exc}") from exc
