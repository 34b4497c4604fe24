"""Fixtures of the webhook receiver's tests: the app over the shipped channels, secrets, signing.

No Prefect here: the receiver is a plain ASGI app, so this folder does not start the Prefect harness.
Every test posts to a channel **as shipped** (its own channels.yaml entry); secrets are planted
values, distinctive enough to grep for in responses, logs and landed files.
"""

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from flows.extract.webhooks.app import create_app
from transforms.channels import Channel, load_channels

# 2026-12-05 08:00:00 UTC: the receiver's clock in these tests (landing day, signature freshness).
NOW = 1_796_457_600
TODAY = datetime.fromtimestamp(NOW, UTC).date().isoformat()

SECRETS = {
    "OTKLIK_CHAT_WEBHOOK_SECRET": "PLANTED-chat-secret-4f1c9a7e",
    "OTKLIK_SMS_GATEWAY_TOKEN": "PLANTED-sms-secret-0b8d2e61",
    "OTKLIK_INAPP_WEBHOOK_SECRET": "PLANTED-inapp-secret-93ac5d17",
    "OTKLIK_WEB_FORM_WEBHOOK_SECRET": "PLANTED-form-secret-5e7f0c22",
    "OTKLIK_CTL_SURVEY_WEBHOOK_SECRET": "PLANTED-ctl-secret-7a2b6f90",
    "OTKLIK_SELF_SERVICE_WEBHOOK_SECRET": "PLANTED-selfserv-secret-1d4e8b3c",
    "OTKLIK_VK_CALLBACK_SECRET": "PLANTED-vk-secret-c6e2a91f",
    "OTKLIK_WHATSAPP_APP_SECRET": "PLANTED-wa-appsecret-8e3d7b40",
    "OTKLIK_WHATSAPP_VERIFY_TOKEN": "PLANTED-wa-verify-2f9c1e66",
    "OTKLIK_TELEGRAM_WEBHOOK_SECRET": "PLANTED-tg-secret-token-6b0a3d58",
    "OTKLIK_TELEGRAM_BOT_TOKEN": "123456:PLANTED-tg-bot-token-aa11bb22",
}
# Not a secret: VK shows it in the community's settings, and the receiver answers it by design.
VK_CONFIRMATION = "a1b2c3d4"
ENVIRON = {**SECRETS, "OTKLIK_VK_CALLBACK_CONFIRMATION": VK_CONFIRMATION}


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Overrides tests/flows/conftest.py: nothing here needs Prefect."""
    yield


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


MakeApp = Callable[..., Starlette]


@pytest.fixture
def make_app(landing: Path) -> MakeApp:
    """make_app(channels=None, environ=ENVIRON, clock=NOW) → the receiver over the shipped channels."""

    def make(
        channels: tuple[Channel, ...] | None = None, environ: Mapping[str, str] = ENVIRON, now: float = NOW
    ) -> Starlette:
        return create_app(
            load_channels() if channels is None else channels,
            landing_dir=landing,
            environ=environ,
            load_block=lambda name: None,
            clock=lambda: now,
        )

    return make


class Hooks:
    """A client of the receiver app in this process (httpx over the ASGI transport), one call at a time."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)


@pytest.fixture
def client(make_app: MakeApp) -> Hooks:
    return Hooks(make_app())


def sign(secret: str, body: bytes, timestamp: int = NOW) -> dict[str, str]:
    """The headers of our own senders (hmac_sha256): HMAC-SHA256 over ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, "sha256").hexdigest()
    return {"X-Otklik-Timestamp": str(timestamp), "X-Otklik-Signature": f"sha256={digest}"}


def meta_signature(secret: str, body: bytes) -> dict[str, str]:
    """WhatsApp Cloud API: X-Hub-Signature-256 over the raw body with the app secret."""
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest()}


def body_of(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def landed_files(landing: Path) -> list[Path]:
    """Every file under the landing folder (dot-files too: none may be left behind)."""
    return sorted(p for p in landing.rglob("*") if p.is_file())


def assert_named_by_content(path: Path, channel_id: str, extension: str) -> None:
    assert path.parent.parts[-3:] == (channel_id, "webhook", TODAY)
    assert path.name == f"{hashlib.sha256(path.read_bytes()).hexdigest()}.{extension}"


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
