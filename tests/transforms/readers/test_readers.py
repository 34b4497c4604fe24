"""The reader registry (transforms/readers/__init__.py)."""

import json
from typing import get_args

import pytest

from transforms.channels.registry import Channel, Format, ReaderOptions, load_channels
from transforms.privacy import mask_pii
from transforms.readers import READERS, UnreadableFile, read_file
from transforms.readers.base import excerpt
from transforms.readers.json_pages import read as json_pages_read
from transforms.readers.jsonl import read as jsonl_read


def test_every_format_has_a_reader() -> None:
    assert set(READERS) == set(get_args(Format))


def test_every_channel_format_is_readable() -> None:
    assert {channel.format for channel in load_channels()} <= set(READERS)


def test_a_file_over_max_file_bytes_is_too_large_before_any_reader_runs() -> None:
    channel = Channel(
        id="tiny",
        display_name="tiny",
        format="jsonl",
        reader=ReaderOptions(max_file_bytes=10),
        fields={"source_item_id": "id", "received_at": "at"},
    )
    with pytest.raises(UnreadableFile) as caught:
        read_file(b'{"id": 1, "at": "2026-10-05"}\n', channel)
    assert caught.value.reason == "too_large"
    assert "over reader.max_file_bytes 10" in caught.value.detail


def test_no_record_over_max_record_bytes_leaves_read_file_whatever_the_format() -> None:
    channel = Channel(
        id="pages",
        display_name="pages",
        format="json_pages",
        reader=ReaderOptions(records_path="items", max_record_bytes=1000),
        fields={"source_item_id": "id", "received_at": "at"},
    )
    page = {"items": [{"id": 1, "text": "short"}, {"id": 2, "text": "ы" * 600, "phone": "+7 916 123-45-67"}]}
    result = read_file(json.dumps(page, ensure_ascii=False).encode(), channel)
    assert result.records == [{"id": 1, "text": "short"}]
    assert result.record_indexes == [0]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "record_too_large")]
    assert "+7" not in result.errors[0].raw_excerpt and "record 2: 1,2" in result.errors[0].detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("звоните +7 (916) 123-45-67", "звоните [телефон]"),
        ("ivan.petrov@mail.ru пишет", "[email] пишет"),
        ("карта 4111 1111 1111 1111, срок 12/27", "карта [карта], срок 12/27"),
        ("заказ 123456, 89161234567", "заказ 123456, [телефон]"),
    ],
)
def test_an_excerpt_is_masked_like_staged_text(text: str, expected: str) -> None:
    assert excerpt(text) == expected == mask_pii(text)


def test_an_excerpt_is_masked_before_it_is_cut() -> None:
    # cards shorten the text when masked; the phone that straddles character 500 must not stay half-visible
    text = "4111 1111 1111 1111 " * 30 + "звоните +7 916 123-45-67 " + "x" * 1000
    cut = excerpt(text)
    assert len(cut) == 500 and "916" not in cut and "[телефон]" in cut
    assert excerpt("y" * 495 + " +7 916 123-45-67") == "y" * 495 + " [тел"


def test_a_reader_that_fails_unexpectedly_fails_one_file_not_the_run() -> None:
    nested = b"From: a@b.ru\nSubject: x\nMIME-Version: 1.0\n"
    for level in range(2000):
        nested += b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level)
    channel = Channel(
        id="mail", display_name="mail", format="eml", fields={"source_item_id": "message_id", "received_at": "date"}
    )
    with pytest.raises(UnreadableFile) as caught:
        read_file(nested + b"Content-Type: text/plain\n\nhello\n", channel)
    assert caught.value.reason == "reader_crashed" and "RecursionError" in caught.value.detail


def test_json_nested_past_the_recursion_limit_is_broken_json() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    result = jsonl_read(b'{"a": 1}\n' + deep + b"\n", ReaderOptions())
    assert result.records == [{"a": 1}]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "broken_json")]
    with pytest.raises(UnreadableFile) as caught:
        json_pages_read(deep, ReaderOptions())
    assert caught.value.reason == "broken_json"
