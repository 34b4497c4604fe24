"""Edit or another item? Records that share an id with other content (transforms.normalize._collisions).

A later record with the id of an earlier one and other content is an edit when an edit marker says
so (updated_at differs), or, without one, when it keeps when and by whom the item was said; else it
is another item that only shares the id (message 7 of another chat): ``id_collision``, quarantined,
never merged into the first as an "edit". Rich text given as a list of runs is flattened.
"""

from datetime import UTC, datetime
from typing import Any

import polars as pl

from transforms.channels.registry import Channel
from transforms.normalize import NormalizeResult, normalize_channel

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def chat(**fields: Any) -> Channel:
    mapped = {"source_item_id": "id", "received_at": "at", "body_text": "text", "customer_ref": "from_id"}
    return Channel.model_validate({"id": "chat", "display_name": "Chat", "format": "jsonl", "fields": mapped | fields})


def run(channel: Channel, frame: pl.DataFrame) -> NormalizeResult:
    result = normalize_channel(frame, channel, pii_key=b"k", as_of=AS_OF)
    assert result.rows.height + result.history.height + result.rejects.height == frame.height
    return result


def message(id_: str, at: str, text: str, who: str = "user1", **more: str) -> dict[str, str]:
    return {"id": id_, "at": at, "text": text, "from_id": who, **more}


def test_same_id_other_time_and_no_edit_marker_is_a_collision_not_an_edit(payloads) -> None:
    first = payloads([message("7", "2026-10-05T10:00:00Z", "Где мой заказ?")], "chat_a.jsonl", "b-a")
    second = payloads([message("7", "2026-10-06T12:00:00Z", "Спасибо за помощь", "user2")], "chat_b.jsonl", "b-b")
    result = run(chat(), pl.concat([first, second]))
    assert result.rows.select("body_text", "is_edited").rows() == [("Где мой заказ?", False)]
    assert result.history.height == 0
    (reject,) = result.rejects.to_dicts()
    assert (reject["reason"], reject["source_item_id"], reject["_source_file"]) == ("id_collision", "7", "chat_b.jsonl")
    assert reject["detail"] == (
        "chat:7 is another item than the one first seen at chat_a.jsonl#0: other content with no edit time, "
        "and another received_at or customer; if ids are unique only within a chat or thread, map the parent "
        "into source_item_id (e.g. [chat_id, id])"
    )


def test_the_same_updated_at_with_other_content_is_a_collision(payloads) -> None:
    records = [
        message("7", "2026-10-05T10:00:00Z", "один", edited="2026-10-05T11:00:00Z"),
        message("7", "2026-10-05T10:00:00Z", "другой", edited="2026-10-05T11:00:00Z"),
    ]
    result = run(chat(updated_at="edited"), payloads(records))
    assert result.rows["body_text"].to_list() == ["один"]
    assert result.rejects["reason"].to_list() == ["id_collision"]
    assert "other content with the same updated_at" in result.rejects["detail"][0]


def test_a_later_updated_at_is_an_edit_even_when_the_time_differs(payloads) -> None:
    records = [
        message("7", "2026-10-05T10:00:00Z", "один"),
        message("7", "2026-10-05T10:00:00Z", "одна правка", edited="2026-10-06T09:00:00Z"),
    ]
    result = run(chat(updated_at="edited"), payloads(records))
    assert result.rows.select("body_text", "is_edited").rows() == [("одна правка", True)]
    assert result.history["body_text"].to_list() == ["один"] and result.rejects.height == 0


def test_without_a_marker_an_item_re_exported_with_new_text_is_still_an_edit(payloads) -> None:
    """What staging always did for exports without updated_at: same time, same author, new words."""
    first = payloads([message("7", "2026-10-05T10:00:00Z", "Товар пришёл мятый")], "a.jsonl", "b-1")
    again = payloads([message("7", "2026-10-05T10:00:00Z", "Товар пришёл мятый, обменяли")], "b.jsonl", "b-2")
    result = run(chat(), pl.concat([first, again]))
    assert result.rows.select("body_text", "is_edited").rows() == [("Товар пришёл мятый, обменяли", True)]
    assert result.history.height == 1 and result.rejects.height == 0


def test_another_author_at_the_same_time_is_a_collision(payloads) -> None:
    records = [message("7", "2026-10-05T10:00:00Z", "да"), message("7", "2026-10-05T10:00:00Z", "нет", "user2")]
    result = run(chat(), payloads(records))
    assert result.rows["body_text"].to_list() == ["да"] and result.rejects["reason"].to_list() == ["id_collision"]


def test_a_colliding_record_delivered_twice_is_one_collision_and_one_duplicate(payloads) -> None:
    other = message("7", "2026-10-06T12:00:00Z", "другой чат")
    records = [message("7", "2026-10-05T10:00:00Z", "первый чат"), other, other]
    result = run(chat(), payloads(records))
    assert sorted(result.rejects["reason"].to_list()) == ["duplicate", "id_collision"]
    assert result.rows["body_text"].to_list() == ["первый чат"]


def test_the_parent_in_the_id_makes_them_two_items(payloads) -> None:
    records = [
        message("7", "2026-10-05T10:00:00Z", "Где мой заказ?", chat_id="111"),
        message("7", "2026-10-06T12:00:00Z", "Спасибо за помощь", "user2", chat_id="222"),
    ]
    result = run(chat(source_item_id=["chat_id", "id"]), payloads(records))
    assert result.rows["source_item_id"].to_list() == ["111 7", "222 7"]
    assert result.rejects.height == 0


def test_rich_text_runs_are_flattened_and_a_list_of_plain_strings_stays_json(payloads) -> None:
    records = [
        {
            "id": "1",
            "at": "2026-10-05T10:00:00Z",
            "text": ["Check this ", {"type": "bold", "text": "important"}, " message"],
        },
        {"id": "2", "at": "2026-10-05T10:00:00Z", "text": [{"type": "link", "text": "https://example.org"}]},
        {"id": "3", "at": "2026-10-05T10:00:00Z", "text": ["tag1", "tag2"]},
    ]
    result = run(chat(), payloads(records))
    assert result.rows["body_text"].to_list() == [
        "Check this important message",
        "https://example.org",
        '["tag1", "tag2"]',
    ]
