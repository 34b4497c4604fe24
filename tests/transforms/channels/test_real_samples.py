"""Real payloads (tests/fixtures/real) through their channel's reader and the normalizer.

Each sample is read exactly as ingest would read a landed file of its channel, put into a payloads
frame as ``warehouse/staging.py`` builds it, and normalized; the ids, timestamps and scores are
checked by hand against the sample. Rejects are expected only where the sample itself is
incomplete, and each such test says why.

Samples that match no channel, on purpose:
- ozon comment list: the seller's and customers' comments *on* a review, not reviews;
- freshdesk conversations: agents' replies and notes on a ticket, not the customer's request;
- zendesk satisfaction_rating ("score": "good"): good/bad is not a yes/no word the normalizer
  knows; sla_policy, ticket_audit, ticket_metric(_event): helpdesk SLA bookkeeping, not feedback
  (our SLAs are computed from CRM case events);
- telegram_desktop_export: a person's chat export; the channel is the bot's update stream;
- typeform: answers are a list in form order, which dotted field paths cannot index.
VK and Yandex Market are JSON-schema / OpenAPI excerpts, not payloads: for them the mapped paths
are checked against the schema instead.

Wildberries, the App Store feed and Zendesk are read from tests/fixtures/documented: payloads we
wrote in the shape their providers document, because the real samples we had may not be
redistributed (tests/fixtures/real/README.md says why).
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from transforms.channels.registry import Channel, ReaderOptions, get_channel
from transforms.normalize import NormalizeResult, normalize_channel
from transforms.normalize.fields import sources
from transforms.readers import UnreadableFile, read_file

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
PII_KEY = b"real-samples-test-key"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _normalize(data: bytes, channel: Channel, source_file: str = "sample") -> NormalizeResult:
    """Read ``data`` as one landed file of ``channel`` and normalize its records."""
    result = read_file(data, channel)
    assert result.errors == []
    records = result.indexed_records()
    payloads = pl.DataFrame(
        {
            "payload": [json.dumps(record, ensure_ascii=False) for _, record in records],
            "_batch_id": [f"{channel.id}:sample"] * len(records),
            "_source_file": [source_file] * len(records),
            "_record_index": [index for index, _ in records],
        },
        schema={"payload": pl.String, "_batch_id": pl.String, "_source_file": pl.String, "_record_index": pl.Int64},
    )
    return normalize_channel(payloads, channel, pii_key=PII_KEY, as_of=AS_OF)


def _with_records_path(channel: Channel, records_path: str | None) -> Channel:
    """The channel reading another endpoint's answer (one object instead of a list page)."""
    reader = ReaderOptions(**{**channel.reader.model_dump(), "records_path": records_path})
    return channel.model_copy(update={"reader": reader})


def _rows(result: NormalizeResult, *columns: str) -> list[tuple[Any, ...]]:
    return result.rows.select(columns).rows()


# ----------------------------------------------------------------------------- marketplaces


def test_wildberries_feedbacks(documented_samples: Path) -> None:
    data = (documented_samples / "wildberries/feedbacks_page.json").read_bytes()
    result = _normalize(data, get_channel("wildberries_feedbacks"))
    assert result.rejects.height == 0
    assert _rows(result, "feedback_id", "received_at", "score_raw", "score_10", "question_type") == [
        ("wildberries_feedbacks:Lb2vYe08nQJsHk4oMcTu", _utc("2026-10-06T17:45:00+00:00"), 5.0, 10.0, "rating"),
        ("wildberries_feedbacks:Xq7mTn31kPLgWc5aRzHd", _utc("2026-10-05T11:03:27+00:00"), 2.0, 2.5, "rating"),
    ]
    bodies = dict(_rows(result, "source_item_id", "body_text"))
    # text, pros and cons joined by new lines; an empty "pros" or "cons" is skipped
    assert bodies["Xq7mTn31kPLgWc5aRzHd"] == (
        "Дрель пришла с разбитым кейсом, патрон люфтит.\nУпаковка никакая\n"
        "В комплекте нет второго аккумулятора, хотя в карточке он есть"
    )
    assert bodies["Lb2vYe08nQJsHk4oMcTu"] == "Спасибо продавцу 👍\nЛёгкий, держит заряд весь день\nЧехол в подарок"
    assert sorted(result.contacts["customer_name"].to_list()) == ["Марина", "Олег"]


