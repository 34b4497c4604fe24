"""Our own senders (extraction provider hmac_sha256), each channel as shipped: website chat, SMS
survey replies, in-product rating, close-the-loop survey, self-service sessions (JSON bodies) and the
website form (urlencoded → one-row CSV).

Signature: ``X-Otklik-Signature: sha256=<hex HMAC-SHA256 of "<X-Otklik-Timestamp>.<raw body>">``,
5 minutes' tolerance (flows/extract/webhooks/hmac_sha256.py, docs/webhooks.md).
"""

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.flows.extract.webhooks.conftest import (
    NOW,
    SECRETS,
    Hooks,
    MakeApp,
    assert_named_by_content,
    body_of,
    jsonl_records,
    landed_files,
    sign,
)

DELIVERIES = {
    "website_chat": {
        "event_name": "client_message",
        "widget_id": "kX3fT9aQ2m",
        "chat_id": "c00a1b2c3d4",
        "message": {"id": "m19a8f3c2b1d0", "type": "text", "timestamp": 1_796_457_000_123, "text": "Где мой заказ?"},
        "visitor": {"id": "v-5521", "email": "anna@example.ru", "phone": "+79001234567", "user_agent": "Firefox"},
        "page": {"url": "https://instrument-market.ru/cart/checkout/"},
    },
    "sms_survey_replies": {
        "id": "880123",
        "phone": "79001234567",
        "mes": "4 курьер опоздал",
        "to": "INSTRUMENT",
        "sent": "1796450000",
        "time": "1796457000",
        "survey": "delivery_csat",
        "score": "4",
        "comment": "курьер опоздал",
    },
    "inapp_popup_rating": {
        "event_id": "3f0e4b1c-8d8a-4c57-9d7e-0b5a1c2d3e4f",
        "ts": "2026-12-05T07:59:12.345Z",
        "user_id": "u500123",
        "rating": 9,
        "comment": "Удобно",
        "plan": "pro",
        "user_agent": "Chrome",
        "page": "app",
    },
    "ctl_final_survey": {
        "response_id": "r-7788",
        "survey": "close_the_loop_final",
        "case_id": "CASE-2026-0042",
        "customer_id": "C-100042",
        "answered_at": "2026-12-05T10:55:00+03:00",
        "tnps": 8,
        "solved": "Да",
        "comment": "Вернули деньги быстро",
    },
    "self_service_sessions": {
        "session_id": "ss-99120",
        "tool": "bot",
        "started_at": "2026-12-05T10:40:00+03:00",
        "ended_at": "2026-12-05T10:43:10+03:00",
        "customer_id": "",
        "question": "Как вернуть перфоратор?",
        "outcome": "resolved",
        "escalated_to": "",
    },
}
JSON_CHANNELS = sorted(DELIVERIES)
SECRET_OF = {
    "website_chat": SECRETS["OTKLIK_CHAT_WEBHOOK_SECRET"],
    "sms_survey_replies": SECRETS["OTKLIK_SMS_GATEWAY_TOKEN"],
    "inapp_popup_rating": SECRETS["OTKLIK_INAPP_WEBHOOK_SECRET"],
    "ctl_final_survey": SECRETS["OTKLIK_CTL_SURVEY_WEBHOOK_SECRET"],
    "self_service_sessions": SECRETS["OTKLIK_SELF_SERVICE_WEBHOOK_SECRET"],
    "web_form": SECRETS["OTKLIK_WEB_FORM_WEBHOOK_SECRET"],
}
FORM = {
    "id": "1200457",
    "created_at": "2026-12-05 10:58:03",
    "page_url": "https://instrument-market.ru/help/delivery/",
    "topic": "Доставка",
    "name": "Анна",
    "email": "anna@example.ru",
    "phone": "+7 900 123-45-67",
    "call_me_back": "1",
    "message": 'Курьер не приехал, "окно" 10-14, перезвоните, пожалуйста',
}
TWENTY_MB = 20 * 2**20


