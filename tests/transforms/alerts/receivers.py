"""Real alert receivers on loopback: an HTTP server (pytest-httpserver) and an SMTP server (aiosmtpd)."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import yaml
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer

WEBHOOK_PATH = "/hooks/sla"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start and stop a real SMTP server on a fixed loopback port (stopped = connection refused)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextmanager
def receivers(*, started: bool = True) -> Iterator[tuple[HTTPServer, SmtpServer]]:
    webhook = HTTPServer(host="127.0.0.1", port=free_port())
    smtp = SmtpServer()
    if started:
        webhook.start()
        smtp.start()
    try:
        yield webhook, smtp
    finally:
        if webhook.is_running():
            webhook.stop()
        smtp.stop()


def write_routing(path: Path, *, webhook: HTTPServer, smtp: SmtpServer, attempts: int = 2) -> Path:
    document = {
        "window_hours": 48,
        "retry": {"attempts": attempts, "wait_seconds": 0, "max_wait_seconds": 0},
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "sender": "sla-watch@otklik.test", "timeout_seconds": 5},
        "webhooks": [
            {"id": "desk", "url": f"http://127.0.0.1:{webhook.port}{WEBHOOK_PATH}", "token_env": "TEST_ALERT_TOKEN"}
        ],
        "routes": [
            {"default": True, "webhooks": ["desk"], "emails": ["service@otklik.test"]},
            {"directorate_id": "logistics", "webhooks": ["desk"], "emails": ["logistics@otklik.test"]},
            {"manager_id": "m_orlov", "webhooks": ["desk"], "emails": ["orlov@otklik.test", "retail@otklik.test"]},
        ],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path
