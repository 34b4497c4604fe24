"""Channel writers: items in the native export format of each channel, files per day/week/page.
This module holds the first eight channels' writers and the shared helpers; the others are in
``surveys``, ``messengers``, ``marketplaces``, ``helpdesk`` and ``mail``.

Every writer takes the channel's share of items and the deliberately bad records it must plant,
and returns a ChannelResult. Column names and paths are those of the channel's ``fields`` map
in channels.yaml; tests hold the two together.
"""

import base64
import csv
import io
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from otklik.sample import texts
from otklik.sample.items import item_slots, make_items, payment_fails_in, profile_for
from otklik.sample.model import UTC, BadRecord, ChannelResult, Context, Item
from transforms.channels import Channel

Writer = Callable[[Context, Channel, int, dict[str, int]], ChannelResult]


def channel_dir(ctx: Context, channel: Channel) -> Path:
    path = ctx.landing_dir / channel.id
    path.mkdir(parents=True, exist_ok=True)
    return path


def by_day(items: Iterable[Item]) -> dict[date, list[Item]]:
    days: dict[date, list[Item]] = defaultdict(list)
    for item in items:
        days[item.at.date()].append(item)
    return dict(sorted(days.items()))


def csv_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    lineterminator: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def token(rng: random.Random, length: int, used: set[str], alphabet: str = "abcdefghijkmnpqrstuvwxyz23456789") -> str:
    while True:
        value = "".join(rng.choices(alphabet, k=length))
        if value not in used:
            used.add(value)
            return value


