"""Record shapes of real exports: records nested under parents, a filter by type, files of the wrong format.

The Telegram Desktop export of tests/fixtures/real/telegram_desktop_export is one chat
({"name", "type", "id", "messages"}); a whole-account export nests the chats
({"chats": {"list": [chat, ...]}}), and message ids repeat from chat to chat.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from transforms.channels.registry import Channel, ReaderOptions
from transforms.readers import UnreadableFile, read_file
from transforms.readers.json_pages import read as read_pages
from transforms.readers.json_pages import records_at

SAMPLE = "telegram_desktop_export/tg-parser_personal_chat.json"


def channel(format_: str = "json_pages", **reader: Any) -> Channel:
    return Channel.model_validate(
        {
            "id": "shapes",
            "display_name": "Shapes",
            "format": format_,
            "reader": reader,
            "fields": {"source_item_id": "id", "received_at": "date"},
        }
    )


def account_export(real_samples: Path) -> bytes:
    """Two chats of a whole-account export: the real chat, and a second one with the same message ids."""
    first = json.loads((real_samples / SAMPLE).read_bytes())
    second = {**first, "name": "Support group", "type": "public_supergroup", "id": 987654321}
    return json.dumps({"about": "Telegram export", "chats": {"about": "chats", "list": [first, second]}}).encode()


def test_nested_records_keep_their_parent(real_samples: Path) -> None:
    options = ReaderOptions(records_path="chats.list[].messages", parent_fields={"chat_id": "id", "chat": "name"})
    result = read_pages(account_export(real_samples), options)
    assert [(r["chat_id"], r["id"]) for r in result.records] == [(123456789, i) for i in range(1, 6)] + [
        (987654321, i) for i in range(1, 6)
    ]
    assert {r["chat"] for r in result.records} == {"Test User", "Support group"}
    assert result.record_indexes == list(range(10)) and result.errors == []


def test_records_at_walks_every_item_of_a_list(real_samples: Path) -> None:
    document = json.loads(account_export(real_samples))
    assert len(records_at(document, "chats.list[].messages")) == 10
    assert records_at({"chats": {"list": None}}, "chats.list[].messages") == []


def test_a_single_chat_export_names_the_document_as_parent(real_samples: Path) -> None:
    options = ReaderOptions(records_path="messages", parent_fields={"chat_id": "id"})
    result = read_pages((real_samples / SAMPLE).read_bytes(), options)
    assert {r["chat_id"] for r in result.records} == {123456789}


@pytest.mark.parametrize(
    ("document", "options", "reason", "words"),
    [
        ({"messages": [{"id": 1}]}, {"parent_fields": {"chat_id": "id"}}, "missing_parent_field", "no 'id'"),
        ({"chats": {"list": {"id": 1}}}, {}, "missing_records_path", "chats.list is a dict, not a list"),
        ({"chats": {"list": [{"id": 1}]}}, {}, "missing_records_path", "no key 'messages' in chats.list[0]"),
    ],
    ids=["parent-without-the-field", "not-a-list", "item-without-the-records"],
)
def test_a_parent_that_does_not_fit_fails_the_file(document: Any, options: dict, reason: str, words: str) -> None:
    path = "messages" if "messages" in document else "chats.list[].messages"
    with pytest.raises(UnreadableFile) as caught:
        read_pages(json.dumps(document).encode(), ReaderOptions(records_path=path, **options))
    assert caught.value.reason == reason and words in caught.value.detail


def test_a_record_that_already_has_the_parent_field_is_a_record_error() -> None:
    document = {"id": 5, "messages": [{"id": 1, "chat_id": 9}, {"id": 2}]}
    result = read_pages(
        json.dumps(document).encode(), ReaderOptions(records_path="messages", parent_fields={"chat_id": "id"})
    )
    assert result.records == [{"id": 2, "chat_id": 5}] and result.record_indexes == [1]
    assert [(e.record_index, e.reason) for e in result.errors] == [(0, "parent_field_clash")]


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        ({"records_path": "chats.list[]"}, "ends on []"),
        ({"records_path": "chats..messages"}, "empty key"),
        ({"parent_fields": {"chat_id": "id"}}, "reader.parent_fields needs records_path"),
    ],
)
def test_a_records_path_that_cannot_be_walked_is_refused_at_load(reader: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        channel(**reader)


def test_the_record_filter_drops_service_messages_by_rule_and_counts_them(real_samples: Path) -> None:
    data = (real_samples / SAMPLE).read_bytes()
    result = read_file(data, channel(records_path="messages", record_filter={"type": "message"}))
    assert [r["id"] for r in result.records] == [1, 2, 3, 4]
    assert result.filtered == 1 and result.errors == []
    unfiltered = read_file(data, channel(records_path="messages"))
    assert len(unfiltered.records) == 5 and unfiltered.filtered == 0


def test_the_record_filter_takes_a_list_of_values_and_any_format() -> None:
    lines = (
        b'{"id": 1, "kind": "review", "n": 5}\n{"id": 2, "kind": "reply"}\n{"id": 3, "kind": "question"}\n{"id": 4}\n'
    )
    result = read_file(lines, channel("jsonl", record_filter={"kind": ["review", "question"]}))
    assert [r["id"] for r in result.records] == [1, 3] and result.record_indexes == [0, 2]
    assert result.filtered == 2
    by_number = read_file(lines, channel("jsonl", record_filter={"n": "5"}))
    assert [r["id"] for r in by_number.records] == [1]
    rows = b"id;type;date\n1;message;x\n2;service;y\n"
    assert read_file(rows, channel("csv", record_filter={"type": "message"})).filtered == 1


# --- a file of the wrong format says what it looks like --------------------------------------------

XML = b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>\n'
HTML = b"<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n"


def test_xml_sent_to_a_json_reader_says_so() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_file(XML, channel())
    assert caught.value.reason == "broken_json"
    assert caught.value.detail.startswith("XML sent to a JSON reader: the file starts with '<?xml' (line 1 col 1:")


@pytest.mark.parametrize(
    ("format_", "data", "words"),
    [
        ("jsonl", XML, "XML sent to a JSON Lines reader: the file starts with '<?xml'"),
        ("jsonl", HTML, "HTML sent to a JSON Lines reader: the file starts with '<!DOCTYPE html>'"),
        ("csv", XML, "XML sent to a CSV reader: the file starts with '<?xml'"),
        ("csv", b'[{"id": 1, "date": "2026-10-05"}]', 'JSON sent to a CSV reader: the file starts with \'[{"id": 1'),
        ("csv", b"PK\x03\x04\x14\x00\x06\x00", "an XLSX workbook or another ZIP archive sent to a CSV reader"),
        ("json_pages", b"%PDF-1.7\n%\xe2\xe3", "a PDF document sent to a JSON reader: the file starts with '%PDF-'"),
        ("jsonl", b"From: shop@example.ru\nSubject: hi\n\nbody\n", "an e-mail message sent to a JSON Lines reader"),
    ],
    ids=["xml-jsonl", "html-jsonl", "xml-csv", "json-csv", "xlsx-csv", "pdf-json", "eml-jsonl"],
)
def test_a_file_of_another_format_is_quarantined_whole_saying_what_it_is(format_: str, data: bytes, words: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_file(data, channel(format_))
    assert caught.value.reason in ("wrong_format", "broken_json")
    assert caught.value.detail.startswith(words), caught.value.detail


def test_a_csv_whose_header_looks_like_a_tag_is_still_a_csv() -> None:
    result = read_file(b"<id>;date\n1;2026-10-05\n", channel("csv"))
    assert result.records == [{"<id>": "1", "date": "2026-10-05"}]
