"""The telegram_chat_export channel as shipped, with the real Telegram Desktop export (tests/fixtures/real).

As a user would add it: exports of two chats dropped into the landing folder, ingested and staged.
Message ids count per chat, so both chats have messages 1 to 5: with the chat in the id they are
distinct items; without it the second chat's messages are quarantined as id collisions, never
merged into the first chat's as "edits". Service messages are dropped by the record filter and
counted, and rich-text runs are staged as plain text.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.transforms.normalize.conftest import build_payloads
from transforms.channels.registry import Channel, get_channel, parse_channels
from transforms.config_errors import ConfigError
from transforms.dag import BuildContext
from transforms.normalize import normalize_channel
from transforms.org import load_org
from transforms.readers import read_file
from transforms.sla import load_policies
from transforms.taxonomy import load_feedback_types
from warehouse import connect_memory
from warehouse.build import build_layer
from warehouse.ingest import IngestSummary, ingest_landing

SAMPLE = "telegram_desktop_export/tg-parser_personal_chat.json"
CHANNEL = "telegram_chat_export"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def second_chat(real_samples: Path) -> bytes:
    """Another chat exported the same way: its own id, the same message ids, other words."""
    chat = json.loads((real_samples / SAMPLE).read_bytes())
    chat |= {"name": "СтройМаркет: поддержка", "type": "public_supergroup", "id": 1744203311}
    for message in chat["messages"]:
        if message["type"] == "message":
            message["date_unixtime"] = str(int(message["date_unixtime"]) + 86_400 * 30)
            message["text"] = f"Сообщение {message['id']} из группы поддержки"
    return json.dumps(chat, ensure_ascii=False, indent=1).encode("utf-8")


def land_and_stage(
    tmp_path: Path, channel: Channel, real_samples: Path
) -> tuple[duckdb.DuckDBPyConnection, IngestSummary]:
    folder = tmp_path / "landing" / channel.id
    folder.mkdir(parents=True)
    (folder / "personal_chat.json").write_bytes((real_samples / SAMPLE).read_bytes())
    (folder / "support_group.json").write_bytes(second_chat(real_samples))
    con = connect_memory()
    summary = ingest_landing(con, tmp_path / "landing", (channel,), archive_dir=tmp_path / "archive")
    context = BuildContext(
        as_of=AS_OF,
        reporting_timezone="Europe/Moscow",
        channels=(channel,),
        org=load_org(),
        feedback_types=load_feedback_types(),
        sla_policies=load_policies(),
        pii_key=b"telegram-export-test",
    )
    build_layer(con, "staging", context)
    return con, summary


def test_two_chats_with_the_same_message_ids_land_as_distinct_items(tmp_path: Path, real_samples: Path) -> None:
    con, summary = land_and_stage(tmp_path, get_channel(CHANNEL), real_samples)
    assert summary.loaded_records == {CHANNEL: 8} and summary.filtered_records == {CHANNEL: 2}
    rows = con.execute(
        "select source_item_id, body_text, is_edited from staging.stg_channels__feedback order by received_at"
    ).fetchall()
    assert [row[0] for row in rows] == [f"123456789 {n}" for n in (1, 2, 3, 4)] + [
        f"1744203311 {n}" for n in (1, 2, 3, 4)
    ]
    assert not any(row[2] for row in rows)
    assert rows[2][1] == "Check this important message"  # the rich-text runs, flattened
    assert con.execute("select count(*) from quarantine.staging_rejects").fetchone()[0] == 0
    assert con.execute("select count(*) from staging.stg_channels__feedback_versions").fetchone()[0] == 0
    # the raw payload keeps what the export said, the chat added by the reader
    payload = json.loads(con.execute("select payload from raw.channel_payloads limit 1").fetchone()[0])
    assert payload["chat_id"] == 123456789 and payload["type"] == "message"


def test_without_the_chat_in_the_id_the_second_chat_is_quarantined_not_merged(
    tmp_path: Path, real_samples: Path
) -> None:
    """What the issue saw: the second chat's messages became "edits" of the first's."""
    shipped = get_channel(CHANNEL)
    without_chat = shipped.model_copy(update={"fields": {**shipped.fields, "source_item_id": "id"}})
    con, _ = land_and_stage(tmp_path, without_chat, real_samples)
    staged = con.execute("select source_item_id, body_text from staging.stg_channels__feedback order by 1").fetchall()
    assert staged == [("1", "Hello!"), ("2", "Hi there!"), ("3", "Check this important message"), ("4", "Got it!")]
    rejects = con.execute(
        "select source_item_id, reason, _source_file from quarantine.staging_rejects order by 1"
    ).fetchall()
    assert rejects == [(str(n), "id_collision", f"{CHANNEL}/support_group.json") for n in (1, 2, 3, 4)]
    assert con.execute("select count(*) from staging.stg_channels__feedback_versions").fetchone()[0] == 0


def test_a_forum_topic_title_leads_the_body_text() -> None:
    """A forum export nests messages under topics: the topic's title is a parent field, mapped first."""
    channel = Channel.model_validate(
        {
            "id": "forum",
            "display_name": "Forum",
            "format": "json_pages",
            "reader": {
                "records_path": "topics[].messages",
                "parent_fields": {"topic_id": "id", "topic_title": "title"},
                "record_filter": {"type": "message"},
            },
            "fields": {
                "source_item_id": ["topic_id", "id"],
                "received_at": "date_unixtime",
                "body_text": ["topic_title", "text"],
            },
            "timestamp_format": "epoch",
        }
    )

    forum = {
        "topics": [
            {
                "id": 10,
                "title": "Доставка",
                "messages": [{"id": 1, "type": "message", "date_unixtime": "1790000000", "text": "Где заказ?"}],
            },
            {
                "id": 11,
                "title": "Возвраты",
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date_unixtime": "1790000100",
                        "text": ["Верните ", {"type": "bold", "text": "деньги"}],
                    }
                ],
            },
        ]
    }
    result = read_file(json.dumps(forum, ensure_ascii=False).encode(), channel)
    staged = normalize_channel(build_payloads(result.records), channel, pii_key=b"k", as_of=AS_OF).rows
    assert staged.select("source_item_id", "body_text").rows() == [
        ("10 1", "Доставка\nГде заказ?"),
        ("11 1", "Возвраты\nВерните деньги"),
    ]


