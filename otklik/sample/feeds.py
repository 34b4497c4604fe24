"""XML feed channels: the review site's Atom feed (``review_site_feed``), and any ``xml_feed`` channel.

``write_review_site_feed`` writes what the review site's feed gives a daily sync: one Atom 1.0
document (RFC 4287) per day with that day's reviews, newest first, as the site serves it: in
windows-1251 with its XML declaration saying so (characters outside the code page as character
references), ``content type="html"`` holding the review as escaped HTML, the rating in Google
Data's ``<gd:rating value min max/>`` (the GData elements reference,
https://developers.google.com/gdata/docs/2.0/elements#gdRating), one or two ``category`` terms (the
site's sections), a review edited on the site later the same day with a later ``updated``. Its
reviews are answered on the site, so they open no CRM case.

``feed_document`` turns records (nested dicts in the xml_feed reader's shape: ``@name`` attributes,
``#text``, prefixed keys) back into a feed, for channels added to the registry without a writer of
their own (``generate._generic_writer``).
"""

import random
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from otklik.sample.items import make_items
from otklik.sample.model import ChannelResult, Context, Item
from otklik.sample.writers import by_day, channel_dir
from transforms.channels import Channel
from transforms.readers.xml_feed import ATOM

SITE = "otzyvy.example"  # the review site (a made-up host: .example is reserved for documentation)
COMPANY_PAGE = f"https://{SITE}/company/stroymarket"
ENCODING = "windows-1251"
GD = "http://schemas.google.com/g/2005"
TITLES = {
    5: ("Отлично", "Рекомендую", "Всё понравилось"),
    4: ("Хорошо", "В целом доволен", "Неплохо"),
    3: ("Нормально", "Есть нюансы", "Так себе"),
    2: ("Плохо", "Разочарован", "Не советую"),
    1: ("Ужасно", "Никогда больше", "Худший опыт"),
}
SECTIONS = {  # the site's sections for the company, by what the review is about
    "store": "Магазины",
    "delivery": "Доставка",
    "returns": "Возврат и обмен",
    "website": "Интернет-магазин",
    "app": "Интернет-магазин",
    "payment": "Оплата",
    "call_centre": "Служба поддержки",
    "corporate": "Для бизнеса",
}
EDITED_SHARE = 0.1


def write_review_site_feed(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    """The month's reviews as daily Atom documents (see the module docstring); ``bad`` is not planted."""
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, "1-5", n, rng)
    # the stride leaves room for a month of the largest history (ids count up by 1-40 a review)
    number = ctx.first_id(rng, 1_000_000, 2_000_000, stride=10**8)
    entries: dict[int, dict[str, object]] = {}
    for item in items:
        number += rng.randint(1, 40)  # the site's ids count every company's reviews
        item.source_item_id = f"tag:{SITE},{item.at.year}:review/{number}"
        item.no_case = True
        entries[id(item)] = _entry(ctx, item, number, rng)
    result = ChannelResult(channel.id, items=items)
    folder = channel_dir(ctx, channel)
    days = by_day(items) or {ctx.month.start.date(): []}
    for day, day_items in days.items():
        records = [entries[id(item)] for item in sorted(day_items, key=lambda i: i.at, reverse=True)]
        updated = max((str(r["updated"]) for r in records), default=ctx.month.start.isoformat(timespec="seconds"))
        header = {
            "id": f"tag:{SITE},{ctx.month.year}:company/stroymarket",
            "title": "Отзывы о компании СтройМаркет",
            "updated": updated,
            "link": {"@rel": "alternate", "@type": "text/html", "@href": COMPANY_PAGE},
        }
        path = folder / f"reviews_{day.isoformat()}.xml"
        path.write_bytes(feed_document(header, records, {"gd": GD}, encoding=ENCODING))
        result.files.append(path)
        result.records += len(records)
    return result


def _entry(ctx: Context, item: Item, number: int, rng: random.Random) -> dict[str, object]:
    published = item.at.astimezone(ctx.month.tz)
    updated = published
    if rng.random() < EDITED_SHARE:  # the reviewer came back and edited it
        updated = published + timedelta(minutes=rng.randint(5, 600))
    score = item.score if item.score is not None else 3
    sections = [SECTIONS[item.topic]] + (["Ремонт и стройка"] if rng.random() < 0.4 else [])
    return {
        "id": item.source_item_id,
        "published": _stamp(published),
        "updated": _stamp(updated),
        "title": rng.choice(TITLES[score]),
        "content": {"@type": "html", "#text": "<p>" + escape(item.text).replace("\n", "<br/>") + "</p>"},
        "author": {"name": _nickname(item, rng), "uri": f"https://{SITE}/user/{item.customer.number * 7919 % 10**7}"},
        "link": {"@rel": "alternate", "@type": "text/html", "@href": f"https://{SITE}/review/{number}"},
        "category": [{"@term": section} for section in sections],
        "gd:rating": {"@value": str(score), "@min": "1", "@max": "5"},
    }


def _nickname(item: Item, rng: random.Random) -> str:
    first = item.customer.first_name
    return rng.choice((first, f"{first} {item.customer.last_name[:1]}.", f"{first.lower()}{rng.randint(1, 99)}"))


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


# --- records → an Atom document


def feed_document(
    header: dict[str, object],
    entries: list[dict[str, object]],
    namespaces: dict[str, str],
    *,
    encoding: str = "utf-8",
) -> bytes:
    """An Atom feed of ``entries`` in the xml_feed reader's record shape, encoded as it declares.

    A list value is a repeated element; a prefix that ``namespaces`` does not name gets a
    namespace of its own (``urn:otklik:sample:<prefix>``). Characters the encoding lacks are written
    as character references.
    """
    used = sorted({key.split(":", 1)[0] for record in [header, *entries] for key in _keys(record) if ":" in key})
    declared = "".join(
        f" xmlns:{prefix}={quoteattr(namespaces.get(prefix, f'urn:otklik:sample:{prefix}'))}" for prefix in used
    )
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>\n<feed xmlns="{ATOM}"{declared}>\n']
    parts += [_element(key, value, 1) for key, value in header.items()]
    for entry in entries:
        parts.append("  <entry>\n" + "".join(_element(key, value, 2) for key, value in entry.items()) + "  </entry>\n")
    parts.append("</feed>\n")
    return "".join(parts).encode(encoding, "xmlcharrefreplace")


def _keys(value: object) -> list[str]:
    if isinstance(value, list):
        return [key for item in value for key in _keys(item)]
    if not isinstance(value, dict):
        return []
    return [key for key, item in value.items() for key in [key, *_keys(item)] if not key.startswith(("@", "#"))]


def _element(name: str, value: object, depth: int) -> str:
    indent = "  " * depth
    if isinstance(value, list):
        return "".join(_element(name, item, depth) for item in value)
    if not isinstance(value, dict):
        return f"{indent}<{name}>{escape(str(value))}</{name}>\n"
    attributes = "".join(f" {key[1:]}={quoteattr(str(item))}" for key, item in value.items() if key.startswith("@"))
    children = {key: item for key, item in value.items() if not key.startswith(("@", "#"))}
    text = escape(str(value.get("#text", "")))
    if not children:
        return f"{indent}<{name}{attributes}/>\n" if not text else f"{indent}<{name}{attributes}>{text}</{name}>\n"
    inner = "".join(_element(key, item, depth + 1) for key, item in children.items())
    return f"{indent}<{name}{attributes}>{text}\n{inner}{indent}</{name}>\n"