def post(client: Hooks, channel_id: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"/hooks/{channel_id}", content=body, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize("channel_id", JSON_CHANNELS)
def test_a_signed_delivery_lands_once_as_a_jsonl_line(client: Hooks, landing: Path, channel_id: str) -> None:
    body = body_of(DELIVERIES[channel_id])
    answer = post(client, channel_id, body, sign(SECRET_OF[channel_id], body))
    assert answer.status_code == 200, answer.text
    [landed] = landed_files(landing)
    assert_named_by_content(landed, channel_id, "jsonl")
    assert answer.headers["X-Otklik-Landed"] == landed.relative_to(landing).as_posix()
    assert jsonl_records(landed) == [DELIVERIES[channel_id]]

    again = post(client, channel_id, body, sign(SECRET_OF[channel_id], body))  # the sender retries
    assert again.status_code == 200
    assert again.headers["X-Otklik-Duplicate"] == "true"
    assert landed_files(landing) == [landed]


@pytest.mark.parametrize("channel_id", [*JSON_CHANNELS, "web_form"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_lands(client: Hooks, landing: Path, channel_id: str) -> None:
    body = body_of(DELIVERIES.get(channel_id, {"id": "1"}))
    wrong_key = sign("not-the-secret", body)
    other_body = sign(SECRET_OF[channel_id], body + b" ")
    no_signature = {"X-Otklik-Timestamp": str(NOW)}
    no_timestamp = {"X-Otklik-Signature": sign(SECRET_OF[channel_id], body)["X-Otklik-Signature"]}
    not_sha256 = {**sign(SECRET_OF[channel_id], body)}
    not_sha256["X-Otklik-Signature"] = not_sha256["X-Otklik-Signature"].replace("sha256=", "sha1=")
    for headers in (wrong_key, other_body, no_signature, no_timestamp, not_sha256, {}):
        answer = post(client, channel_id, body, headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert len(answer.text.splitlines()) == 1
    assert landed_files(landing) == []


def test_an_old_signature_replayed_later_is_refused(client: Hooks, landing: Path) -> None:
    body = body_of(DELIVERIES["website_chat"])
    secret = SECRET_OF["website_chat"]
    for stamp in (NOW - 301, NOW + 301):
        answer = post(client, "website_chat", body, sign(secret, body, timestamp=stamp))
        assert answer.status_code == 401
        assert "300 s" in answer.text
    assert landed_files(landing) == []
    assert post(client, "website_chat", body, sign(secret, body, timestamp=NOW - 299)).status_code == 200


def test_a_json_array_lands_one_line_per_object(client: Hooks, landing: Path) -> None:
    replies = [DELIVERIES["sms_survey_replies"], {**DELIVERIES["sms_survey_replies"], "id": "880124", "score": "5"}]
    body = body_of(replies)
    assert post(client, "sms_survey_replies", body, sign(SECRET_OF["sms_survey_replies"], body)).status_code == 200
    [landed] = landed_files(landing)
    assert jsonl_records(landed) == replies


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"id": "1", ', "not valid JSON: line 1 col 13: Expecting property name"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"score": NaN}', "not valid JSON"),
        (b"[]", "one JSON object or a non-empty JSON array of objects"),
        (b'[{"id": "1"}, 2]', "one JSON object or a non-empty JSON array of objects"),
        (b'"text"', "one JSON object"),
    ],
)
def test_a_body_that_is_not_json_objects_is_400_with_one_line(
    client: Hooks, landing: Path, body: bytes, says: str
) -> None:
    answer = post(client, "website_chat", body, sign(SECRET_OF["website_chat"], body))
    assert answer.status_code == 400
    assert says in answer.text
    assert len(answer.text.splitlines()) == 1
    assert landed_files(landing) == []


def test_the_website_form_lands_a_one_row_csv_under_the_export_header(client: Hooks, landing: Path) -> None:
    body = urlencode(FORM).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET_OF["web_form"], body)}
    answer = client.post("/hooks/web_form", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    [landed] = landed_files(landing)
    assert_named_by_content(landed, "web_form", "csv")
    rows = list(csv.reader(io.StringIO(landed.read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "created_at", "page_url", "topic", "name", "email", "phone", "call_me_back", "message"]
    assert dict(zip(rows[0], rows[1], strict=True)) == FORM
    assert len(rows) == 2
    assert client.post("/hooks/web_form", content=body, headers=headers).headers["X-Otklik-Duplicate"] == "true"
    assert landed_files(landing) == [landed]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({**FORM, "utm_source": "mail"}, "unknown form fields ['utm_source']"),
        ({k: v for k, v in FORM.items() if k != "id"}, "lacks the fields ['id']"),
        ({**FORM, "created_at": " "}, "lacks the fields ['created_at']"),
        ([*FORM.items(), ("id", "2")], "the form field 'id' is given twice"),
    ],
)
def test_a_form_that_does_not_fit_the_columns_is_400(
    client: Hooks, landing: Path, fields: dict[str, str] | list[tuple[str, str]], says: str
) -> None:
    body = urlencode(fields).encode()
    answer = client.post("/hooks/web_form", content=body, headers=sign(SECRET_OF["web_form"], body))
    assert answer.status_code == 400
    assert says in answer.text
    assert landed_files(landing) == []


@pytest.mark.parametrize("channel_id", [*JSON_CHANNELS, "web_form"])
def test_a_20_mb_body_is_413_by_its_content_length_before_a_byte_is_read(
    make_app: MakeApp, landing: Path, channel_id: str
) -> None:
    sent = []

    async def twenty_mb() -> AsyncIterator[bytes]:
        for _ in range(20):
            sent.append(1)
            yield b"x" * 2**20

    headers = {"Content-Length": str(TWENTY_MB), **sign(SECRET_OF[channel_id], b"x" * 10)}
    answer = asyncio.run(_post_stream(make_app(), f"/hooks/{channel_id}", twenty_mb(), headers))
    assert answer.status_code == 413
    assert "1048576 bytes" in answer.text
    assert sent == []  # the receiver never asked for the body
    assert landed_files(landing) == []


def test_a_body_without_content_length_is_counted_and_cut_at_the_cap(make_app: MakeApp, landing: Path) -> None:
    sent = []

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(20 * 16):
            sent.append(1)
            yield b" " * 2**16  # 64 KiB: 20 MB in all

    headers = sign(SECRET_OF["website_chat"], b"{}")
    answer = asyncio.run(_post_stream(make_app(), "/hooks/website_chat", chunked(), headers))
    assert answer.status_code == 413
    assert len(sent) <= 17 + 1  # 1 MiB is 16 chunks: stopped at the 17th (one more may be buffered)
    assert landed_files(landing) == []


async def _post_stream(app, path: str, content: AsyncIterator[bytes], headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        return await client.post(path, content=content, headers=headers)


def test_a_larger_cap_is_taken_from_the_channels_options(make_app: MakeApp, landing: Path) -> None:
    from transforms.channels import get_channel

    chat = get_channel("website_chat")
    raised = chat.model_copy(
        update={"extraction": chat.how_extracted.model_copy(update={"options": {"max_body_bytes": 4 * 2**20}})}
    )
    event = {**DELIVERIES["website_chat"], "page": {"url": "https://instrument-market.ru/" + "a" * 2 * 2**20}}
    body = body_of(event)
    raised_client, shipped_client = Hooks(make_app(channels=(raised,))), Hooks(make_app())
    assert post(raised_client, "website_chat", body, sign(SECRET_OF["website_chat"], body)).status_code == 200
    assert post(shipped_client, "website_chat", body, sign(SECRET_OF["website_chat"], body)).status_code == 413
    assert len(landed_files(landing)) == 1
