"""`otklik generate`: a deterministic landing folder of native-format exports for one month.

``<landing_dir>/<channel_id>/<files>``, one folder per channel of the registry. The same seed,
month and item count give byte-identical files: every random choice comes from a
``random.Random`` seeded from (seed, purpose), nothing reads the clock, and the XLSX and e-mail
writers pin the timestamps and MIME boundaries their libraries would otherwise invent.

Deliberately bad input (about 0.5% of the items, at least one of each) is planted for the
quarantine; ``GenerationSummary.bad_records`` lists every one with its file and id:

==================== ===================== ==================================================
channel              problem               what
==================== ===================== ==================================================
nps_email_survey     out_of_range_score    recommend_score 11 on the 0-10 scale
nps_email_survey     missing_id            empty response_id
nps_email_survey     duplicate             a response exported again at the top of the next
                                           day's file (byte-identical row)
ivr_post_call_survey out_of_range_score    Оценка 9 on the 1-5 scale
web_form             missing_id            empty id
telegram_bot         duplicate             an update delivered again in the next day's file
telegram_bot         broken_json           a line cut off in the middle of the JSON object
inapp_popup_rating   broken_json           a line cut off in the middle of the JSON object
store_complaint_book future_date           Дата typed as text with the year 2062
sms_survey_replies   out_of_range_score    a reply "10" to a 1-5 question
call_centre_notes    wrong_encoding        calls re-saved in Excel as UTF-16 "Unicode text"
                                           in a UTF-8 channel: the whole file is quarantined
bitrix24_activities  bad_score             RESULT_VALUE typed as words ("отлично")
whatsapp             duplicate             a webhook delivered again (same message object)
self_service_        bad_outcome           a session logged with the outcome "timeout", which
sessions                                   the log's shape does not define
==================== ===================== ==================================================

Bad records are extra: ``items`` counts valid items only, and no CRM case points at a bad one.
The close-the-loop final survey (ctl_final_survey: one line per response with both answers) is
written after the CRM cases are planned: its responses come from closed cases and name them in
``case_id``. Its share of ``items`` is capped by the responses the month's closed cases give.
The self-service sessions (self_service_sessions, otklik.sample.selfservice) are items too, about
12% of the customers' ones; like the final survey and the employees' eNPS answers they open no case.
The review site's Atom feed (review_site_feed, otklik.sample.feeds) is written on top of ``items``
(about 1% more, ``ON_TOP_WRITERS``): its reviews are answered on the site and open no case, and
adding it changed no other channel's files; so are the Telegram support chats exported by hand
(telegram_chat_export, otklik.sample.telegram_export).
"""

import csv
import io
import json
import random
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import xlsxwriter

from otklik.sample import (
    cases,
    feeds,
    helpdesk,
    mail,
    marketplaces,
    messengers,
    selfservice,
    surveys,
    telegram_export,
    texts,
    writers,
)
from otklik.sample.crm_customers import CustomerBook, write_customer_statuses
from otklik.sample.items import make_items, profile_for
from otklik.sample.model import (
    BadRecord,
    ChannelOutput,
    ChannelResult,
    Context,
    GenerationSummary,
    Item,
    Month,
    Mood,
)
from otklik.sample.people import Customer, make_customers
from transforms.channels import Channel, load_channels
from transforms.org import load_org

BAD_SHARE = 0.005
# (channel, problem, weight): how the bad records are spread.
BAD_PLAN = (
    ("nps_email_survey", "out_of_range_score", 20),
    ("nps_email_survey", "missing_id", 5),
    ("nps_email_survey", "duplicate", 15),
    ("ivr_post_call_survey", "out_of_range_score", 10),
    ("web_form", "missing_id", 20),
    # Not planted: an e-mail without Message-ID. transforms.readers.eml gives such a file a
    # content-hash id instead of rejecting it, so it would be a valid item, not a bad record.
    ("telegram_bot", "duplicate", 10),
    ("telegram_bot", "broken_json", 8),
    ("inapp_popup_rating", "broken_json", 7),
    ("store_complaint_book", "future_date", 5),
    ("sms_survey_replies", "out_of_range_score", 6),
    ("call_centre_notes", "wrong_encoding", 5),
    ("bitrix24_activities", "bad_score", 3),
    ("whatsapp", "duplicate", 6),
    ("self_service_sessions", "bad_outcome", 5),
)