@pytest.mark.parametrize(
    ("sample", "records_path"),
    [
        ("ozon/ozon-api-client_v1_review_list_response.json", "reviews"),
        ("ozon/ozon-api-client_v1_review_info_response.json", None),  # /v1/review/info: one review
    ],
    ids=["review_list", "review_info"],
)
def test_ozon_reviews(real_samples: Path, sample: str, records_path: str | None) -> None:
    """The sample is the API spec's example: placeholder strings and a rating of 0, which no review
    on a 1-5 scale has. It is rejected for exactly that; with a real rating it stages."""
    channel = _with_records_path(get_channel("ozon_reviews"), records_path)
    data = (real_samples / sample).read_bytes()
    result = _normalize(data, channel)
    assert result.rows.height == 0
    assert result.rejects.select("reason", "source_item_id").rows() == [("score_out_of_range", "string")]

    document = json.loads(data)
    review = document["reviews"][0] if records_path else document
    review["rating"] = 4
    fixed = _normalize(json.dumps(document).encode(), channel)
    assert fixed.rejects.height == 0
    assert _rows(fixed, "feedback_id", "received_at", "score_raw", "score_10", "body_text") == [
        ("ozon_reviews:string", _utc("2019-08-24T14:15:22+00:00"), 4.0, 7.5, "string")
    ]


APP_STORE_PAGE = "app_store/customer_reviews_page1.json"
APP_STORE_IDS = [f"00000028-b08c-0014-9e3a-5c1f0000000{n}" for n in (1, 2, 3)]


def test_app_store_reviews_stage_in_utc(documented_samples: Path) -> None:
    """An App Store Connect API page: createdDate in Pacific time with its offset, staged in UTC."""
    result = _normalize((documented_samples / APP_STORE_PAGE).read_bytes(), get_channel("app_store_reviews"))
    assert result.rejects.height == 0
    assert _rows(result, "source_item_id", "received_at", "score_raw", "score_10") == [
        (APP_STORE_IDS[0], _utc("2026-10-05T11:03:27+00:00"), 1.0, 0.0),  # Pacific daylight time, -07:00
        (APP_STORE_IDS[1], _utc("2026-10-06T16:15:00+00:00"), 5.0, 10.0),
        (APP_STORE_IDS[2], _utc("2026-10-08T05:40:51+00:00"), 3.0, 5.0),
    ]
    first = result.rows.row(0, named=True)
    assert first["body_text"].startswith("Вылетает при оплате\nПосле обновления приложение закрывается")
    assert first["customer_key"] is None  # the API names a nickname only: no stable reviewer id
    assert sorted(result.contacts["customer_name"].to_list()) == sorted(["Марина К.", "serg_77", "Алексей"])


def test_app_store_review_without_its_date_is_rejected_with_its_id(documented_samples: Path) -> None:
    """A review that loses createdDate (the API gives it on every review) must not stage with a
    guessed time: it is rejected as missing its time, with its id."""
    document = json.loads((documented_samples / APP_STORE_PAGE).read_bytes())
    del document["data"][1]["attributes"]["createdDate"]
    result = _normalize(json.dumps(document, ensure_ascii=False).encode(), get_channel("app_store_reviews"))
    assert result.rows["source_item_id"].to_list() == [APP_STORE_IDS[0], APP_STORE_IDS[2]]
    assert result.rejects.select("reason", "source_item_id").rows() == [("missing_field", APP_STORE_IDS[1])]
    assert "received_at" in result.rejects["detail"][0]


# ------------------------------------------------------------------------------ helpdesks, CRM


def test_bitrix24_activity(real_samples: Path) -> None:
    data = (real_samples / "bitrix24/b24-rest-docs_crm.activity.list_response_example.json").read_bytes()
    result = _normalize(data, get_channel("bitrix24_activities"))
    assert result.rejects.height == 0
    row = result.rows.row(0, named=True)
    assert (row["feedback_id"], row["received_at"]) == ("bitrix24_activities:20", _utc("2020-09-27T13:26:55+03:00"))
    # RESULT_VALUE is null: an outgoing call, not a review call; its subject is its text
    assert (row["score_raw"], row["score_scale"], row["question_type"]) == (None, "none", "none")
    assert row["body_text"] == "Исходящий звонок Андрей Николаев"
    assert (row["manager_ref"], row["customer_key"] is not None) == ("505", True)


