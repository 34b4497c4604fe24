"""The receiver as a whole: its endpoints, secrets, atomic landing, and the next ingest loading it all.

Channels are the shipped entries of channels.yaml. The ingest test delivers to every kind of rule,
ingests into a warehouse (``warehouse.ingest.ingest_landing``), finds the items in
raw.channel_payloads, delivers the same again and ingests again: nothing new.
"""

import json
import logging
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

from flows.extract.webhooks import options_of, webhook_channels
from flows.extract.webhooks.landing import extension_for, land_delivery
from tests.flows.extract.webhooks.conftest import (
    ENVIRON,
    SECRETS,
    Hooks,
    MakeApp,
    body_of,
    landed_files,
    meta_signature,
    sign,
)
from tests.flows.extract.webhooks.test_hmac_sha256 import DELIVERIES, FORM, SECRET_OF
from tests.flows.extract.webhooks.test_vk_callback import MESSAGE_NEW
from tests.flows.extract.webhooks.test_whatsapp import MESSAGES
from transforms.channels import get_channel, load_channels
from warehouse import connect_memory
from warehouse.ingest import ingest_landing

SHIPPED = {
    "website_chat": "hmac_sha256",
    "sms_survey_replies": "hmac_sha256",
    "inapp_popup_rating": "hmac_sha256",
    "web_form": "hmac_sha256",
    "ctl_final_survey": "hmac_sha256",
    "self_service_sessions": "hmac_sha256",
    "vk_messages": "vk_callback",
    "whatsapp": "whatsapp",
}


def test_every_webhook_channel_as_shipped_has_a_rule_options_and_a_secret_by_name() -> None:
    channels = webhook_channels(load_channels())
    assert {c.id: c.how_extracted.provider for c in channels} == SHIPPED
    for channel in channels:
        options_of(channel)  # validates; raises naming the channel
        assert channel.credentials_env and channel.credentials_env.startswith("OTKLIK_"), channel.id
        assert extension_for(channel) == channel.format


def test_health_lists_the_endpoints(client: Hooks) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "channels": dict(sorted(SHIPPED.items()))}


def test_channels_that_are_not_received_have_no_endpoint(client: Hooks) -> None:
    for channel_id in ("telegram_bot", "ozon_reviews", "no_such_channel", "..%2F..%2Fetc"):
        answer = client.post(f"/hooks/{channel_id}", content=b"{}")
        assert answer.status_code == 404, channel_id
    assert client.get("/hooks/website_chat").status_code == 405  # no handshake: POST only
    assert client.get("/hooks/telegram_bot").status_code == 404


def test_a_disabled_webhook_channel_has_no_endpoint(make_app: MakeApp) -> None:
    disabled = get_channel("website_chat").model_copy(update={"enabled": False})
    body = body_of(DELIVERIES["website_chat"])
    answer = Hooks(make_app(channels=(disabled,))).post("/hooks/website_chat", content=body, headers=sign("x", body))
    assert answer.status_code == 404


def test_a_secret_that_is_not_set_is_503_and_the_log_names_the_variable_only(
    make_app: MakeApp, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="otklik.webhooks")
    environ = {k: v for k, v in ENVIRON.items() if k != "OTKLIK_CHAT_WEBHOOK_SECRET"}
    body = body_of(DELIVERIES["website_chat"])
    answer = Hooks(make_app(environ=environ)).post(
        "/hooks/website_chat", content=body, headers=sign(SECRET_OF["website_chat"], body)
    )
    assert answer.status_code == 503
    assert "OTKLIK_CHAT_WEBHOOK_SECRET" not in answer.text  # the sender learns nothing of our configuration
    assert "environment variable OTKLIK_CHAT_WEBHOOK_SECRET" in caplog.text
    assert landed_files(landing) == []


def _deliver_everything(client: Hooks) -> list[str]:
    """One good delivery per rule (and a form), plus refused ones; every answer's text and headers."""
    calls = []
    for channel_id, event in DELIVERIES.items():
        body = body_of(event)
        calls.append(client.post(f"/hooks/{channel_id}", content=body, headers=sign(SECRET_OF[channel_id], body)))
        calls.append(client.post(f"/hooks/{channel_id}", content=body, headers=sign("wrong", body)))
    form = urlencode(FORM).encode()
    calls.append(client.post("/hooks/web_form", content=form, headers=sign(SECRET_OF["web_form"], form)))
    whatsapp = body_of(MESSAGES)
    secret = SECRETS["OTKLIK_WHATSAPP_APP_SECRET"]
    calls.append(client.post("/hooks/whatsapp", content=whatsapp, headers=meta_signature(secret, whatsapp)))
    calls.append(client.post("/hooks/whatsapp", content=whatsapp, headers=meta_signature("wrong", whatsapp)))
    token = SECRETS["OTKLIK_WHATSAPP_VERIFY_TOKEN"]
    for verify_token in (token, "wrong"):
        params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": "77"}
        calls.append(client.get("/hooks/whatsapp", params=params))
    calls.append(client.post("/hooks/vk_messages", content=body_of(MESSAGE_NEW)))
    calls.append(client.post("/hooks/vk_messages", content=body_of({**MESSAGE_NEW, "secret": "wrong"})))
    calls.append(client.post("/hooks/vk_messages", content=body_of({"type": "confirmation", "group_id": 1})))
    return [f"{c.status_code} {c.headers} {c.text}" for c in calls]