WRITERS: dict[str, writers.Writer] = {
    "nps_email_survey": writers.write_nps,
    "ivr_post_call_survey": writers.write_ivr,
    "yandex_market_reviews": writers.write_yandex_market,
    "telegram_bot": writers.write_telegram,
    "inapp_popup_rating": writers.write_inapp,
    "store_complaint_book": writers.write_complaint_book,
    "email_inbox": mail.write_email,
    "web_form": writers.write_web_form,
    "licence_expiry_survey": surveys.write_licence_survey,
    "sms_survey_replies": surveys.write_sms_survey,
    "employee_pulse_survey": surveys.write_employee_survey,
    "call_centre_notes": messengers.write_call_notes,
    "website_chat": messengers.write_website_chat,
    "self_service_sessions": selfservice.write_self_service,
    "vk_messages": messengers.write_vk_messages,
    "vk_wall_comments": messengers.write_vk_wall_comments,
    "whatsapp": messengers.write_whatsapp,
    "claims_mailbox": mail.write_mbox,
    "ozon_reviews": marketplaces.write_ozon,
    "wildberries_feedbacks": marketplaces.write_wildberries,
    "google_play_reviews": marketplaces.write_google_play,
    "app_store_reviews": marketplaces.write_app_store,
    "yandex_maps_reviews": marketplaces.write_yandex_maps,
    "twogis_reviews": marketplaces.write_twogis,
    "zendesk_tickets": helpdesk.write_zendesk,
    "freshdesk_tickets": helpdesk.write_freshdesk,
    "bitrix24_activities": helpdesk.write_bitrix24,
    "b2b_account_notes": helpdesk.write_b2b_notes,
}
# Written after the CRM cases are planned: the final survey's responses judge closed cases.
FINAL_SURVEY_CHANNELS = ("ctl_final_survey",)
# Written on top of the month's ``items``, after everything else: their count is their profile's
# share of ``items``, taken from no other channel, and their items open no CRM case, so that adding
# one left every other channel's files byte-identical (the review site's feed came after the others).
ON_TOP_WRITERS: dict[str, writers.Writer] = {
    "review_site_feed": feeds.write_review_site_feed,
    "telegram_chat_export": telegram_export.write_telegram_chat_export,
}


