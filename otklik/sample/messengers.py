"""Calls, chats and messengers: the call-centre notes export, the website chat's webhook events,
VK Callback API events (messages and wall comments) and WhatsApp Cloud API messages.

Shapes are those channels.yaml describes for each channel (its comments say which are assumed).
"""

import base64
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import date

from otklik.sample import texts
from otklik.sample.items import item_slots, make_items, payment_fails_in
from otklik.sample.model import BadRecord, ChannelResult, Context, Item
from otklik.sample.people import Customer
from otklik.sample.writers import (
    BROWSERS,
    by_day,
    channel_dir,
    csv_bytes,
    json_line,
    jsonl_bytes,
    next_day_files,
    spread,
)
from transforms.channels import Channel

# ------------------------------------------- call_centre_notes (TSV, UTF-8 with a BOM, Moscow time)

CALL_HEADER = (
    "ID звонка",
    "Начало звонка",
    "Длительность, с",
    "Направление",
    "Номер",
    "ID клиента",
    "Оператор",
    "Итог",
    "Заметка оператора",
)
OUTCOMES = {
    "complaint": ("Жалоба зарегистрирована", "Передано в отдел", "Эскалация"),
    "question": ("Консультация", "Консультация", "Передано в отдел"),
    "thanks": ("Благодарность",),
    "wish": ("Предложение зарегистрировано",),
}


def write_call_notes(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("wrong_encoding", 0), ctx.rng(channel.id, "bad"))
    next_id = ctx.first_id(rng, 52_000_000, 53_000_000, stride=10**9)
    rows: dict[int, list[object]] = {}
    for item in sorted(items + planted, key=lambda i: i.at):
        next_id += rng.randint(1, 25)  # calls without a note take numbers too
        item.source_item_id = str(next_id)
        item.text = texts.ivr_note(item.kind, item.topic, rng, item_slots(ctx, item, rng))
        rows[id(item)] = _call_row(item, rng)
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items).items():
        path = channel_dir(ctx, channel) / f"calls_{day.isoformat()}.tsv"
        day_rows = [rows[id(item)] for item in day_items]
        path.write_bytes(csv_bytes(CALL_HEADER, day_rows, delimiter="\t", lineterminator="\r\n", encoding="utf-8-sig"))
        result.files.append(path)
        result.records += len(day_rows)
    if planted:
        # A supervisor's selection of calls, opened in Excel and saved as "Unicode text": UTF-16 LE
        # with a BOM. The channel reads UTF-8, so the whole file goes to quarantine.
        path = channel_dir(ctx, channel) / "calls_selection_resaved.tsv"
        path.write_bytes(
            csv_bytes(
                CALL_HEADER, [rows[id(i)] for i in planted], delimiter="\t", lineterminator="\r\n", encoding="utf-16"
            )
        )
        result.files.append(path)
        result.records += len(planted)
        result.bad += [
            BadRecord(
                channel.id,
                "wrong_encoding",
                ctx.relative(path),
                item.source_item_id,
                "the file was re-saved in Excel as UTF-16 'Unicode text'; the channel reads UTF-8",
            )
            for item in planted
        ]
    return result


def _call_row(item: Item, rng: random.Random) -> list[object]:
    digits = item.customer.phone_digits
    return [
        item.source_item_id,
        item.at.strftime("%Y-%m-%d %H:%M:%S"),
        rng.randint(40, 900),
        "Исходящий" if rng.random() < 0.15 else "Входящий",
        f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
        item.customer.customer_id if rng.random() < 0.8 else "",
        rng.choice(texts.STAFF_NAMES),
        rng.choice(OUTCOMES[item.kind]),
        item.text,
    ]


# ---------------------------------------------------- website_chat (widget webhook, Unix ms, JSONL)

CHAT_PAGES = ("/", "/catalog/elektroinstrument/", "/cart/checkout/", "/help/delivery/", "/account/orders/")


