"""Marketplaces, app stores and maps: Ozon and Wildberries review API pages, the Google Play CSV
export (UTF-16), App Store Connect API customer review pages, a Yandex Maps review-monitoring
export and 2GIS pages.

Shapes follow the sample payloads in tests/fixtures where there is one (Ozon, Wildberries, App
Store); channels.yaml says which are assumed.
"""

import base64
import random
import string
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from otklik.sample import texts
from otklik.sample.items import make_items
from otklik.sample.model import UTC, ChannelResult, Context, Item
from otklik.sample.people import translit
from otklik.sample.writers import OFFER_IDS, by_day, channel_dir, csv_bytes, json_page, pages
from transforms.channels import Channel

_ALNUM = string.ascii_letters + string.digits


def _alnum(rng: random.Random, length: int, used: set[str]) -> str:
    while True:
        value = "".join(rng.choices(_ALNUM, k=length))
        if value not in used:
            used.add(value)
            return value


def _utc_z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page_size(channel: Channel, default: int) -> int:
    return channel.pull.page_size if channel.pull is not None else default


def _rating(item: Item) -> int:
    return item.score if item.score is not None else 5


# ----------------------------------------------------------- ozon_reviews (/v1/review/list pages)

OZON_SKUS = {product: 1_580_000_000 + index * 7_919 for index, product in enumerate(texts.PRODUCTS)}