def generate_landing(
    landing_dir: Path,
    *,
    month: str = "2026-10",
    items: int = 25_000,
    seed: int = 42,
    overwrite: bool = False,
    truth: bool = False,
    channels: Sequence[Channel] | None = None,
    mood: Mood | None = None,
    customers: Sequence[Customer] | None = None,
    orders_basis: int | None = None,
    customer_book: CustomerBook | None = None,
) -> GenerationSummary:
    """Write a month of sample exports for every channel in the registry into ``landing_dir``.

    ``items`` valid feedback items are spread over the feedback channels (the channels of
    ``ON_TOP_WRITERS`` add their share on top); the CRM case events and the ERP order counts follow
    from them. A channel folder that already holds files is an
    error unless ``overwrite`` (then the registry's channel folders, and only they, are emptied
    first). ``truth`` also writes ``.truth/items.csv`` (dot folder: ingestion skips it): each
    item's feedback_id, kind, topic and case, and each planted bad record, for measuring the
    classifier and reconciling counts end to end. ``channels`` replaces the registry (tests).
    ``mood``, ``customers`` and ``orders_basis`` are for a history (otklik.sample.history): the
    month's kind and topic factors, a customer base shared by the months, and the item count the
    ERP's order counts follow (default ``items``: orders scale with the month's volume);
    ``customer_book`` carries the CRM's customer statuses from month to month (a fresh book opens
    every customer's card in this month's export).
    A feedback channel without a writer of its own gets records built from its ``fields`` map.
    """
    if items < 0:
        raise ValueError("items must be >= 0")
    landing_dir = Path(landing_dir)
    channels = tuple(channels) if channels is not None else load_channels()
    org = load_org()
    ctx = Context(
        seed=seed,
        month=Month.parse(month, org.company.reporting_timezone),
        org=org,
        customers=[],
        landing_dir=landing_dir,
        mood=mood or Mood(),
    )
    _prepare(landing_dir, channels, overwrite)
    ctx.customers = (
        list(customers) if customers is not None else make_customers(max(50, int(items * 0.7)), ctx.rng("customers"))
    )

    feedback_channels = [c for c in channels if c.entity == "feedback"]
    shared = [c for c in feedback_channels if c.id not in ON_TOP_WRITERS]
    counts = _allocate(items, {c.id: profile_for(c.id).share for c in shared})
    bad_plan = _bad_plan(items, {c.id for c in feedback_channels})

    results: dict[str, ChannelResult] = {}
    all_items: list[Item] = []
    for channel in shared:
        if channel.id in FINAL_SURVEY_CHANNELS:
            continue
        writer = WRITERS.get(channel.id, _generic_writer)
        result = writer(ctx, channel, counts[channel.id], bad_plan.get(channel.id, {}))
        results[channel.id] = result
        all_items.extend(result.items)

    planned = {c.id: cases.plan_cases(ctx, c, all_items) for c in channels if c.entity == "case_event"}
    answers = surveys.final_survey_answers(ctx, next(iter(planned.values()), []))
    for channel in feedback_channels:
        if channel.id in FINAL_SURVEY_CHANNELS:
            result = surveys.write_final_survey(ctx, channel, counts[channel.id], answers)
            results[channel.id] = result
            all_items.extend(result.items)

    n_cases = n_events = 0
    for channel in channels:
        if channel.entity == "case_event":
            result = cases.write_case_events(ctx, channel, planned[channel.id])
            n_cases += len(planned[channel.id])
            n_events += result.records
            results[channel.id] = result
        elif channel.entity == "order_count":
            results[channel.id] = cases.write_orders(ctx, channel, items if orders_basis is None else orders_basis)
        elif channel.entity == "customer_status":
            recommend = {c.id for c in feedback_channels if c.question_type == "nps" and c.audience == "customer"}
            book = customer_book if customer_book is not None else CustomerBook()
            results[channel.id] = write_customer_statuses(ctx, channel, all_items, recommend, book)

    for channel in feedback_channels:
        if channel.id in ON_TOP_WRITERS:
            count = round(items * profile_for(channel.id).share)
            result = ON_TOP_WRITERS[channel.id](ctx, channel, count, bad_plan.get(channel.id, {}))
            results[channel.id] = result
            all_items.extend(result.items)

    outputs = []
    for channel in channels:
        result = results[channel.id]
        valid = len(result.items) if channel.entity == "feedback" else result.records
        outputs.append(ChannelOutput(channel.id, tuple(result.files), result.records, valid, len(result.bad)))
    bad = tuple(record for channel in channels for record in results[channel.id].bad)
    if truth:
        _write_truth(ctx, all_items, bad)
    return GenerationSummary(
        landing_dir=landing_dir,
        month=ctx.month.label,
        seed=seed,
        channels=tuple(outputs),
        items=len(all_items),
        cases=n_cases,
        case_events=n_events,
        bad_records=bad,
    )


def _prepare(landing_dir: Path, channels: tuple[Channel, ...], overwrite: bool) -> None:
    occupied = [c.id for c in channels if (landing_dir / c.id).is_dir() and any((landing_dir / c.id).iterdir())]
    if occupied and not overwrite:
        raise FileExistsError(f"{landing_dir} already holds files for {occupied}; pass overwrite=True to replace them")
    for channel_id in occupied:
        shutil.rmtree(landing_dir / channel_id)
    landing_dir.mkdir(parents=True, exist_ok=True)