def test_bitrix24_docs_copy_with_comments_is_not_a_payload(real_samples: Path) -> None:
    """The .jsonc is the docs' annotated copy ("// .. Еще 49 элементов"): the API never sends comments."""
    data = (real_samples / "bitrix24/b24-rest-docs_crm.activity.list_response_example.jsonc").read_bytes()
    with pytest.raises(UnreadableFile) as raised:
        read_file(data, get_channel("bitrix24_activities"))
    assert raised.value.reason == "broken_json"


def test_zendesk_ticket(documented_samples: Path) -> None:
    ticket = json.loads((documented_samples / "zendesk/ticket.json").read_bytes())
    channel = get_channel("zendesk_tickets")
    single = _normalize(json.dumps(ticket).encode(), _with_records_path(channel, None))  # GET /tickets/4821
    page = _normalize(json.dumps({"tickets": [ticket], "meta": {"has_more": False}}).encode(), channel)
    for result in (single, page):
        assert result.rejects.height == 0
        assert _rows(result, "feedback_id", "received_at", "body_text", "score_raw") == [
            (
                "zendesk_tickets:4821",
                _utc("2026-10-05T11:03:27+00:00"),
                "Не пришёл возврат за отменённый заказ\n"
                "Отменил заказ 2 октября, деньги до сих пор не вернулись. Подскажите, когда ждать?",
                None,
            )
        ]
        assert result.rows["customer_key"][0] is not None  # requester_id 366084321, keyed


def test_freshdesk_ticket_list(real_samples: Path) -> None:
    """The list sample predates description_text (it has description and description_html), so
    the text is the subject alone; its requester is an id only, so no contacts."""
    data = (real_samples / "freshdesk/python-freshdesk_v2_all_tickets.json").read_bytes()
    result = _normalize(data, get_channel("freshdesk_tickets"))
    assert result.rejects.height == 0
    assert _rows(result, "feedback_id", "received_at", "body_text", "has_contact") == [
        ("freshdesk_tickets:1", _utc("2014-12-31T02:27:09+00:00"), "This is a sample ticket", False)
    ]
    assert result.contacts.height == 0


def test_freshdesk_ticket_with_requester(real_samples: Path) -> None:
    data = (real_samples / "freshdesk/python-freshdesk_v2_ticket_1.json").read_bytes()
    result = _normalize(data, get_channel("freshdesk_tickets"))  # one object: one record
    assert result.rejects.height == 0
    row = result.rows.row(0, named=True)
    assert (row["feedback_id"], row["received_at"]) == ("freshdesk_tickets:1", _utc("2016-05-18T04:36:04+00:00"))
    assert row["body_text"] == "This is a sample ticket\nThis is a sample ticket, feel free to delete it."
    assert row["has_contact"] is True
    (contact,) = result.contacts.to_dicts()
    assert (contact["email_normalized"], contact["customer_name"]) == ("dummyname@example.com", "Dummyname")


# ------------------------------------------------------------------------- messengers, e-mail


def _as_jsonl(path: Path) -> bytes:
    """A pretty-printed update as the bot's receiver lands it: one JSON object per line."""
    return (json.dumps(json.loads(path.read_bytes()), ensure_ascii=False) + "\n").encode()


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("nutgram_update_message.json", ("telegram_bot:1", "2023-05-25T03:17:44+00:00", "Ciao")),
        (
            "nutgram_update_entities.json",
            ("telegram_bot:123456", "2023-01-05T22:06:18+00:00", "test bold underline 😆👍 look here"),
        ),
    ],
    ids=["message", "entities"],
)
def test_telegram_messages(real_samples: Path, sample: str, expected: tuple[str, str, str]) -> None:
    result = _normalize(_as_jsonl(real_samples / f"telegram_bot_api/{sample}"), get_channel("telegram_bot"))
    assert result.rejects.height == 0
    feedback_id, received_at, body = expected
    assert _rows(result, "feedback_id", "received_at", "body_text") == [(feedback_id, _utc(received_at), body)]


