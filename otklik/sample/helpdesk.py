"""Helpdesks and the corporate-sales CRM: Zendesk and Freshdesk ticket pages, Bitrix24 activity
pages (every value a string) and the account managers' notes workbooks.

Shapes follow the sample payloads in tests/fixtures (Zendesk, Freshdesk, Bitrix24); the notes
workbook is assumed (channels.yaml says how).
"""

import html
import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from otklik.sample import texts
from otklik.sample.items import item_slots, make_items
from otklik.sample.model import UTC, BadRecord, ChannelResult, Context, Item
from otklik.sample.people import COMPANIES
from otklik.sample.writers import channel_dir, json_page, pages, write_workbook
from transforms.channels import Channel


def _utc_z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _before_month_end(ctx: Context, at: datetime) -> datetime:
    return min(at, ctx.month.end - timedelta(seconds=1))


def _page_size(channel: Channel, default: int) -> int:
    return channel.pull.page_size if channel.pull is not None else default


# ------------------------------------------------------------ zendesk_tickets (/api/v2/tickets.json)

ZENDESK = "https://instrument-market.zendesk.com"
ZENDESK_VIA = (("web", 45), ("email", 35), ("api", 10), ("mobile", 10))


def write_zendesk(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    vias, via_weights = zip(*ZENDESK_VIA, strict=True)
    next_id = ctx.first_id(rng, 184_000, 186_000, stride=10**7)
    tickets = []
    for item in items:
        next_id += 1
        item.source_item_id = str(next_id)
        subject = texts.email_subject(item.kind, item.topic, rng, item_slots(ctx, item, rng))
        requester = 380_000_000_000 + item.customer.number * 17
        solved = rng.random() < 0.8
        updated = _before_month_end(ctx, item.at + timedelta(hours=rng.uniform(0.2, 30)))
        tickets.append(
            {
                "url": f"{ZENDESK}/api/v2/tickets/{next_id}.json",
                "id": next_id,
                "external_id": None,
                "via": {"channel": rng.choices(vias, via_weights)[0], "source": {"from": {}, "to": {}, "rel": None}},
                "created_at": _utc_z(item.at),
                "updated_at": _utc_z(updated),
                "type": "question" if item.kind == "question" else "incident",
                "subject": subject,
                "raw_subject": subject,
                "description": item.text,
                "priority": "high" if item.customer.segment == "vip" else rng.choice(("normal", "normal", "low")),
                "status": "solved" if solved else rng.choice(("open", "pending")),
                "recipient": "support@instrument-market.ru",
                "requester_id": requester,
                "submitter_id": requester,
                "assignee_id": 380_000_000_500 + rng.randint(0, 11),
                "organization_id": None,
                "group_id": 360_004_000_100,
                "collaborator_ids": [],
                "follower_ids": [],
                "forum_topic_id": None,
                "problem_id": None,
                "has_incidents": False,
                "is_public": True,
                "due_at": None,
                "tags": [item.topic, "web_widget"] if rng.random() < 0.3 else [item.topic],
                "custom_fields": [{"id": 360_012_345_678, "value": item.order_ref}],
                "satisfaction_rating": {"score": "offered" if solved else "unoffered"},
                "sharing_agreement_ids": [],
                "fields": [{"id": 360_012_345_678, "value": item.order_ref}],
                "brand_id": 360_000_123_456,
            }
        )
    result = ChannelResult(channel.id, items=items)
    chunks = pages(tickets, _page_size(channel, 100))
    for number, chunk in enumerate(chunks, start=1):
        after = f"eyJvIjoibmljZV9pZCIsInYiOiJhUT{number:04d}"
        more = number < len(chunks)
        body = {
            "tickets": chunk,
            "meta": {"has_more": more, "after_cursor": after, "before_cursor": f"eyJvIjoiLW5pY2VfaWQiLCJ2{number:04d}"},
            "links": {
                "prev": f"{ZENDESK}/api/v2/tickets.json?page%5Bbefore%5D=x{number:04d}&page%5Bsize%5D=100",
                "next": f"{ZENDESK}/api/v2/tickets.json?page%5Bafter%5D={after}&page%5Bsize%5D=100",
            },
        }
        path = channel_dir(ctx, channel) / f"tickets_{number:04d}.json"
        path.write_bytes(json_page(body))
        result.files.append(path)
        result.records += len(chunk)
    return result


# ---------------------------------------------------------- freshdesk_tickets (/api/v2/tickets pages)

FRESHDESK_SOURCES = ((1, 40), (2, 30), (3, 25), (7, 5))  # e-mail, portal, phone, chat


def write_freshdesk(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    sources, source_weights = zip(*FRESHDESK_SOURCES, strict=True)
    next_id = ctx.first_id(rng, 41_000, 42_000, stride=10**7)
    tickets = []
    for item in items:
        next_id += 1
        item.source_item_id = str(next_id)
        customer = item.customer
        subject = texts.email_subject(item.kind, item.topic, rng, item_slots(ctx, item, rng))
        status = rng.choices((2, 3, 4, 5), (15, 10, 35, 40))[0]  # open, pending, resolved, closed
        updated = _before_month_end(ctx, item.at + timedelta(hours=rng.uniform(0.5, 72)))
        tickets.append(
            {
                "cc_emails": [],
                "fwd_emails": [],
                "reply_cc_emails": [],
                "ticket_cc_emails": [],
                "fr_escalated": False,
                "spam": False,
                "email_config_id": 44_000_012_345,
                "group_id": 44_000_067_890,
                "priority": 3 if customer.segment == "vip" else rng.choice((1, 2, 2)),
                "requester_id": 44_010_000_000 + customer.number,
                "responder_id": 44_000_100_000 + rng.randint(0, 5) if status != 2 else None,
                "source": rng.choices(sources, source_weights)[0],
                "company_id": None,
                "status": status,
                "subject": subject,
                "association_type": None,
                "support_email": "service@instrument-market.ru",
                "to_emails": None,
                "product_id": None,
                "id": next_id,
                "type": "Question" if item.kind == "question" else "Incident",
                "due_by": _utc_z(item.at + timedelta(days=3)),
                "fr_due_by": _utc_z(item.at + timedelta(hours=8)),
                "is_escalated": False,
                "description": "<div>" + html.escape(item.text).replace("\n", "<br>") + "</div>",
                "description_text": item.text,
                "custom_fields": {"cf_order_number": item.order_ref, "cf_serial_number": None},
                "created_at": _utc_z(item.at),
                "updated_at": _utc_z(updated),
                "tags": ["гарантия"] if item.topic == "returns" else [],
                "attachments": [],
                "requester": {
                    "id": 44_010_000_000 + customer.number,
                    "name": customer.full_name,
                    "email": customer.email if rng.random() < 0.9 else None,
                    "mobile": None,
                    "phone": texts.phone_as_typed(customer.phone_digits, rng) if rng.random() < 0.6 else None,
                },
            }
        )
    result = ChannelResult(channel.id, items=items)
    for number, chunk in enumerate(pages(tickets, _page_size(channel, 100)), start=1):
        path = channel_dir(ctx, channel) / f"tickets_page_{number:04d}.json"
        path.write_bytes(json_page(chunk))  # the list endpoint answers a bare array
        result.files.append(path)
        result.records += len(chunk)
    return result


# ------------------------------------------------- bitrix24_activities (crm.activity.list, strings)

BITRIX_COMPANY_IDS = {name: str(1_101 + index * 2) for index, (name, _) in enumerate(COMPANIES)}
REVIEW_CALL_SHARE = 0.3  # of activities other than bare scores: a review call with a score
BAD_SCORES = ("отлично", "9 из 10", "высокая", "н/д")  # typed into the field by hand


def write_bitrix24(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("bad_score", 0), ctx.rng(channel.id, "bad"))
    planted_ids = {id(item) for item in planted}
    users = {m.id: str(501 + index * 4) for index, m in enumerate(ctx.org.managers)}
    owners = [m.id for m in ctx.org.managers if m.department_id == "key_accounts"] or [ctx.org.managers[0].id]
    next_id = ctx.first_id(rng, 88_000, 89_000, stride=10**8)
    activities = []
    result = ChannelResult(channel.id, items=items)
    for item in sorted(items + planted, key=lambda i: i.at):
        next_id += rng.randint(1, 6)  # tasks and other activities take ids too
        item.source_item_id = str(next_id)
        activity = _activity(ctx, item, users[rng.choice(owners)], rng)
        if id(item) in planted_ids:
            activity["RESULT_VALUE"] = rng.choice(BAD_SCORES)
            result.bad.append(
                BadRecord(
                    channel.id, "bad_score", "", item.source_item_id, f"RESULT_VALUE {activity['RESULT_VALUE']!r}"
                )
            )
        activities.append(activity)
    chunks = pages(activities, 50)  # Bitrix24 REST pages are 50 records, always
    files = {}
    for number, chunk in enumerate(chunks, start=1):
        body: dict[str, object] = {"result": chunk}
        if number < len(chunks):
            body["next"] = number * 50
        body["total"] = len(activities)
        body["time"] = _bitrix_time(ctx.month.end - timedelta(hours=1), number)
        path = channel_dir(ctx, channel) / f"crm_activity_list_{number:04d}.json"
        path.write_bytes(json_page(body))
        result.files.append(path)
        result.records += len(chunk)
        files.update({a["ID"]: ctx.relative(path) for a in chunk})
    result.bad = [
        BadRecord(b.channel_id, b.problem, files[b.source_item_id], b.source_item_id, b.detail) for b in result.bad
    ]
    return result


def _activity(ctx: Context, item: Item, user: str, rng: random.Random) -> dict[str, object]:
    customer = item.customer
    company = customer.company or next(iter(BITRIX_COMPANY_IDS))
    review = item.kind == "none" or rng.random() < REVIEW_CALL_SHARE
    kind = "review" if review else rng.choices(("call", "meeting", "email"), (50, 20, 30))[0]
    subject = rng.choice(texts.ACTIVITY_SUBJECTS[kind]).format(company=company)
    if not review:
        item.score = None  # only a review call asks the 0-10 question
    description, description_type = item.text, "1"
    if description and rng.random() < 0.25:  # written in the CRM's rich editor
        description, description_type = "<p>" + html.escape(description) + "</p>", "3"
    local = item.at.astimezone(ctx.month.tz)
    updated = _before_month_end(ctx, item.at + timedelta(minutes=rng.uniform(1, 600))).astimezone(ctx.month.tz)
    provider = {"call": "VOXIMPLANT_CALL", "review": "VOXIMPLANT_CALL", "meeting": "CRM_MEETING", "email": "CRM_EMAIL"}[
        kind
    ]
    by_company = rng.random() < 0.8
    return {
        "ID": item.source_item_id,
        "OWNER_ID": BITRIX_COMPANY_IDS[company] if by_company else str(20_000 + customer.number),
        "OWNER_TYPE_ID": "4" if by_company else "3",
        "TYPE_ID": {"VOXIMPLANT_CALL": "2", "CRM_MEETING": "1", "CRM_EMAIL": "4"}[provider],
        "PROVIDER_ID": provider,
        "PROVIDER_TYPE_ID": {"VOXIMPLANT_CALL": "CALL", "CRM_MEETING": "MEETING", "CRM_EMAIL": "EMAIL"}[provider],
        "PROVIDER_GROUP_ID": None,
        "ASSOCIATED_ENTITY_ID": "0",
        "SUBJECT": subject,
        "CREATED": local.isoformat(timespec="seconds"),
        "LAST_UPDATED": updated.isoformat(timespec="seconds"),
        "START_TIME": local.isoformat(timespec="seconds"),
        "END_TIME": (local + timedelta(minutes=rng.randint(5, 60))).isoformat(timespec="seconds"),
        "DEADLINE": local.isoformat(timespec="seconds"),
        "COMPLETED": "Y",
        "STATUS": "2",
        "RESPONSIBLE_ID": user,
        "PRIORITY": "2",
        "NOTIFY_TYPE": "1",
        "NOTIFY_VALUE": "15",
        "DESCRIPTION": description,
        "DESCRIPTION_TYPE": description_type,
        "DIRECTION": "2" if kind in ("review", "call") and rng.random() < 0.7 else "1",
        "LOCATION": "",
        "SETTINGS": [],
        "ORIGINATOR_ID": None,
        "ORIGIN_ID": None,
        "AUTHOR_ID": user,
        "EDITOR_ID": user,
        "PROVIDER_PARAMS": [],
        "PROVIDER_DATA": None,
        "RESULT_MARK": "0",
        "RESULT_VALUE": str(item.score) if item.score is not None else None,
        "RESULT_SUM": None,
        "RESULT_CURRENCY_ID": None,
        "RESULT_STATUS": "0",
        "RESULT_STREAM": "0",
        "RESULT_SOURCE_ID": None,
        "AUTOCOMPLETE_RULE": "0",
    }


def _bitrix_time(at: datetime, number: int) -> dict[str, object]:
    start = at.timestamp() + number * 2
    return {
        "start": round(start, 6),
        "finish": round(start + 0.42, 6),
        "duration": 0.42,
        "processing": 0.39,
        "date_start": datetime.fromtimestamp(start, at.tzinfo).isoformat(timespec="seconds"),
        "date_finish": datetime.fromtimestamp(start + 0.42, at.tzinfo).isoformat(timespec="seconds"),
        "operating_reset_at": datetime.fromtimestamp(start + 600, at.tzinfo).isoformat(timespec="seconds"),
        "operating": 0.0162,
    }


# ------------------------------------------------ b2b_account_notes (XLSX per manager per month)

NOTES_HEADER = ("№ заметки", "Дата", "Менеджер", "Компания", "ИНН клиента", "Сегмент", "Контактное лицо", "Заметка")
COMPANY_INNS = {
    name: f"77{index + 1:02d}{(index + 3) * 104_729 % 10**6:06d}" for index, (name, _) in enumerate(COMPANIES)
}


def write_b2b_notes(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    managers = [m.id for m in ctx.org.managers if m.department_id == "key_accounts"] or [ctx.org.managers[0].id]
    notes: dict[str, list[list[object]]] = defaultdict(list)
    for item in items:
        manager = rng.choice(managers)
        login = manager.removeprefix("m_")
        item.source_item_id = f"AM-{login}-{ctx.month.yymm}-{len(notes[manager]) + 1:03d}"
        company = item.customer.company or COMPANIES[0][0]
        day = item.at.date()
        typed: date | str = day if rng.random() < 0.8 else day.strftime("%d.%m.%Y")
        notes[manager].append(
            [
                item.source_item_id,
                typed,
                manager,
                company,
                COMPANY_INNS[company],
                "b2b",
                item.customer.fio_short,
                item.text,
            ]
        )
    result = ChannelResult(channel.id, items=items)
    for manager, rows in sorted(notes.items()):
        path = channel_dir(ctx, channel) / f"notes_{manager}_{ctx.month.label}.xlsx"
        write_workbook(
            path,
            NOTES_HEADER,
            rows,
            created=datetime(ctx.month.year, ctx.month.month, 1),
            sheet="Заметки",
            widths=(18, 12, 14, 26, 14, 8, 22, 80),
        )
        result.files.append(path)
        result.records += len(rows)
    return result