def _allocate(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Largest remainder: integer counts proportional to shares, summing to total."""
    if not shares:
        return {}
    weight = sum(shares.values())
    exact = {key: total * share / weight for key, share in shares.items()}
    counts = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - counts[key]), key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _bad_plan(items: int, channel_ids: set[str]) -> dict[str, dict[str, int]]:
    """channel -> problem -> count: about BAD_SHARE of the items, at least one of each kind."""
    plan = [(c, p, w) for c, p, w in BAD_PLAN if c in channel_ids]
    if not plan or items == 0:
        return {}
    total = max(len(plan), round(items * BAD_SHARE))
    counts = _allocate(total - len(plan), {f"{c}|{p}": w for c, p, w in plan})
    result: dict[str, dict[str, int]] = {}
    for key, extra in counts.items():
        channel_id, problem = key.split("|")
        result.setdefault(channel_id, {})[problem] = 1 + extra
    return result


def _generic_writer(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    """A feedback channel without a writer of its own: records built from its ``fields`` map."""
    if channel.format == "eml":
        return mail.write_email(ctx, channel, n, bad)
    if channel.format == "mbox":
        return mail.write_mbox(ctx, channel, n, bad)
    rng = ctx.rng(channel.id)
    scale = channel.score_scale if channel.score_scale in ("0-10", "1-5") else "0-10"
    items = make_items(ctx, channel.id, scale, n, rng)
    records = []
    for number, item in enumerate(items, start=1):
        item.source_item_id = f"{channel.id[:3].upper()}{ctx.month.yymm}{number:07d}"
        if channel.score_scale == "1-7" and item.score is not None:
            item.score = 1 + round(item.score * 0.6)
        elif channel.score_scale == "yes_no" and item.score is not None:
            item.score = None
            item.extra["solved"] = "yes" if item.kind != "complaint" else "no"
        elif channel.score_scale == "none":
            item.score = None
        records.append(_generic_record(channel, item, rng))
    result = ChannelResult(channel.id, items=items)
    folder = writers.channel_dir(ctx, channel)
    if channel.format == "xml_feed":
        path = folder / f"{channel.id}_{ctx.month.label}.xml"
        header = {"id": f"urn:otklik:sample:{channel.id}", "title": channel.display_name}
        path.write_bytes(feeds.feed_document(header, [_nest(r) for r in records], dict(channel.reader.namespaces)))
        result.files.append(path)
    elif channel.format in ("jsonl", "json_pages"):
        chunks = [records[i : i + writers.PAGE_SIZE] for i in range(0, len(records), writers.PAGE_SIZE)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            if channel.format == "jsonl":
                path = folder / f"{channel.id}_{number:04d}.jsonl"
                path.write_bytes("".join(writers.json_line(_nest(r)) + "\n" for r in chunk).encode("utf-8"))
            else:
                path = folder / f"page_{number:04d}.json"
                page: object = [_nest(r) for r in chunk]
                for key in reversed((channel.reader.records_path or "").split(".")):
                    page = {key: page} if key else page
                path.write_bytes(json.dumps(page, ensure_ascii=False, indent=2).encode("utf-8"))
            result.files.append(path)
    else:
        header = list(dict.fromkeys(key for r in records[:1] for key in r)) or _columns(channel)
        rows = [[r.get(column, "") for column in header] for r in records]
        if channel.format == "xlsx":
            path = folder / f"{channel.id}_{ctx.month.label}.xlsx"
            _generic_workbook(path, header, rows, ctx)
        else:
            path = folder / f"{channel.id}_{ctx.month.label}.csv"
            path.write_bytes(
                writers.csv_bytes(
                    header,
                    rows,
                    delimiter=channel.reader.delimiter or ",",
                    encoding=channel.reader.encoding or "utf-8",
                )
            )
        result.files.append(path)
    result.records = len(records)
    return result


def _columns(channel: Channel) -> list[str]:
    paths: list[str] = []
    for source in channel.fields.values():
        paths.extend([source] if isinstance(source, str) else source)
    return list(dict.fromkeys(paths))


def _generic_record(channel: Channel, item: Item, rng: random.Random) -> dict[str, object]:
    customer = item.customer
    values: dict[str, object] = {
        "source_item_id": item.source_item_id,
        "body_text": item.text,
        "score": item.score if item.score is not None else item.extra.get("solved", ""),
        "customer_ref": customer.customer_id,
        "contact_phone": customer.phone_e164,
        "contact_email": customer.email,
        "contact_requested": "yes" if item.contact_requested else "no",
        "store_id": item.store.id,
        "order_ref": item.order_ref,
        "segment": customer.segment,
        "device": "web",
        "issue_solved": "нет" if item.kind == "complaint" else "да",
    }
    if "self_service_outcome" in channel.fields:  # drawn only where mapped: other channels' streams stay
        values["self_service_outcome"] = rng.choice(("resolved", "resolved", "escalated", "abandoned"))
    record: dict[str, object] = {}
    for name, source in channel.fields.items():
        if name == "received_at":
            record.update(_timestamp(channel, item.at, source))
            continue
        paths = [source] if isinstance(source, str) else source
        record.setdefault(paths[0], values.get(name, ""))
        for path in paths[1:]:  # e.g. pros and cons beside the comment
            extra = rng.choice(texts.PROS if item.kind == "thanks" else texts.CONS) if rng.random() < 0.5 else ""
            record.setdefault(path, extra if name == "body_text" else "")
    return record


def _timestamp(channel: Channel, at: datetime, source: str | list[str]) -> dict[str, object]:
    paths = [source] if isinstance(source, str) else source
    fmt = channel.timestamp_format
    if fmt == "epoch":
        return {paths[0]: int(at.timestamp())}
    if fmt == "epoch_ms":
        return {paths[0]: int(at.timestamp()) * 1000}
    if fmt is None:
        return {paths[0]: at.isoformat(timespec="seconds")}
    local = at.astimezone(ZoneInfo(channel.timezone))
    parts = fmt.split(" ", len(paths) - 1) if len(paths) > 1 else [fmt]
    return {path: local.strftime(part) for path, part in zip(paths, parts, strict=False)}


def _nest(record: dict[str, object]) -> dict[str, object]:
    nested: dict[str, object] = {}
    for path, value in record.items():
        node = nested
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})  # type: ignore[assignment]
        node[leaf] = value
    return nested


def _generic_workbook(path: Path, header: list[str], rows: list[list[object]], ctx: Context) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"created": datetime(ctx.month.year, ctx.month.month, 1)})
    sheet = workbook.add_worksheet()
    for column, title in enumerate(header):
        sheet.write_string(0, column, title)
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            sheet.write_string(row_number, column, "" if value is None else str(value))
    workbook.close()


def _write_truth(ctx: Context, items: list[Item], bad: tuple[BadRecord, ...]) -> None:
    folder = ctx.landing_dir / ".truth"
    folder.mkdir(exist_ok=True)
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(
        (
            "feedback_id",
            "channel_id",
            "received_at",
            "kind",
            "topic",
            "score",
            "contact_requested",
            "opens_case",
            "store_id",
            "segment",
            "issue_solved",  # the final survey's "Was your issue solved?": 1 / 0, else empty
            "self_service_outcome",  # a self-service session's outcome, else empty
        )
    )
    for item in sorted(items, key=lambda i: (i.channel_id, i.at, i.source_item_id)):
        out.writerow(
            (
                item.feedback_id,
                item.channel_id,
                item.at.isoformat(timespec="seconds"),
                item.kind,
                item.topic,
                "" if item.score is None else item.score,
                int(item.contact_requested),
                int(item.opens_case),
                item.store.id if item.topic == "store" else "",
                item.customer.segment,
                "" if "issue_solved" not in item.extra else int(bool(item.extra["issue_solved"])),
                item.extra.get("self_service_outcome", ""),
            )
        )
    (folder / "items.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(("channel_id", "problem", "file", "source_item_id", "detail"))
    out.writerows((b.channel_id, b.problem, b.file, b.source_item_id, b.detail) for b in bad)
    (folder / "bad_records.csv").write_bytes(buffer.getvalue().encode("utf-8"))