def write_ozon(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    reviews = []
    for item in items:
        # Ozon review ids are UUIDv7: the creation time in milliseconds, version 7, random bits.
        random_a, random_b = rng.getrandbits(12), rng.getrandbits(62)
        bits = (int(item.at.timestamp() * 1000) << 80) | (7 << 76) | (random_a << 64) | (0b10 << 62) | random_b
        item.source_item_id = str(uuid.UUID(int=bits))
        rating = _rating(item)
        reviews.append(
            {
                "comments_amount": rng.choice((0, 0, 0, 1)),
                "id": item.source_item_id,
                "is_rating_participant": True,
                "order_status": "DELIVERED" if rng.random() < 0.93 else "CANCELLED",
                "photos_amount": rng.choice((0, 0, 0, 1, 2)) if item.text else 0,
                "published_at": _utc_z(item.at),
                "rating": rating,
                "sku": OZON_SKUS[rng.choice(texts.PRODUCTS)],
                "status": "UNPROCESSED" if rng.random() < 0.6 else "PROCESSED",
                "text": item.text,
                "videos_amount": 0,
            }
        )
    result = ChannelResult(channel.id, items=items)
    chunks = pages(reviews, _page_size(channel, 100))
    for number, chunk in enumerate(chunks, start=1):
        body = {"has_next": number < len(chunks), "last_id": chunk[-1]["id"] if chunk else "", "reviews": chunk}
        path = channel_dir(ctx, channel) / f"review_list_{number:04d}.json"
        path.write_bytes(json_page(body))
        result.files.append(path)
        result.records += len(chunk)
    return result


# --------------------------------------------------- wildberries_feedbacks (/api/v1/feedbacks pages)

WB_SUBJECTS = (("Электроинструменты", 5121), ("Инструменты", 3120), ("Сантехника", 1380), ("Отопление", 2311))


def write_wildberries(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    used: set[str] = set()
    feedbacks = [_wb_feedback(item, _alnum(rng, 20, used), rng) for item in items]
    result = ChannelResult(channel.id, items=items)
    for number, chunk in enumerate(pages(feedbacks, _page_size(channel, 5000)), start=1):
        unanswered = sum(1 for f in chunk if f["answer"] is None)
        body = {
            "data": {"countUnanswered": unanswered, "countArchive": 0, "feedbacks": chunk},
            "error": False,
            "errorText": "",
            "additionalErrors": None,
        }
        path = channel_dir(ctx, channel) / f"feedbacks_{number:04d}.json"
        path.write_bytes(json_page(body))
        result.files.append(path)
        result.records += len(chunk)
    return result


def _wb_feedback(item: Item, feedback_id: str, rng: random.Random) -> dict[str, object]:
    item.source_item_id = feedback_id
    rating = _rating(item)
    product = rng.choice(texts.PRODUCTS)
    subject, subject_id = rng.choice(WB_SUBJECTS)
    ordered = item.at - timedelta(days=rng.uniform(3, 20))
    pros = rng.choice(texts.PROS) if item.text and rating >= 3 and rng.random() < 0.6 else ""
    cons = rng.choice(texts.CONS) if item.text and rating <= 4 and rng.random() < 0.6 else ""
    return {
        "id": feedback_id,
        "text": item.text,
        "pros": pros,
        "cons": cons,
        "productValuation": rating,
        "createdDate": _utc_z(item.at),
        "answer": None,
        "state": "wbRu",
        "productDetails": {
            "imtId": 180_000_000 + texts.PRODUCTS.index(product) * 311,
            "nmId": 210_000_000 + texts.PRODUCTS.index(product) * 977,
            "productName": product[:1].upper() + product[1:],
            "supplierArticle": OFFER_IDS[product],
            "supplierName": "ООО «Инструмент-Маркет»",
            "brandName": product.split()[-1] if product.split()[-1][:1].isupper() else "Инструмент-Маркет",
            "size": "0",
        },
        "video": None,
        "wasViewed": rng.random() < 0.5,
        "photoLinks": None,
        "userName": item.customer.first_name,
        "matchingSize": "",
        "isAbleSupplierFeedbackValuation": True,
        "supplierFeedbackValuation": 0,
        "isAbleSupplierProductValuation": True,
        "supplierProductValuation": 0,
        "isAbleReturnProductOrders": rating <= 2,
        "returnProductOrdersDate": None,
        "bables": ["качество", "цена"] if rating >= 4 and rng.random() < 0.4 else None,
        "lastOrderShkId": rng.randint(10**10, 5 * 10**10),
        "lastOrderCreatedAt": ordered.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "color": "",
        "subjectId": subject_id,
        "subjectName": subject,
        "parentFeedbackId": None,
        "childFeedbackId": None,
    }


# ------------------------------------------ google_play_reviews (Play Console CSV, UTF-16 LE + BOM)

PLAY_HEADER = (
    "Package Name",
    "App Version Code",
    "App Version Name",
    "Reviewer Language",
    "Device",
    "Review Submit Date and Time",
    "Review Submit Millis Since Epoch",
    "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch",
    "Star Rating",
    "Review Title",
    "Review Text",
    "Developer Reply Date and Time",
    "Developer Reply Millis Since Epoch",
    "Developer Reply Text",
    "Review Link",
)
PACKAGE = "ru.instrumentmarket.app"
PLAY_DEVICES = ("a52q", "a10", "lavender", "RMX3363", "beyond1", "m31", "OP4F2F", "citrus", "a32", "vince")
APP_VERSIONS = (("5.12.0", 51200), ("5.11.2", 51102), ("5.10.0", 51000))
DEVELOPER_REPLY = "Здравствуйте! Спасибо за отзыв. Напишите нам в чат поддержки в приложении, разберёмся."


def write_google_play(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    rows = []
    for item in items:
        submitted = item.at.astimezone(UTC).replace(microsecond=rng.randrange(1000) * 1000)
        device = rng.choice(PLAY_DEVICES)
        language = "ru" if rng.random() < 0.95 else rng.choice(("en", "uk", "kk"))
        millis = int(submitted.timestamp() * 1000)
        item.source_item_id = f"{millis} {device} {language}"  # as the channel joins its three columns
        updated = submitted
        if rng.random() < 0.08:  # the author edited the review a few hours later
            updated = min(submitted + timedelta(hours=rng.uniform(1, 30)), ctx.month.end - timedelta(seconds=1))
        version, code = rng.choice(APP_VERSIONS)
        titles = ("Удобно", "Не работает", "Хорошее приложение", "Вылетает")
        title = rng.choice(titles) if item.text and rng.random() < 0.12 else ""  # most reviews have none
        reply = item.kind == "complaint" and rng.random() < 0.5
        replied = updated + timedelta(hours=rng.uniform(2, 40))
        review_id = "gp:AOqpTO" + "".join(rng.choices(_ALNUM + "-_", k=80))
        rows.append(
            [
                PACKAGE,
                code if rng.random() < 0.9 else "",
                version,
                language,
                device,
                _utc_z(submitted),
                millis,
                _utc_z(updated),
                int(updated.timestamp() * 1000),
                _rating(item),
                title,
                item.text,
                _utc_z(replied) if reply else "",
                int(replied.timestamp() * 1000) if reply else "",
                DEVELOPER_REPLY if reply else "",
                f"https://play.google.com/apps/publish?account=5923&reviewId={review_id}" if item.text else "",
            ]
        )
    path = channel_dir(ctx, channel) / f"reviews_{PACKAGE}_{ctx.month.year}{ctx.month.month:02d}.csv"
    # Python's "utf-16" codec writes the BOM and little-endian code units, as the Play Console does.
    path.write_bytes(csv_bytes(PLAY_HEADER, rows, delimiter=",", encoding="utf-16"))
    result = ChannelResult(channel.id, files=[path], records=len(rows), items=items)
    return result


# ------------------------------------ app_store_reviews (App Store Connect API customerReviews pages)

APP_ID = 1478925364
ASC_API = "https://api.appstoreconnect.apple.com/v1"
ASC_PAGE_SIZE = 200  # the limit the puller asks for (Apple's maximum)
APPLE_TZ = ZoneInfo("America/Los_Angeles")  # createdDate is written in Cupertino time with its offset
APP_STORE_TITLES = {
    "thanks": ("Отличное приложение", "Удобно", "Всё супер", "Пользуюсь постоянно"),
    "complaint": ("Не работает", "Вылетает", "Ужасно", "Разочарован", "Не могу войти"),
    "wish": ("Не хватает функции", "Пожелание", "Добавьте тёмную тему"),
    "question": ("Вопрос", "Как это работает?"),
}


def write_app_store(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 11_800_000_000, 11_900_000_000, stride=10**11)
    reviews = []
    for item in items:
        next_id += rng.randint(1, 50_000)  # the id space is the whole store's
        item.source_item_id = str(uuid.UUID(int=(0x28 << 96) | (0xB08C0014 << 64) | next_id))
        title = rng.choice(APP_STORE_TITLES[item.kind])  # the API lists written reviews only
        reviews.append(_app_store_review(item, title, rng))
    reviews.reverse()  # sort=-createdDate: newest first
    result = ChannelResult(channel.id, items=items)
    chunks = pages(reviews, ASC_PAGE_SIZE)
    for number, chunk in enumerate(chunks, start=1):
        path = channel_dir(ctx, channel) / f"customer_reviews_page_{number:02d}.json"
        path.write_bytes(json_page(_app_store_page(chunk, number, len(chunks), len(reviews))))
        result.files.append(path)
        result.records += len(chunk)
    return result


def _app_store_review(item: Item, title: str, rng: random.Random) -> dict[str, object]:
    nickname = rng.choice((item.customer.first_name, f"{translit(item.customer.first_name)}{rng.randint(1, 999)}"))
    review_id = item.source_item_id
    return {
        "type": "customerReviews",
        "id": review_id,
        "attributes": {
            "rating": _rating(item),
            "title": title,
            "body": item.text,
            "reviewerNickname": nickname,
            "createdDate": item.at.astimezone(APPLE_TZ).isoformat(timespec="seconds"),
            "territory": "RUS",
        },
        "relationships": {
            "response": {
                "links": {
                    "self": f"{ASC_API}/customerReviews/{review_id}/relationships/response",
                    "related": f"{ASC_API}/customerReviews/{review_id}/response",
                }
            }
        },
        "links": {"self": f"{ASC_API}/customerReviews/{review_id}"},
    }


def _app_store_page(reviews: list[dict[str, object]], number: int, last: int, total: int) -> dict[str, object]:
    url = f"{ASC_API}/apps/{APP_ID}/customerReviews"
    links = {"self": f"{url}?sort=-createdDate&limit={ASC_PAGE_SIZE}"}
    if number > 1:
        links["self"] = f"{url}?cursor={_asc_cursor(number - 1)}&limit={ASC_PAGE_SIZE}&sort=-createdDate"
    if number < last:
        links["next"] = f"{url}?cursor={_asc_cursor(number)}&limit={ASC_PAGE_SIZE}&sort=-createdDate"
    return {"data": reviews, "links": links, "meta": {"paging": {"total": total, "limit": ASC_PAGE_SIZE}}}


def _asc_cursor(pages_before: int) -> str:
    """An opaque cursor as Apple's look (base64 of the offset, a dot, a checksum-like tail)."""
    offset = str(pages_before * ASC_PAGE_SIZE).encode()
    return base64.urlsafe_b64encode(offset).decode().rstrip("=") + ".AJ6qT9s"


# ------------------------------------------ yandex_maps_reviews (review-monitoring CSV, ";", Moscow)

MAPS_HEADER = ("ID отзыва", "Дата", "Филиал", "Код точки", "Оценка", "Текст отзыва", "Автор", "Ответ компании")


def write_yandex_maps(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    used: set[str] = set()
    result = ChannelResult(channel.id, items=items)
    for day, day_items in by_day(items).items():
        rows = []
        for item in day_items:
            item.source_item_id = _alnum(rng, 22, used)
            author = rng.choice((item.customer.first_name, item.customer.full_name, "Анонимный пользователь"))
            answer = "Спасибо за отзыв! Передали руководству магазина." if rng.random() < 0.3 else ""
            store = item.store
            rows.append(
                [
                    item.source_item_id,
                    item.at.strftime("%d.%m.%Y %H:%M"),
                    f"Инструмент-Маркет, {store.name}",
                    store.id,
                    _rating(item),
                    item.text,
                    author,
                    answer,
                ]
            )
        path = channel_dir(ctx, channel) / f"yandex_maps_reviews_{day.isoformat()}.csv"
        path.write_bytes(csv_bytes(MAPS_HEADER, rows, delimiter=";"))
        result.files.append(path)
        result.records += len(rows)
    return result


# -------------------------------------------------- twogis_reviews (public reviews API 2.0 pages)

STORE_TIMEZONES = {"EKB": "Asia/Yekaterinburg", "NSK": "Asia/Novosibirsk"}  # the others are on Moscow time
GIS_REGIONS = {"MSK": 32, "SPB": 38, "KZN": 21, "EKB": 9, "NSK": 1}
GIS_PAGE_SIZE = 50


def write_twogis(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    next_id = ctx.first_id(rng, 120_000_000, 121_000_000, stride=10**10)
    by_branch: dict[str, list[dict[str, object]]] = defaultdict(list)
    for item in items:
        next_id += rng.randint(1, 3000)
        item.source_item_id = str(next_id)
        by_branch[item.store.id].append(_gis_review(item, ctx.month.end, rng))
    result = ChannelResult(channel.id, items=items)
    for store_id, reviews in sorted(by_branch.items()):
        branch = _gis_branch(store_id)
        reviews.reverse()  # the API lists the newest first
        chunks = pages(reviews, GIS_PAGE_SIZE)
        for number, chunk in enumerate(chunks, start=1):
            meta: dict[str, object] = {
                "code": 200,
                "branch_rating": round(sum(r["rating"] for r in reviews) / len(reviews), 1),  # type: ignore[misc]
                "branch_reviews_count": len(reviews),
            }
            if number < len(chunks):
                meta["next_link"] = (
                    f"https://public-api.reviews.2gis.com/2.0/branches/{branch}/reviews?limit={GIS_PAGE_SIZE}"
                    f"&offset_date={chunk[-1]['date_created']}&sort_by=date_created"
                )
            path = channel_dir(ctx, channel) / f"branch_{branch}_page_{number:02d}.json"
            path.write_bytes(json_page({"meta": meta, "reviews": chunk}))
            result.files.append(path)
            result.records += len(chunk)
    return result


def _gis_branch(store_id: str) -> str:
    city, number = store_id.split("-")
    return f"7000000{GIS_REGIONS[city]:02d}{int(number):08d}"


def _gis_review(item: Item, month_end: datetime, rng: random.Random) -> dict[str, object]:
    zone = ZoneInfo(STORE_TIMEZONES.get(item.store.id[:3], "Europe/Moscow"))
    created = item.at.astimezone(zone).replace(microsecond=rng.randrange(10**6))
    edited = None
    if rng.random() < 0.12:  # the author changed the review later (before the month's export)
        edited = min(created + timedelta(hours=rng.uniform(1, 48)), month_end - timedelta(seconds=1))
        edited = edited.astimezone(zone) if edited > created else None
    return {
        "id": item.source_item_id,
        "region_id": GIS_REGIONS[item.store.id[:3]],
        "text": item.text,
        "rating": _rating(item),
        "provider": "2gis",
        "is_hidden": False,
        "date_created": created.isoformat(),
        "date_edited": edited.isoformat() if edited is not None else None,
        "object": {"id": _gis_branch(item.store.id), "type": "branch"},
        "user": {
            "id": f"{item.customer.number * 104_729 % 16**12:012x}",
            "name": rng.choice((item.customer.first_name, f"{item.customer.first_name} {item.customer.last_name[0]}.")),
            "reviews_count": rng.randint(1, 40),
        },
        "likes_count": rng.choice((0, 0, 0, 1, 3)),
        "comments_count": 0,
        "official_answer": None,
        "on_moderation": False,
        "is_rated": True,
    }