def write_website_chat(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    agents, weights = zip(*BROWSERS, strict=True)
    result = ChannelResult(channel.id, items=items)
    incident = ctx.rng(channel.id, "incident")
    for day, day_items in by_day(items).items():
        lines = []
        for item in day_items:
            millis = int(item.at.timestamp()) * 1000 + rng.randrange(1000)
            item.source_item_id = f"m{millis:x}{rng.getrandbits(16):04x}"
            visitor = _visitor(item.customer, rng)
            visitor["user_agent"] = rng.choices(agents, weights)[0]
            payment_fails_in(ctx, item, visitor["user_agent"], incident)
            event = {
                "event_name": "client_message",
                "widget_id": "kX3fT9aQ2m",
                "chat_id": f"c{rng.getrandbits(40):010x}",
                "message": {"id": item.source_item_id, "type": "text", "timestamp": millis, "text": item.text},
                "visitor": visitor,
                "page": {"url": "https://instrument-market.ru" + rng.choice(CHAT_PAGES)},
            }
            lines.append(json_line(event))
        path = channel_dir(ctx, channel) / f"chat_events_{day.isoformat()}.jsonl"
        path.write_bytes(jsonl_bytes(lines))
        result.files.append(path)
        result.records += len(lines)
    return result


def _visitor(customer: Customer, rng: random.Random) -> dict[str, object]:
    """What the pre-chat form and the widget's cookie know about the visitor."""
    visitor: dict[str, object] = {"id": f"v{customer.number * 7919 % 10**8:08d}", "chats_count": rng.randint(1, 6)}
    if rng.random() < 0.55:
        visitor["name"] = customer.first_name
    if rng.random() < 0.5:
        visitor["email"] = customer.email
    if rng.random() < 0.35:
        visitor["phone"] = texts.phone_as_typed(customer.phone_digits, rng)
    return visitor


# ----------------------------------------------- vk_messages / vk_wall_comments (Callback API, JSONL)

VK_GROUP_ID = 218_347_521
VK_API_VERSION = "5.199"


def vk_user_id(customer: Customer) -> int:
    return 10_000_000 + customer.number * 7_331 % 790_000_000


def write_vk_messages(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 480_000, 490_000, stride=10**8)
    conversation: dict[int, int] = defaultdict(int)

    def event(item: Item) -> dict[str, object]:
        nonlocal next_id
        next_id += rng.randint(1, 4)  # the community's replies take message ids too
        item.source_item_id = str(next_id)
        user = vk_user_id(item.customer)
        conversation[user] += rng.randint(1, 3)
        message = {
            "date": int(item.at.timestamp()),
            "from_id": user,
            "id": next_id,
            "out": 0,
            "version": 10_000_000 + next_id,
            "attachments": [],
            "conversation_message_id": conversation[user],
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": user,
            "random_id": 0,
            "text": item.text,
        }
        client = {"button_actions": ["text", "vkpay", "open_app", "location", "open_link"], "keyboard": True}
        client |= {"inline_keyboard": True, "carousel": True, "lang_id": 0}
        return {"type": "message_new", "object": {"message": message, "client_info": client}} | _vk_envelope(rng)

    return _vk_files(ctx, channel, items, event, "message_new")


def write_vk_wall_comments(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 61_000, 62_000, stride=10**8)
    posts = sorted(rng.sample(range(9_100, 9_400), 12))  # the month's posts people comment under

    def event(item: Item) -> dict[str, object]:
        nonlocal next_id
        next_id += rng.randint(1, 3)
        item.source_item_id = str(next_id)
        comment = {
            "id": next_id,
            "from_id": vk_user_id(item.customer),
            "date": int(item.at.timestamp()),
            "text": item.text,
            "post_id": rng.choice(posts),
            "owner_id": -VK_GROUP_ID,
            "post_owner_id": -VK_GROUP_ID,
            "parents_stack": [],
            "thread": {"count": 0, "items": [], "can_post": True, "show_reply_button": True},
        }
        return {"type": "wall_reply_new", "object": comment} | _vk_envelope(rng)

    return _vk_files(ctx, channel, items, event, "wall_reply_new")


def _vk_envelope(rng: random.Random) -> dict[str, object]:
    return {"group_id": VK_GROUP_ID, "event_id": f"{rng.getrandbits(160):040x}", "v": VK_API_VERSION}


def _vk_files(
    ctx: Context, channel: Channel, items: list[Item], event: Callable[[Item], dict[str, object]], kind: str
) -> ChannelResult:
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items).items():
        lines = [json_line(event(item)) for item in day_items]
        path = channel_dir(ctx, channel) / f"{kind}_{day.isoformat()}.jsonl"
        path.write_bytes(jsonl_bytes(lines))
        result.files.append(path)
        result.records += len(lines)
    return result


# ---------------------------------------------------- whatsapp (Cloud API messages[] objects, JSONL)

WHATSAPP_PHOTO_SHARE = 0.12  # complaints sent as a photo with the words in its caption


def write_whatsapp(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    lines: dict[int, str] = {}
    for item in items:
        item.source_item_id = "wamid." + base64.b64encode(rng.randbytes(30)).decode("ascii")
        lines[id(item)] = json_line(_whatsapp_message(item, rng))
    result = ChannelResult(channel.id, items=items)
    days = by_day(items)
    files: dict[date, list[str]] = {day: [lines[id(i)] for i in day_items] for day, day_items in days.items()}
    following = next_day_files(list(days))
    for item in spread(rng, [i for i in items if i.at.date() in following], bad.get("duplicate", 0)):
        later = following[item.at.date()]
        files[later].insert(0, lines[id(item)])  # Meta re-sent the webhook: no 200 in time
        result.bad.append(
            BadRecord(
                channel.id,
                "duplicate",
                f"{channel.id}/messages_{later.isoformat()}.jsonl",
                item.source_item_id,
                "webhook delivered again after a timeout",
            )
        )
    for day, day_lines in sorted(files.items()):
        path = channel_dir(ctx, channel) / f"messages_{day.isoformat()}.jsonl"
        path.write_bytes(jsonl_bytes(day_lines))
        result.files.append(path)
        result.records += len(day_lines)
    return result


def _whatsapp_message(item: Item, rng: random.Random) -> dict[str, object]:
    wa_id = f"7{item.customer.phone_digits}"
    message: dict[str, object] = {"from": wa_id, "id": item.source_item_id, "timestamp": str(int(item.at.timestamp()))}
    if item.kind == "complaint" and rng.random() < WHATSAPP_PHOTO_SHARE:
        message["type"] = "image"
        message["image"] = {
            "caption": item.text,
            "mime_type": "image/jpeg",
            "sha256": base64.b64encode(rng.randbytes(32)).decode("ascii"),
            "id": str(rng.randint(10**15, 10**16 - 1)),
        }
    else:
        message["type"] = "text"
        message["text"] = {"body": item.text}
    name = rng.choice((item.customer.first_name, item.customer.full_name, item.customer.first_name[0] + "."))
    message["contact"] = {"profile": {"name": name}, "wa_id": wa_id}
    return message
