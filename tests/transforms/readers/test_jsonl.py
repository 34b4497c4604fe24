"""JSON Lines (transforms/readers/jsonl.py), with Telegram Bot API updates as lines."""

import json
from pathlib import Path

from transforms.channels.registry import ReaderOptions, get_channel
from transforms.readers import read_file
from transforms.readers.jsonl import read


def telegram_lines(real_samples: Path) -> bytes:
    folder = real_samples / "telegram_bot_api"
    updates = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
    return "\n".join(json.dumps(update, ensure_ascii=False) for update in updates).encode("utf-8")


def test_telegram_updates_as_jsonl(real_samples: Path) -> None:
    result = read_file(telegram_lines(real_samples), get_channel("telegram_bot"))
    assert result.errors == []
    assert len(result.records) == 4
    by_id = {record["update_id"]: record for record in result.records}
    assert by_id[123456]["message"]["text"] == "test bold underline 😆👍 look here"
    assert by_id[62257549]["edited_message"]["text"] == "Editing this message"


def test_a_broken_line_is_a_record_error_and_the_others_load() -> None:
    data = b'{"a": 1}\n{"a": 2,\n\n   \n{"a": 3}\r\n[1, 2]\n'
    result = read(data, ReaderOptions())
    assert result.records == [{"a": 1}, {"a": 3}]
    assert result.record_indexes == [0, 2]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "broken_json"), (3, "not_an_object")]
    assert result.errors[0].raw_excerpt == '{"a": 2,'
    assert result.errors[0].detail.startswith("line 2 col ")


def test_u2028_inside_a_string_does_not_split_the_line() -> None:
    line = json.dumps({"text": "a\u2028b"}, ensure_ascii=False).encode("utf-8")
    assert read(line + b"\n", ReaderOptions()).records == [{"text": "a\u2028b"}]


def test_long_broken_line_excerpt_is_capped() -> None:
    result = read(b"{" + b"x" * 2000 + b"\n", ReaderOptions())
    assert len(result.errors[0].raw_excerpt) == 500


def test_a_line_over_max_record_bytes_is_a_record_error_and_is_not_parsed() -> None:
    data = b'{"a": 1}\n{"text": "' + b"x" * 5000 + b'"}\n{"a": 3}\n'
    result = read(data, ReaderOptions(max_record_bytes=4096))
    assert result.records == [{"a": 1}, {"a": 3}]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "record_too_large")]
    assert result.errors[0].detail.startswith("line 2: 5,012 bytes, over reader.max_record_bytes 4,096")