def iso_seconds(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def spread(rng: random.Random, population: Sequence[Item], k: int) -> list[Item]:
    return rng.sample(list(population), min(k, len(population)))


def next_day_files(days: list[date]) -> dict[date, date]:
    return {day: days[i + 1] for i, day in enumerate(days[:-1])}


def jsonl_bytes(lines: Iterable[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def json_page(document: object) -> bytes:
    """One API response as a file: pretty-printed UTF-8 JSON, as a sync tool saves it."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def pages(records: list[dict[str, object]], size: int) -> list[list[dict[str, object]]]:
    """The records cut into API pages; no records still make one (empty) page."""
    return [records[i : i + size] for i in range(0, len(records), size)] or [[]]


def write_workbook(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    created: datetime,
    sheet: str = "Лист1",
    widths: Sequence[float] = (),
) -> None:
    """An XLSX with a bold header; date/datetime values become real date cells, the rest text.

    The creation date is fixed (and in_memory stamps zip members 1980-01-01), so the same rows
    give the same bytes.
    """
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"created": created})
    worksheet = workbook.add_worksheet(sheet)
    bold = workbook.add_format({"bold": True})
    day_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    moment_format = workbook.add_format({"num_format": "dd.mm.yyyy hh:mm:ss"})
    for column, title in enumerate(header):
        worksheet.write_string(0, column, title, bold)
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, datetime):
                worksheet.write_datetime(row_number, column, value.replace(tzinfo=None), moment_format)
            elif isinstance(value, date):
                worksheet.write_datetime(row_number, column, datetime(value.year, value.month, value.day), day_format)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                worksheet.write_number(row_number, column, value)
            else:
                worksheet.write_string(row_number, column, "" if value is None else str(value))
    for column, width in enumerate(widths):
        worksheet.set_column(column, column, width)
    worksheet.freeze_panes(1, 0)
    workbook.close()


# ---------------------------------------------------------------- nps_email_survey (CSV, UTF-8)

NPS_HEADER = (
    "response_id",
    "survey",
    "submitted_at",
    "recommend_score",
    "comment",
    "contact_me",
    "phone",
    "email",
    "customer_id",
    "order_number",
    "store_code",
    "segment",
)


def write_nps(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    used: set[str] = set()
    rows: dict[int, list[object]] = {}
    for item in items:
        item.source_item_id = token(rng, 10, used)
        rows[id(item)] = _nps_row(item, rng)
    result = ChannelResult(channel.id, items=items)
    days = by_day(items)
    extra: dict[date, list[tuple[int, list[object]]]] = defaultdict(list)  # day -> (position, row)
    planted = make_items(
        ctx,
        channel.id,
        channel.score_scale,
        bad.get("out_of_range_score", 0) + bad.get("missing_id", 0),
        ctx.rng(channel.id, "bad"),
    )
    for i, item in enumerate(planted):
        item.source_item_id = token(rng, 10, used)
        row = _nps_row(item, rng)
        if i < bad.get("out_of_range_score", 0):
            row[3] = "11"
            problem, detail = "out_of_range_score", "recommend_score 11 on a 0-10 scale"
        else:
            row[0] = ""
            item.source_item_id = ""
            problem, detail = "missing_id", "response_id is empty"
        extra[item.at.date()].append((-1, row))
        result.bad.append(
            BadRecord(channel.id, problem, _nps_name(ctx, channel, item.at.date()), item.source_item_id, detail)
        )
    following = next_day_files(list(days))
    for item in spread(rng, [i for i in items if i.at.date() in following], bad.get("duplicate", 0)):
        later = following[item.at.date()]
        extra[later].append((0, rows[id(item)]))  # the next export repeats it at the top
        result.bad.append(
            BadRecord(
                channel.id,
                "duplicate",
                _nps_name(ctx, channel, later),
                item.source_item_id,
                f"response {item.source_item_id} of {item.at.date()} exported again",
            )
        )
    for day in sorted(set(days) | set(extra)):
        day_rows = [rows[id(item)] for item in days.get(day, [])]
        for position, row in extra.get(day, []):
            day_rows.insert(position if position >= 0 else rng.randint(0, len(day_rows)), row)
        path = ctx.landing_dir / _nps_name(ctx, channel, day)
        path.write_bytes(csv_bytes(NPS_HEADER, day_rows))
        result.files.append(path)
        result.records += len(day_rows)
    return result


def _nps_name(ctx: Context, channel: Channel, day: date) -> str:
    channel_dir(ctx, channel)
    return f"{channel.id}/nps_responses_{day.isoformat()}.csv"


def _nps_row(item: Item, rng: random.Random) -> list[object]:
    store_purchase = item.topic == "store" or (item.topic in ("payment", "returns", "app") and rng.random() < 0.35)
    contact = item.contact_requested
    customer = item.customer
    return [
        item.source_item_id,
        "after_purchase" if store_purchase or rng.random() < 0.5 else "after_delivery",
        iso_seconds(item.at),
        item.score,
        item.text,
        "yes" if contact else "no",
        customer.phone_e164 if (contact and rng.random() < 0.95) or rng.random() < 0.08 else "",
        customer.email if (contact and rng.random() < 0.85) or rng.random() < 0.2 else "",
        customer.customer_id,
        "" if store_purchase and rng.random() < 0.7 else item.order_ref,
        item.store.id if store_purchase else "",
        customer.segment,
    ]


# ------------------------------------------------------ ivr_post_call_survey (CSV, cp1251, ";", CRLF)

IVR_HEADER = ("ИД звонка", "Дата", "Время", "Номер телефона", "Оценка", "Комментарий оператора")


def write_ivr(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(
        ctx, channel.id, channel.score_scale, bad.get("out_of_range_score", 0), ctx.rng(channel.id, "bad")
    )
    for item in items + planted:
        if item.kind != "none":  # the operator's note replaces the customer's words
            note = texts.ivr_note(item.kind, item.topic, rng, item_slots(ctx, item, rng))
            item.text = texts.fit_charset(note, "cp1251")
    for item in planted:
        item.score = 9  # the caller pressed 9 on a 1-5 question
    result = ChannelResult(channel.id, items=items)
    sequence = rng.randint(1000, 9000)
    for item in sorted(items + planted, key=lambda i: i.at):
        sequence += rng.randint(1, 40)
        item.source_item_id = f"{int(item.at.timestamp())}.{sequence}"
    planted_ids = {id(item) for item in planted}
    encoding = channel.reader.encoding or "cp1251"
    delimiter = channel.reader.delimiter or ";"
    for day, day_items in by_day(items + planted).items():
        name = f"{channel.id}/ivr_survey_{day.isoformat()}.csv"
        rows = []
        for item in sorted(day_items, key=lambda i: i.at):
            local = item.at.astimezone(ctx.month.tz)
            phone = ("7" if rng.random() < 0.7 else "8") + item.customer.phone_digits
            rows.append(
                [
                    item.source_item_id,
                    local.strftime("%d.%m.%Y"),
                    local.strftime("%H:%M:%S"),
                    phone,
                    item.score,
                    item.text,
                ]
            )
            if id(item) in planted_ids:
                result.bad.append(
                    BadRecord(channel.id, "out_of_range_score", name, item.source_item_id, "Оценка 9 on a 1-5 scale")
                )
        channel_dir(ctx, channel)
        path = ctx.landing_dir / name
        path.write_bytes(csv_bytes(IVR_HEADER, rows, delimiter=delimiter, lineterminator="\r\n", encoding=encoding))
        result.files.append(path)
        result.records += len(rows)
    return result


# ------------------------------------------------------------ web_form (CSV, UTF-8, Moscow wall clock)

WEB_FORM_HEADER = (
    "id",
    "created_at",
    "page_url",
    "topic",
    "name",
    "email",
    "phone",
    "call_me_back",
    "message",
)
WEB_FORM_TOPICS = {
    "store": "Магазины",
    "delivery": "Доставка",
    "website": "Работа сайта",
    "app": "Мобильное приложение",
    "payment": "Оплата",
    "returns": "Возврат и обмен",
    "corporate": "Для бизнеса",
    "call_centre": "Другое",
}
PAGES = {
    "store": ("/stores/", "/stores/{store}/"),
    "delivery": ("/help/delivery/", "/account/orders/{order}/", "/"),
    "website": ("/catalog/elektroinstrument/", "/cart/checkout/", "/search/?q=perforator", "/"),
    "app": ("/app/", "/"),
    "payment": ("/cart/checkout/", "/help/payment/", "/account/orders/{order}/"),
    "returns": ("/help/returns/", "/account/orders/{order}/"),
    "corporate": ("/b2b/", "/b2b/price/"),
    "call_centre": ("/contacts/", "/"),
}
SITE = "https://instrument-market.ru"


def write_web_form(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("missing_id", 0), ctx.rng(channel.id, "bad"))
    next_id = ctx.first_id(rng, 1_200_000, 1_300_000, stride=10**7)
    for item in items:
        next_id += rng.choice((1, 1, 1, 2, 3))  # gaps: spam the form's filter dropped
        item.source_item_id = str(next_id)
    planted_ids = {id(item) for item in planted}
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items + planted).items():
        name = f"{channel.id}/feedback_form_{day.isoformat()}.csv"
        rows = []
        for item in sorted(day_items, key=lambda i: i.at):
            if id(item) in planted_ids:
                result.bad.append(BadRecord(channel.id, "missing_id", name, "", "id is empty"))
            rows.append(_web_form_row(item, rng))
        channel_dir(ctx, channel)
        path = ctx.landing_dir / name
        path.write_bytes(csv_bytes(WEB_FORM_HEADER, rows))
        result.files.append(path)
        result.records += len(rows)
    return result


def _web_form_row(item: Item, rng: random.Random) -> list[object]:
    customer = item.customer
    page = rng.choice(PAGES[item.topic]).format(store=item.store.id.lower(), order=item.order_ref)
    email = customer.email if rng.random() < 0.93 else ""
    phone = ""
    if item.contact_requested or not email or rng.random() < 0.3:
        phone = texts.phone_as_typed(customer.phone_digits, rng)
    name = rng.choice((customer.first_name, customer.full_name, customer.first_name.lower(), ""))
    return [
        item.source_item_id,
        item.at.strftime("%Y-%m-%d %H:%M:%S"),
        SITE + page,
        WEB_FORM_TOPICS[item.topic],
        name,
        email,
        phone,
        "1" if item.contact_requested else "0",
        item.text,
    ]


# --------------------------------------------------- yandex_market_reviews (goods-feedback API pages)

PAGE_SIZE = 50
OFFER_IDS = {product: f"IM-{index + 10001}" for index, product in enumerate(texts.PRODUCTS)}


def write_yandex_market(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 137_000_000, 139_000_000, stride=10**10)
    feedbacks = []
    for item in items:
        next_id += rng.randint(1, 400)  # the id space is shared with other shops' reviews
        item.source_item_id = str(next_id)
        feedbacks.append(_yandex_feedback(ctx, item, next_id, rng))
    result = ChannelResult(channel.id, items=items)
    channel_dir(ctx, channel)
    pages = [feedbacks[i : i + PAGE_SIZE] for i in range(0, len(feedbacks), PAGE_SIZE)] or [[]]
    for number, page in enumerate(pages, start=1):
        paging = {}
        if number < len(pages):
            key = json.dumps({"op": ">", "key": {"id": page[-1]["feedbackId"]}}, separators=(",", ":"))
            paging["nextPageToken"] = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        body = {"status": "OK", "result": {"paging": paging, "feedbacks": page}}
        path = ctx.landing_dir / channel.id / f"page_{number:04d}.json"
        path.write_bytes(json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        result.files.append(path)
        result.records += len(page)
    return result


def _yandex_feedback(ctx: Context, item: Item, feedback_id: int, rng: random.Random) -> dict[str, object]:
    product = rng.choice(texts.PRODUCTS)
    rating = item.score or 5
    customer = item.customer
    feedback: dict[str, object] = {
        "feedbackId": feedback_id,
        "createdAt": iso_seconds(item.at),
        "needReaction": (rating <= 3 and rng.random() < 0.8) or rng.random() < 0.2,
        "identifiers": {"orderId": int(item.order_ref), "offerId": OFFER_IDS[product]},
        "author": rng.choice(
            (
                f"{customer.first_name} {customer.last_name[0]}.",
                customer.first_name,
                "Пользователь скрыл данные",
            )
        ),
    }
    if item.kind != "none":
        description = {}
        if rating >= 3 or rng.random() < 0.3:
            description["advantages"] = rng.choice(texts.PROS)
        if rating <= 4 or rng.random() < 0.3:
            description["disadvantages"] = rng.choice(texts.CONS)
        description["comment"] = item.text
        feedback["description"] = description
    if rng.random() < 0.12:
        feedback["media"] = {
            "photos": [
                f"https://avatars.mds.yandex.net/get-marketpic/{rng.randint(10**6, 10**7)}/orig"
                for _ in range(rng.randint(1, 3))
            ]
        }
    feedback["statistics"] = {
        "rating": rating,
        "commentsCount": 0 if feedback["needReaction"] else rng.choice((0, 1, 1)),
        "recommended": rating >= 4,
    }
    if rng.random() < 0.25:
        feedback["statistics"]["paidAmount"] = rng.choice((100, 200, 300))  # type: ignore[index]
    return feedback


# ------------------------------------------------------------------ telegram_bot (Bot API updates)


def write_telegram(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_update = ctx.first_id(rng, 780_000_000, 790_000_000, stride=10**7)
    message_ids: dict[int, int] = defaultdict(lambda: 1)
    updates: dict[int, dict[str, object]] = {}
    for item in items:
        next_update += rng.choice((1, 1, 1, 2, 3))  # gaps: updates of other kinds (callbacks, edits)
        item.source_item_id = str(next_update)
        message_ids[item.customer.telegram_id] += rng.choice((1, 2, 2, 3))  # the bot's replies count too
        updates[id(item)] = _telegram_update(item, next_update, message_ids[item.customer.telegram_id], rng)
    result = ChannelResult(channel.id, items=items)
    days = by_day(items)
    lines: dict[date, list[str]] = {
        day: [json_line(updates[id(i)]) for i in day_items] for day, day_items in days.items()
    }
    following = next_day_files(list(days))
    for item in spread(rng, [i for i in items if i.at.date() in following], bad.get("duplicate", 0)):
        later = following[item.at.date()]
        lines[later].insert(0, json_line(updates[id(item)]))  # re-delivered after a webhook timeout
        result.bad.append(
            BadRecord(
                channel.id,
                "duplicate",
                _telegram_name(channel, later),
                item.source_item_id,
                f"update {item.source_item_id} delivered again",
            )
        )
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("broken_json", 0), ctx.rng(channel.id, "bad"))
    for item in planted:
        next_update += 1
        line = json_line(_telegram_update(item, next_update, 1, rng))
        day_lines = lines.setdefault(item.at.date(), [])
        day_lines.insert(rng.randint(0, len(day_lines)), line[: len(line) * 2 // 3])
        result.bad.append(
            BadRecord(
                channel.id,
                "broken_json",
                _telegram_name(channel, item.at.date()),
                str(next_update),
                "line cut off in the middle of the JSON object",
            )
        )
    channel_dir(ctx, channel)
    for day in sorted(lines):
        path = ctx.landing_dir / _telegram_name(channel, day)
        path.write_bytes("".join(line + "\n" for line in lines[day]).encode("utf-8"))
        result.files.append(path)
        result.records += len(lines[day])
    return result


def _telegram_name(channel: Channel, day: date) -> str:
    return f"{channel.id}/updates_{day.isoformat()}.jsonl"


def json_line(record: object) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


PHOTO_COMPLAINT_SHARE = 0.15  # complaints sent as a photo of the problem with a caption


def _telegram_update(item: Item, update_id: int, message_id: int, rng: random.Random) -> dict[str, object]:
    customer = item.customer
    person: dict[str, object] = {
        "id": customer.telegram_id,
        "is_bot": False,
        "first_name": customer.first_name,
    }
    if rng.random() < 0.4:
        person["last_name"] = customer.last_name
    if rng.random() < 0.5:
        person["username"] = f"{customer.email.split('@')[0].replace('.', '_')}"
    sender = {
        **person,
        "language_code": "ru" if rng.random() < 0.93 else rng.choice(("en", "uk", "be", "kk")),
    }
    chat = {key: value for key, value in person.items() if key != "is_bot"} | {"type": "private"}
    message: dict[str, object] = {
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": int(item.at.timestamp()),
    }
    if item.kind == "none":  # a sticker instead of words
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAI{rng.randint(10**8, 10**9)}",
            "file_unique_id": f"AgAD{rng.randint(10**5, 10**6)}",
            "width": 512,
            "height": 512,
            "emoji": rng.choice(("😡", "👍", "🙏", "😢")),
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    elif item.kind == "complaint" and rng.random() < PHOTO_COMPLAINT_SHARE:
        # a photo of the damage with the complaint as its caption: Bot API puts the words in "caption"
        message["photo"] = [
            {"file_id": f"AgACAgIAAxkBAAI{rng.randint(10**8, 10**9)}", "width": w, "height": h}
            for w, h in ((90, 67), (800, 600))
        ]
        message["caption"] = item.text
    else:
        message["text"] = item.text
    return {"update_id": update_id, "message": message}


# -------------------------------------------------------- inapp_popup_rating (JSONL events, UTC "Z")

OLD_BROWSER = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
BROWSERS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.0.0 Safari/537.36", 34),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36", 22),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0", 6),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.0 Safari/605.1.15", 5),
    ("Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/129.0.0.0 Mobile Safari/537.36", 14),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.0 Mobile/15E148 Safari/604.1", 10),
    (OLD_BROWSER, 13),
)  # fmt: skip
APPS = (
    ("InstrumentMarket/5.12.0 (Android 14; SM-A546E; okhttp/4.12.0)", 40),
    ("InstrumentMarket/5.12.0 (iOS 18.0; iPhone15,2)", 35),
    ("InstrumentMarket/5.11.2 (Android 12; Redmi Note 11)", 25),
)
OLD_BROWSER_SLOW_SHARE = 0.7  # of that browser's ratings: a "slow site" complaint
OTHER_SLOW_SHARE = 0.0  # other browsers complain about speed only as often as the templates say
POPUP_PAGES = ("/catalog/", "/product/", "/cart/", "/account/orders/", "/search/")


def write_inapp(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("broken_json", 0), ctx.rng(channel.id, "bad"))
    browsers, browser_weights = zip(*BROWSERS, strict=True)
    apps, app_weights = zip(*APPS, strict=True)
    incident = ctx.rng(channel.id, "incident")
    profile = profile_for(channel.id)
    events: dict[int, dict[str, object]] = {}
    for item in items + planted:
        agent = rng.choices(apps, app_weights)[0] if item.topic == "app" else rng.choices(browsers, browser_weights)[0]
        payment_fails_in(ctx, item, agent, incident)
        slow = OLD_BROWSER_SLOW_SHARE if agent == OLD_BROWSER else OTHER_SLOW_SHARE if item.topic == "website" else 0
        if rng.random() < slow and not item.extra.get("payment_incident"):
            item.kind = "complaint"
            item.text = rng.choice(texts.SLOW_SITE)
            if rng.random() < profile.colloquial:
                item.text = texts.colloquial(item.text, "complaint", rng)
            item.score = texts.score("complaint", "0-10", rng)
            item.extra["slow_site"] = True
        item.source_item_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        item.extra["user_agent"] = agent
        events[id(item)] = {
            "event_id": item.source_item_id,
            "ts": item.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{rng.randrange(1000):03d}Z",
            "user_id": f"u{item.customer.number + 500_000}",
            "rating": item.score,
            "comment": item.text,
            "plan": item.customer.segment,
            "user_agent": agent,
            "page": "app" if item.topic == "app" else rng.choice(POPUP_PAGES),
        }
    result = ChannelResult(channel.id, items=items)
    planted_ids = {id(item) for item in planted}
    channel_dir(ctx, channel)
    for day, day_items in by_day(items + planted).items():
        name = f"{channel.id}/popup_ratings_{day.isoformat()}.jsonl"
        lines = []
        for item in day_items:
            line = json_line(events[id(item)])
            if id(item) in planted_ids:  # the exporter died mid-line
                line = line[: len(line) // 2]
                result.bad.append(
                    BadRecord(
                        channel.id,
                        "broken_json",
                        name,
                        item.source_item_id,
                        "line cut off in the middle of the JSON object",
                    )
                )
            lines.append(line)
        path = ctx.landing_dir / name
        path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
        result.files.append(path)
        result.records += len(lines)
    return result


# ---------------------------------------------------- store_complaint_book (XLSX typed by store staff)

BOOK_HEADER = ("№ записи", "Дата", "Магазин", "Текст обращения", "ФИО", "Телефон")
FUTURE_YEAR = 2062  # "2026" typed with two digits swapped


def write_complaint_book(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("future_date", 0), ctx.rng(channel.id, "bad"))
    planted_ids = {id(item) for item in planted}
    counters: dict[str, int] = defaultdict(int)
    for item in sorted(items + planted, key=lambda i: i.at):
        counters[item.store.id] += 1
        item.source_item_id = f"{item.store.id}/{ctx.month.yymm}-{counters[item.store.id]:03d}"
    weeks: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items + planted, key=lambda i: i.at):
        year, week, _ = item.at.isocalendar()
        weeks[f"{year}-W{week:02d}"].append(item)
    result = ChannelResult(channel.id, items=items)
    channel_dir(ctx, channel)
    for week, week_items in sorted(weeks.items()):
        name = f"{channel.id}/complaint_book_{week}.xlsx"
        path = ctx.landing_dir / name
        rows = []
        for item in week_items:
            day = item.at.date()
            typed: date | str = day
            if id(item) in planted_ids:
                typed = f"{day.day:02d}.{day.month:02d}.{FUTURE_YEAR}"
                result.bad.append(
                    BadRecord(channel.id, "future_date", name, item.source_item_id, f"Дата typed as {typed}")
                )
            elif rng.random() < 0.15:
                typed = (
                    f"{day.day:02d}.{day.month:02d}.{day.year}"
                    if rng.random() < 0.7
                    else f"{day.day}.{day.month}.{day.year}"
                )
            fio = rng.choice(
                (
                    item.customer.fio_short,
                    f"{item.customer.last_name} {item.customer.first_name}",
                    f"{item.customer.last_name} {item.customer.first_name} {item.customer.patronymic}",
                )
            )
            phone = texts.phone_as_typed(item.customer.phone_digits, rng) if rng.random() < 0.75 else ""
            rows.append(
                (
                    item.source_item_id,
                    typed,
                    item.store.id,
                    item.text,
                    fio if rng.random() < 0.85 else "",
                    phone,
                )
            )
        _write_workbook(path, rows, created=datetime(ctx.month.year, ctx.month.month, 1))
        result.files.append(path)
        result.records += len(rows)
    return result


def _write_workbook(path: Path, rows: list[tuple[object, ...]], *, created: datetime) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True, "constant_memory": False})
    # A fixed creation date: with in_memory xlsxwriter stamps every zip member 1980-01-01,
    # so the same rows give the same bytes.
    workbook.set_properties({"created": created, "author": "Магазин", "title": "Книга жалоб и предложений"})
    sheet = workbook.add_worksheet("Книга жалоб")
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "dd.mm.yyyy"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    for column, title in enumerate(BOOK_HEADER):
        sheet.write_string(0, column, title, bold)
    for row_number, row in enumerate(rows, start=1):
        record_id, typed, store, text, fio, phone = row
        sheet.write_string(row_number, 0, str(record_id))
        if isinstance(typed, date):
            sheet.write_datetime(row_number, 1, datetime(typed.year, typed.month, typed.day), date_format)
        else:
            sheet.write_string(row_number, 1, str(typed))
        sheet.write_string(row_number, 2, str(store))
        sheet.write_string(row_number, 3, str(text), wrap)
        sheet.write_string(row_number, 4, str(fio))
        sheet.write_string(row_number, 5, str(phone))
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 2, 10)
    sheet.set_column(3, 3, 70)
    sheet.set_column(4, 5, 24)
    sheet.freeze_panes(1, 0)
    workbook.close()
