"""telegram_chat_export: Telegram Desktop "Export chat history" JSON files of the company's support chats.

The shape of tests/fixtures/real/telegram_desktop_export (tg-parser's fixture of a real export): one
document per chat, ``{"name", "type", "id", "messages": [...]}``, one file per chat and month as an
admin exports it. A message is ``{"id", "type": "message", "date" (the exporting computer's wall
clock, Moscow), "date_unixtime" (a string of Unix seconds), "from", "from_id" ("user<digits>"),
"text", "text_entities"}``. What the channel has to cope with is planted on purpose:
- message ids count per chat, and both chats count from the same number, so every id is in both
  files: only the chat's id (copied from the document by reader.parent_fields) tells them apart;
- each chat opens the month with a service message (a pin; ``type: service``, empty text), which the
  channel's record_filter drops;
- about a fifth of the texts are rich text, a list of runs with the first words in bold, which the
  mapping flattens; a few messages were edited (``edited``, ``edited_unixtime``).
Written on top of ``items`` (generate.ON_TOP_WRITERS): the chats' items open no CRM case and adding
the channel left every other channel's files unchanged. ``bad`` is not planted.
"""

import json
import random
from datetime import datetime, timedelta

from otklik.sample.items import make_items
from otklik.sample.model import ChannelResult, Context, Item
from otklik.sample.writers import channel_dir
from transforms.channels import Channel

CHATS = (
    {"name": "СтройМаркет: поддержка", "type": "public_supergroup", "id": 1744203311, "slug": "support"},
    {"name": "СтройМаркет Бизнес: вопросы", "type": "private_supergroup", "id": 1802957726, "slug": "business"},
)
RICH_SHARE = 0.2
EDITED_SHARE = 0.05
COMPANY = "СтройМаркет"


def write_telegram_chat_export(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, "none", n, rng)
    first_id = ctx.first_id(rng, 2_000, 3_000, stride=100_000)  # both chats count from here
    by_chat: dict[int, list[Item]] = {chat["id"]: [] for chat in CHATS}
    for item in items:
        chat = CHATS[0] if item.customer.segment != "b2b" or rng.random() < 0.3 else CHATS[1]
        by_chat[chat["id"]].append(item)
        item.no_case = True
    result = ChannelResult(channel.id, items=items)
    for chat in CHATS:
        chat_items = by_chat[chat["id"]]
        next_id = first_id
        messages: list[dict[str, object]] = [_service(ctx, next_id)]
        for item in chat_items:
            next_id += rng.randint(1, 3)  # the staff's answers take ids too (not exported as feedback here)
            item.source_item_id = f"{chat['id']} {next_id}"
            messages.append(_message(ctx, item, next_id, rng))
        document = {"name": chat["name"], "type": chat["type"], "id": chat["id"], "messages": messages}
        path = channel_dir(ctx, channel) / f"{chat['slug']}_{ctx.month.label}.json"
        path.write_bytes(json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"))
        result.files.append(path)
        result.records += len(messages)
    return result


def _stamp(ctx: Context, at: datetime) -> str:
    """Telegram Desktop writes the exporting computer's wall clock, without an offset."""
    return at.astimezone(ctx.month.tz).replace(tzinfo=None).isoformat(timespec="seconds")


def _service(ctx: Context, message_id: int) -> dict[str, object]:
    at = ctx.month.start + timedelta(hours=9)
    return {
        "id": message_id,
        "type": "service",
        "date": _stamp(ctx, at),
        "date_unixtime": str(int(at.timestamp())),
        "actor": COMPANY,
        "actor_id": "channel1744203311",
        "action": "pin_message",
        "message_id": message_id - 1,
        "text": "",
        "text_entities": [],
    }


def _message(ctx: Context, item: Item, message_id: int, rng: random.Random) -> dict[str, object]:
    text: object = item.text
    entities = [{"type": "plain", "text": item.text}]
    words = item.text.split(" ", 2)
    if len(words) == 3 and rng.random() < RICH_SHARE:
        bold = " ".join(words[:2])
        text = [{"type": "bold", "text": bold}, " " + words[2]]
        entities = [{"type": "bold", "text": bold}, {"type": "plain", "text": " " + words[2]}]
    message: dict[str, object] = {
        "id": message_id,
        "type": "message",
        "date": _stamp(ctx, item.at),
        "date_unixtime": str(int(item.at.timestamp())),
        "from": rng.choice((item.customer.first_name, item.customer.full_name)),
        "from_id": f"user{5_000_000_000 + item.customer.number * 7_919}",
    }
    if rng.random() < EDITED_SHARE:
        edited = min(item.at + timedelta(minutes=rng.randint(1, 30)), ctx.month.end - timedelta(seconds=1))
        message |= {"edited": _stamp(ctx, edited), "edited_unixtime": str(int(edited.timestamp()))}
    return message | {"text": text, "text_entities": entities}
