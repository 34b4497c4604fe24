"""Telegram Bot API webhooks (https://core.telegram.org/bots/api#setwebhook): each Update POSTed as
JSON with the setWebhook ``secret_token`` in ``X-Telegram-Bot-Api-Secret-Token``.

telegram_bot is shipped as a pulled channel (getUpdates; Telegram refuses getUpdates while a webhook
is set), so these tests receive its own entry with ``extraction`` switched to the webhook, exactly the
switch docs/webhooks.md describes: ``{kind: webhook, provider: telegram, options: {secret_token_env:
OTKLIK_TELEGRAM_WEBHOOK_SECRET}}`` (the bot token holds ``:``, which a secret_token may not).
The Updates are real ones (tests/fixtures/real/telegram_bot_api, nutgram's fixtures, MIT).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.flows.extract.webhooks.conftest import (
    SECRETS,
    Hooks,
    MakeApp,
    assert_named_by_content,
    jsonl_records,
    landed_files,
)
from transforms.channels import Channel, get_channel
from transforms.channels.registry import Extraction
from transforms.readers import read_file

SECRET_TOKEN = SECRETS["OTKLIK_TELEGRAM_WEBHOOK_SECRET"]
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_bot_by_webhook() -> Channel:
    """The shipped telegram_bot entry, received instead of pulled."""
    extraction = Extraction(
        kind="webhook", provider="telegram", options={"secret_token_env": "OTKLIK_TELEGRAM_WEBHOOK_SECRET"}
    )
    return get_channel("telegram_bot").model_copy(update={"extraction": extraction})


@pytest.fixture
def hooks(make_app: MakeApp) -> Hooks:
    return Hooks(make_app(channels=(telegram_bot_by_webhook(),)))


def post(hooks: Hooks, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return hooks.post("/hooks/telegram_bot", content=body, headers={"Content-Type": "application/json", **headers})


def test_an_update_lands_as_one_line_the_channel_reads(hooks: Hooks, landing: Path, real_samples: Path) -> None:
    body = (real_samples / "telegram_bot_api" / "nutgram_update_message.json").read_bytes()  # pretty-printed
    answer = post(hooks, body, {HEADER: SECRET_TOKEN})
    assert answer.status_code == 200, answer.text
    [landed] = landed_files(landing)
    assert_named_by_content(landed, "telegram_bot", "jsonl")
    assert jsonl_records(landed) == [json.loads(body)]
    assert landed.read_bytes().count(b"\n") == 1
    records = read_file(landed.read_bytes(), telegram_bot_by_webhook()).records
    assert [r["update_id"] for r in records] == [1]


def test_a_repeated_update_lands_once(hooks: Hooks, landing: Path, real_samples: Path) -> None:
    for name in ("nutgram_update_message.json", "nutgram_update_entities.json", "nutgram_update_message.json"):
        body = (real_samples / "telegram_bot_api" / name).read_bytes()
        assert post(hooks, body, {HEADER: SECRET_TOKEN}).status_code == 200
    assert len(landed_files(landing)) == 2


def test_a_wrong_or_missing_secret_token_is_401_before_the_body_is_read(make_app: MakeApp, landing: Path) -> None:
    read = []

    async def update() -> AsyncIterator[bytes]:
        read.append(1)
        yield b'{"update_id": 7}'

    async def send(headers: dict[str, str]) -> httpx.Response:
        app = make_app(channels=(telegram_bot_by_webhook(),))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as client:
            return await client.post("/hooks/telegram_bot", content=update(), headers=headers)

    bot_token = SECRETS["OTKLIK_TELEGRAM_BOT_TOKEN"]
    for headers in ({HEADER: "wrong"}, {HEADER: bot_token}, {HEADER: SECRET_TOKEN[:-1]}, {}):
        answer = asyncio.run(send(headers))
        assert answer.status_code == 401
        assert HEADER in answer.text
    assert read == []
    assert landed_files(landing) == []


def test_a_body_that_is_not_an_update_is_400(hooks: Hooks, landing: Path) -> None:
    for body, says in ((b"update_id=1", "not valid JSON"), (b'{"message": {}}', "integer update_id")):
        answer = post(hooks, body, {HEADER: SECRET_TOKEN})
        assert answer.status_code == 400
        assert says in answer.text
    assert landed_files(landing) == []


def test_a_20_mb_update_is_413(hooks: Hooks, landing: Path) -> None:
    body = b'{"update_id": 1, "message": {"text": "' + b"x" * (20 * 2**20) + b'"}}'
    assert post(hooks, body, {HEADER: SECRET_TOKEN}).status_code == 413
    assert landed_files(landing) == []


def test_the_shipped_telegram_bot_stays_pulled_and_has_no_endpoint(client: Hooks) -> None:
    assert get_channel("telegram_bot").how_extracted.kind == "pull"
    answer = client.post("/hooks/telegram_bot", content=b"{}", headers={HEADER: SECRET_TOKEN})
    assert answer.status_code == 404
