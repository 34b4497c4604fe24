"""WhatsApp Cloud API webhooks into the whatsapp channel as shipped.

The server side of Meta's Webhooks (https://developers.facebook.com/docs/graph-api/webhooks/getting-started/):
the GET verification (hub.mode / hub.verify_token / hub.challenge) and POSTs signed with
X-Hub-Signature-256. Payloads in the shape of the Cloud API's webhook payload examples
(https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples): a text message,
a photo with a caption, and a status update.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.flows.extract.webhooks.conftest import (
    SECRETS,
    Hooks,
    MakeApp,
    assert_named_by_content,
    body_of,
    jsonl_records,
    landed_files,
    meta_signature,
)

APP_SECRET = SECRETS["OTKLIK_WHATSAPP_APP_SECRET"]
VERIFY_TOKEN = SECRETS["OTKLIK_WHATSAPP_VERIFY_TOKEN"]
METADATA = {"display_phone_number": "74951234567", "phone_number_id": "106540352242922"}
ANNA = {"profile": {"name": "Анна"}, "wa_id": "79001234567"}
IVAN = {"profile": {"name": "Иван"}, "wa_id": "79007654321"}
TEXT = {
    "from": "79001234567",
    "id": "wamid.HBgLNzkwMDEyMzQ1NjcVAgASGBQzQTdCMjM0QjVDNkQ3RThGOTAA",
    "timestamp": "1796457000",
    "text": {"body": "Заказ не пришёл, трек не обновляется"},
    "type": "text",
}
PHOTO = {
    "from": "79007654321",
    "id": "wamid.HBgLNzkwMDc2NTQzMjEVAgASGBQzQjhDNDU2RDdFOEY5MEExQjIA",
    "timestamp": "1796457060",
    "type": "image",
    "image": {"caption": "Коробка пришла мятая", "mime_type": "image/jpeg", "sha256": "aGVsbG8=", "id": "1234567890"},
}


def delivery(value: dict) -> dict:
    change = {"value": {"messaging_product": "whatsapp", "metadata": METADATA, **value}, "field": "messages"}
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}


MESSAGES = delivery({"contacts": [ANNA, IVAN], "messages": [TEXT, PHOTO]})
STATUSES = delivery(
    {"statuses": [{"id": TEXT["id"], "status": "read", "timestamp": "1796457100", "recipient_id": "79001234567"}]}
)


def post(client: Hooks, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post("/hooks/whatsapp", content=body, headers={"Content-Type": "application/json", **headers})


def test_each_message_lands_as_a_line_with_its_contact(client: Hooks, landing: Path) -> None:
    body = body_of(MESSAGES)
    answer = post(client, body, meta_signature(APP_SECRET, body))
    assert answer.status_code == 200, answer.text
    [landed] = landed_files(landing)
    assert_named_by_content(landed, "whatsapp", "jsonl")
    assert jsonl_records(landed) == [{**TEXT, "contact": ANNA}, {**PHOTO, "contact": IVAN}]


def test_a_repeated_delivery_lands_once(client: Hooks, landing: Path) -> None:
    body = body_of(MESSAGES)
    first = post(client, body, meta_signature(APP_SECRET, body))
    again = post(client, body, meta_signature(APP_SECRET, body))
    assert (first.status_code, again.status_code) == (200, 200)
    assert "X-Otklik-Duplicate" not in first.headers
    assert again.headers["X-Otklik-Duplicate"] == "true"
    assert len(landed_files(landing)) == 1


def test_a_statuses_only_delivery_lands_nothing_and_is_answered_200(client: Hooks, landing: Path) -> None:
    body = body_of(STATUSES)
    answer = post(client, body, meta_signature(APP_SECRET, body))
    assert answer.status_code == 200
    assert "X-Otklik-Landed" not in answer.headers
    assert landed_files(landing) == []


def test_a_wrong_or_missing_signature_is_401_and_nothing_lands(client: Hooks, landing: Path) -> None:
    body = body_of(MESSAGES)
    tampered = body.replace("Анна".encode(), "Алла".encode())
    for payload, headers in (
        (body, meta_signature("another-app-secret", body)),
        (tampered, meta_signature(APP_SECRET, body)),
        (body, {"X-Hub-Signature-256": meta_signature(APP_SECRET, body)["X-Hub-Signature-256"][7:]}),
        (body, {"X-Hub-Signature": "sha1=0000"}),
        (body, {}),
    ):
        answer = post(client, payload, headers)
        assert answer.status_code == 401, headers
    assert landed_files(landing) == []


def test_a_body_that_is_not_json_or_not_a_delivery_is_400(client: Hooks, landing: Path) -> None:
    for body, says in ((b"entry=1", "not valid JSON"), (b'{"object": "page"}', "no entry[] list")):
        answer = post(client, body, meta_signature(APP_SECRET, body))
        assert answer.status_code == 400
        assert says in answer.text
    assert landed_files(landing) == []


def test_the_verification_request_echoes_the_challenge_for_the_right_token(client: Hooks) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = client.get("/hooks/whatsapp", params=params)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")


def test_the_verification_request_is_403_for_a_wrong_token_or_mode(client: Hooks) -> None:
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "meatyhamhock", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
    ):
        answer = client.get("/hooks/whatsapp", params=params)
        assert answer.status_code == 403
        assert "1158201444" not in answer.text


def test_the_verification_without_its_token_configured_is_503(make_app: MakeApp) -> None:
    environ = {"OTKLIK_WHATSAPP_APP_SECRET": APP_SECRET}
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert Hooks(make_app(environ=environ)).get("/hooks/whatsapp", params=params).status_code == 503


def test_a_20_mb_delivery_is_413_and_nothing_lands(make_app: MakeApp, landing: Path) -> None:
    read = []

    async def twenty_mb() -> AsyncIterator[bytes]:
        for _ in range(20):
            read.append(1)
            yield b"{" * 2**20

    async def send() -> httpx.Response:
        headers = {"Content-Length": str(20 * 2**20), **meta_signature(APP_SECRET, b"{}")}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://r") as client:
            return await client.post("/hooks/whatsapp", content=twenty_mb(), headers=headers)

    assert asyncio.run(send()).status_code == 413
    assert read == []
    assert landed_files(landing) == []