def test_a_config_error_names_the_channel_not_its_position() -> None:
    text = "channels:\n" + "".join(
        f"  - id: chat_{n}\n    display_name: C\n    format: {'parquet' if n == 3 else 'jsonl'}\n"
        "    fields: {source_item_id: id, received_at: at}\n"
        for n in range(5)
    )
    with pytest.raises(ConfigError) as caught:
        parse_channels(text, source="channels.yaml")
    message = str(caught.value)
    assert message.startswith("channels.yaml: channel chat_3: format: Input should be 'csv'")
    assert "channels.3" not in message and message.endswith("(got 'parquet')")
    broken = text.replace("format: jsonl", "format: json_pages\n    reader: {records_path: 'a.b[]'}", 1)
    with pytest.raises(ConfigError) as caught:
        parse_channels(broken)
    assert caught.value.problems[0].startswith("channels.yaml: channel chat_0: reader: records_path 'a.b[]' ends on []")


def test_an_entry_without_an_id_is_named_by_its_place_in_the_file() -> None:
    entry = "    display_name: A\n    format: jsonl\n    fields: {source_item_id: id, received_at: at}\n"
    text = f"channels:\n  - id: a\n{entry}  - {entry[4:]}"
    with pytest.raises(ConfigError) as caught:
        parse_channels(text)
    assert caught.value.problems == ["channels.yaml: channel #2 (no id): id: Field required"]