def test_planted_secrets_never_appear_in_answers_logs_or_landed_files(
    client: Hooks, landing: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = _deliver_everything(client)
    assert len(landed_files(landing)) == 8  # five JSON channels, the form, WhatsApp and VK
    # Everything logged but the test's own client (httpx logs the URLs it requests, query and all).
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records)
    assert "/hooks/whatsapp 200" in logged and "/hooks/vk_messages 401" in logged  # the log is there
    for name, secret in SECRETS.items():
        for text in (*answers, logged):
            assert secret not in text, name
        for path in landed_files(landing):
            assert secret.encode() not in path.read_bytes(), (name, path)


def test_the_next_ingest_loads_the_deliveries_once(client: Hooks, landing: Path, tmp_path: Path) -> None:
    con = connect_memory()
    channels = load_channels()
    _deliver_everything(client)
    first = ingest_landing(con, landing, channels, archive_dir=tmp_path / "archive", run_id="r1")
    assert first.quarantined_files == []
    assert first.loaded_records == {
        "website_chat": 1,
        "sms_survey_replies": 1,
        "inapp_popup_rating": 1,
        "ctl_final_survey": 1,
        "self_service_sessions": 1,
        "web_form": 1,
        "whatsapp": 2,
        "vk_messages": 1,
    }
    assert not any(first.rejected_records.values())
    rows = con.execute("select channel_id, payload from raw.channel_payloads").fetchall()
    payloads = {(cid, json.dumps(json.loads(p), ensure_ascii=False, sort_keys=True)) for cid, p in rows}
    whatsapp = {json.loads(p)["id"]: json.loads(p) for cid, p in rows if cid == "whatsapp"}
    assert [m["contact"]["profile"]["name"] for m in whatsapp.values()] == ["Анна", "Иван"]
    vk = [json.loads(p) for cid, p in rows if cid == "vk_messages"]
    assert vk[0]["object"]["message"]["text"].startswith("Здравствуйте") and "secret" not in vk[0]
    form = [json.loads(p) for cid, p in rows if cid == "web_form"]
    assert form == [FORM]

    again = _deliver_everything(client)  # every sender repeats every delivery
    assert sum("X-Otklik-Duplicate" in answer or "x-otklik-duplicate" in answer for answer in again) == 8
    second = ingest_landing(con, landing, channels, archive_dir=tmp_path / "archive", run_id="r2")
    assert second.loaded_files == {} and second.quarantined_files == []
    rows_after = con.execute("select channel_id, payload from raw.channel_payloads").fetchall()
    assert len(rows_after) == len(rows) == len(payloads) == 9
    con.close()


def test_landing_is_atomic_and_a_half_written_file_is_never_ingested(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = get_channel("website_chat")
    data = body_of(DELIVERIES["website_chat"]) + b"\n"

    def crash(src: str, dst: str) -> None:
        raise OSError("disk gone")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="disk gone"):
            land_delivery(landing, chat, data)
    assert landed_files(landing) == []  # the dot-file was removed, nothing has the final name

    folder = landing / "website_chat" / "webhook" / "2026-12-05"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".0123abcd.jsonl.5f5f5f.part").write_bytes(data[:20])  # a receiver killed mid-write
    landed = land_delivery(landing, chat, data)
    assert landed.created and landed.path.read_bytes() == data
    assert not land_delivery(landing, chat, data).created
    summary = ingest_landing(connect_memory(), landing, load_channels(), archive_dir=tmp_path / "archive")
    assert summary.loaded_files == {"website_chat": 1}
    assert summary.quarantined_files == []  # the dot-file was not seen


def test_a_file_glob_the_receiver_cannot_name_a_file_for_is_refused_at_start(make_app: MakeApp) -> None:
    chat = get_channel("website_chat")
    odd = chat.model_copy(update={"reader": chat.reader.model_copy(update={"file_glob": "chat_*.jsonl"})})
    with pytest.raises(ValueError, match=r"website_chat: extraction\.options: reader\.file_glob 'chat_\*\.jsonl'"):
        make_app(channels=(odd,))  # <sha256>.jsonl would not match it: ingest would quarantine every delivery


def test_preloading_secrets_names_the_channels_without_one(make_app: MakeApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="otklik.webhooks")
    environ = {k: v for k, v in ENVIRON.items() if k not in ("OTKLIK_SMS_GATEWAY_TOKEN", "OTKLIK_VK_CALLBACK_SECRET")}
    assert make_app(environ=environ).state.receiver.preload_secrets() == ["sms_survey_replies", "vk_messages"]
    assert "environment variable OTKLIK_SMS_GATEWAY_TOKEN" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS.values())