@pytest.mark.parametrize(
    ("sample", "update_id"),
    [("nutgram_update_edited_message.json", "62257549"), ("nutgram_update_message_reaction.json", "1")],
    ids=["edited_message", "message_reaction"],
)
def test_telegram_edits_and_reactions_are_not_new_items(real_samples: Path, sample: str, update_id: str) -> None:
    """An edit arrives as edited_message and a reaction as message_reaction, not as message: the
    channel maps message.* only, so both are rejected as missing their time (by design: an edit
    is not a new utterance, a reaction has no words)."""
    result = _normalize(_as_jsonl(real_samples / f"telegram_bot_api/{sample}"), get_channel("telegram_bot"))
    assert result.rows.height == 0
    assert result.rejects.select("reason", "source_item_id").rows() == [("missing_field", update_id)]


def test_thunderbird_cp1251_email_in_the_inbox_and_in_a_mailbox(real_samples: Path) -> None:
    data = (real_samples / "email_eml/thunderbird_sample05_cp1251.eml").read_bytes()
    mbox = b"From new@thunderbird.bug Sun May 27 21:23:35 2001\r\n" + data + b"\r\n\r\n"
    for channel_id, payload in (("email_inbox", data), ("claims_mailbox", mbox)):
        result = _normalize(payload, get_channel(channel_id))
        assert result.rejects.height == 0
        assert _rows(result, "feedback_id", "received_at", "body_text") == [
            (f"{channel_id}:05.eml@mime.sample", _utc("2001-05-27T21:23:35+01:00"), "Алфавит\nВопрос")
        ]


# ------------------------------------------------------------- schemas instead of payloads


def _schema_node(folder: Path, node: dict[str, Any]) -> dict[str, Any]:
    """Follow a JSON-schema / OpenAPI $ref to a file in the same folder (and into allOf); a ref
    to a file the excerpt does not hold (a scalar type such as GoodsFeedbackId) stays a ref."""
    target = folder / Path(node.get("$ref", "")).name
    if "$ref" in node and target.is_file():
        node = yaml.safe_load(target.read_text(encoding="utf-8"))
    for part in node.get("allOf", []):
        if "properties" in part:
            return part
    return node


def _yandex_property(folder: Path, path: str) -> dict[str, Any]:
    node = _schema_node(folder, {"$ref": "GoodsFeedbackDTO.yaml"})
    for key in path.split("."):
        node = _schema_node(folder, node["properties"][key])
    return node


def test_yandex_market_paths_are_in_the_openapi_schema(real_samples: Path) -> None:
    folder = real_samples / "yandex_market"
    channel = get_channel("yandex_market_reviews")
    response = _schema_node(folder, {"$ref": "GetGoodsFeedbackResponse.yaml"})
    page = _schema_node(folder, response["properties"]["result"])
    assert "feedbacks" in page["properties"] and channel.reader.records_path == "result.feedbacks"
    feedback = _schema_node(folder, {"$ref": "GoodsFeedbackDTO.yaml"})
    assert {"feedbackId", "createdAt", "statistics"} <= set(feedback["required"])
    for field in channel.fields:
        for path in sources(channel, field):
            _yandex_property(folder, path)  # KeyError when the API has no such field
    assert _yandex_property(folder, "createdAt")["format"] == "date-time"
    rating = _yandex_property(folder, "statistics.rating")
    assert (rating["minimum"], rating["maximum"], channel.score_scale) == (1, 5, "1-5")


@pytest.mark.parametrize(
    ("channel_id", "schema_file", "definitions", "object_name", "prefix"),
    [
        (
            "vk_messages",
            "vk-api-schema_messages_getHistory.json",
            "messages/objects.json#definitions",
            "messages_base_message",
            "object.message.",
        ),
        (
            "vk_wall_comments",
            "vk-api-schema_wall_getComments.json",
            "wall/objects.json#definitions",
            "wall_wall_comment",
            "object.",
        ),
    ],
    ids=["messages", "wall_comments"],
)
def test_vk_paths_are_required_fields_of_the_api_schema(
    real_samples: Path, channel_id: str, schema_file: str, definitions: str, object_name: str, prefix: str
) -> None:
    schema = json.loads((real_samples / f"vk/{schema_file}").read_bytes())
    properties = schema[definitions][object_name]["properties"]
    channel = get_channel(channel_id)
    for field in channel.fields:
        for path in sources(channel, field):
            name = path.removeprefix(prefix)
            assert path.startswith(prefix) and properties[name].get("required") is True, path
    assert properties["date"]["description"].endswith("in Unixtime") and channel.timestamp_format == "epoch"
