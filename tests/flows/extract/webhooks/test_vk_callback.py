"""VK Callback API into the vk_messages channel as shipped (https://dev.vk.com/ru/api/callback/getting-started).

The confirmation request is answered with the confirmation string; every other event carries the
community's secret key in ``"secret"`` and is answered with the plain text ``ok``. ``message_new``
events land as one JSONL line (type, object, group_id, event_id, v: the secret is not landed); other
event types are answered ``ok`` and dropped. The message is the VK API schema's messages_message
(tests/fixtures/real/vk/vk-api-schema_messages_getHistory.json).
"""

from pathlib import Path

import httpx

from tests.flows.extract.webhooks.conftest import (
    SECRETS,
    VK_CONFIRMATION,
    Hooks,
    MakeApp,
    assert_named_by_content,
    body_of,
    jsonl_records,
    landed_files,
)
from transforms.channels import get_channel

SECRET = SECRETS["OTKLIK_VK_CALLBACK_SECRET"]
GROUP_ID = 218_765_432
MESSAGE_NEW = {
    "group_id": GROUP_ID,
    "type": "message_new",
    "event_id": "5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e",
    "v": "5.199",
    "object": {
        "message": {
            "date": 1_796_457_000,
            "from_id": 512_345_678,
            "id": 4412,
            "out": 0,
            "peer_id": 512_345_678,
            "text": "Здравствуйте, где мой заказ 2026-12-0042?",
            "conversation_message_id": 98,
            "attachments": [],
            "important": False,
            "is_hidden": False,
        },
        "client_info": {"button_actions": ["text"], "keyboard": True, "inline_keyboard": True, "lang_id": 0},
    },
    "secret": SECRET,
}


def post(client: Hooks, event: dict) -> httpx.Response:
    return client.post("/hooks/vk_messages", content=body_of(event), headers={"Content-Type": "application/json"})


def test_the_confirmation_is_answered_with_the_confirmation_string(client: Hooks, landing: Path) -> None:
    answer = post(client, {"type": "confirmation", "group_id": GROUP_ID})
    assert (answer.status_code, answer.text) == (200, VK_CONFIRMATION)
    assert landed_files(landing) == []


def test_the_confirmation_of_another_community_is_refused_when_the_channel_names_its_own(
    make_app: MakeApp, landing: Path
) -> None:
    shipped = get_channel("vk_messages")
    options = {**shipped.how_extracted.options, "group_id": GROUP_ID}
    pinned = shipped.model_copy(update={"extraction": shipped.how_extracted.model_copy(update={"options": options})})
    hooks = Hooks(make_app(channels=(pinned,)))
    assert post(hooks, {"type": "confirmation", "group_id": GROUP_ID + 1}).status_code == 401
    assert post(hooks, {"type": "confirmation", "group_id": GROUP_ID}).text == VK_CONFIRMATION
    assert post(hooks, {**MESSAGE_NEW, "group_id": GROUP_ID + 1}).status_code == 401
    assert landed_files(landing) == []


def test_a_message_new_event_lands_without_its_secret_and_is_answered_ok(client: Hooks, landing: Path) -> None:
    answer = post(client, MESSAGE_NEW)
    assert (answer.status_code, answer.text) == (200, "ok")
    [landed] = landed_files(landing)
    assert_named_by_content(landed, "vk_messages", "jsonl")
    assert jsonl_records(landed) == [{k: v for k, v in MESSAGE_NEW.items() if k != "secret"}]
    assert SECRET.encode() not in landed.read_bytes()


def test_a_repeated_event_lands_once(client: Hooks, landing: Path) -> None:
    assert post(client, MESSAGE_NEW).status_code == 200
    again = post(client, MESSAGE_NEW)  # VK repeats a notification not answered "ok"
    assert (again.status_code, again.text, again.headers["X-Otklik-Duplicate"]) == (200, "ok", "true")
    assert len(landed_files(landing)) == 1


def test_a_wrong_or_missing_secret_is_401_and_nothing_lands(client: Hooks, landing: Path) -> None:
    without = {k: v for k, v in MESSAGE_NEW.items() if k != "secret"}
    for event in ({**MESSAGE_NEW, "secret": "guess"}, without, {**MESSAGE_NEW, "secret": None}):
        answer = post(client, event)
        assert answer.status_code == 401
        assert answer.text != "ok"
    assert landed_files(landing) == []


def test_events_of_other_types_are_answered_ok_and_dropped(client: Hooks, landing: Path) -> None:
    reply = {**MESSAGE_NEW, "type": "message_reply", "event_id": "0f1e2d3c"}
    typing = {"type": "message_typing_state", "object": {"state": "typing"}, "group_id": GROUP_ID, "secret": SECRET}
    for event in (reply, typing):
        answer = post(client, event)
        assert (answer.status_code, answer.text) == (200, "ok")
    assert landed_files(landing) == []
    assert post(client, {**reply, "secret": "guess"}).status_code == 401  # dropped only once authenticated


def test_a_body_that_is_not_an_event_is_400(client: Hooks, landing: Path) -> None:
    for body in (b"type=confirmation", b"[]", b'{"object": {}}'):
        assert client.post("/hooks/vk_messages", content=body).status_code == 400
    assert landed_files(landing) == []


def test_a_20_mb_event_is_413(client: Hooks, landing: Path) -> None:
    event = {**MESSAGE_NEW, "object": {"message": {"text": "x" * (20 * 2**20)}}}
    assert post(client, event).status_code == 413
    assert landed_files(landing) == []


def test_vk_has_no_get_handshake(client: Hooks) -> None:
    answer = client.get("/hooks/vk_messages")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
