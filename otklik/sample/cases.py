"""crm_case_events and erp_orders_monthly: what the CRM and the ERP export for the month.

A case is opened for every complaint, every question and every "contact me" request, a few
minutes after the item arrived, and is owned by the business process the item is about (a
store's manager for a store, logistics for delivery, and so on). Its life, in CRM events:

    opened → first_contact → [under_review] → [waiting_customer → resumed] → resolved → closed
           → [reopened → resolved → closed]     (the head's check found it not really closed)

Most cases close within 24 hours, some later; first contact mostly within the hour, later at
night. About one case in seven goes under review (a warehouse check, a supplier's or the service
centre's answer) after the first contact; about 3% are reopened after closing (returned cases,
under additional control). The export is a snapshot at the end of the month: events after it are
not there yet, so the month's last cases and a few stuck ones are still open. ``plan_cases``
decides the cases once; the CRM export and the close-the-loop final survey (answered after a case
closes) both read them.

Two kinds of case get their first contact their own way (drawn from a stream of their own):

- VIP customers (the customer base's ``vip`` segment, people.SEGMENTS: the loyalty programme's
  top tier, about 6% of the customers) have their cases flagged priority ``vip`` and get a call
  back within 5 minutes (the vip_callback_5m policy), day and night, except for a late tail when
  the VIP line is busy: about 85% on time.
- A chat or messenger message (CHAT_REPLY_MEDIAN_MINUTES) opens its case through the omnichannel
  integration seconds after it arrives, and the case's first_contact is the operator's first
  reply in the conversation: the chat exports carry the customers' messages only (channels.yaml,
  website_chat), so the CRM's first_contact is where the chat_first_reply_5m clock stops. Most
  replies come within 5 minutes, slower at night.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from otklik.sample.model import ChannelResult, Context, Item
from otklik.sample.writers import channel_dir, csv_bytes, iso_seconds
from transforms.channels import Channel
from transforms.org import Org
from transforms.org.org import Store

# Topic -> (department, weight); a store's cases go to the store's own manager instead.
TOPIC_DEPARTMENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "delivery": (("delivery", 1.0),),
    "website": (("website", 1.0),),
    "app": (("mobile_app", 1.0),),
    "payment": (("payments", 1.0),),
    "returns": (("refunds", 1.0),),
    "corporate": (("key_accounts", 1.0),),
    "call_centre": (("contact_centre", 1.0),),
}
PICKING_WORDS = (
    "пересорт",
    "не хватает позиции",
    "не та модель",
    "другую модель",
)  # → warehouse, not delivery

# The project's convention (channels.yaml, email_inbox): an e-mail's id is its Message-ID without
# angle brackets, as transforms.readers.eml reads it, so the CRM export refers to it that way.
EMAIL_REF_KEEPS_ANGLE_BRACKETS = False

# Share of cases taking each detour.
UNDER_REVIEW = 0.15
WAITING_CUSTOMER = 0.08
LATE_CLOSE = 0.12  # closed after more than 24 hours
REOPEN = 0.03
STUCK = 0.015  # never resolved within the month
SLOW_FIRST_CONTACT = 0.12

# VIP cases: the share called back after the 5 minutes of vip_callback_5m (the VIP line was busy).
VIP_LATE_CALLBACK = 0.14
# Chats and messengers (the channels of the chat_first_reply_5m policy): the median minutes from the
# customer's message to the operator's first reply (lognormal, CHAT_REPLY_SIGMA), longer at night
# when fewer operators are on shift (NIGHT_HOURS, reporting time: NIGHT_REPLY_FACTOR times longer).
CHAT_REPLY_MEDIAN_MINUTES = {
    "website_chat": 1.5,
    "telegram_bot": 2.0,
    "vk_messages": 2.0,
    "whatsapp": 1.8,
}
CHAT_REPLY_SIGMA = 0.75
NIGHT_REPLY_FACTOR = 2.0
NIGHT_HOURS = frozenset((23, 0, 1, 2, 3, 4, 5, 6, 7))

# Orders a month per directorate at 25,000 feedback items (scaled with the item count).
ORDERS_AT_25K = {
    "retail": 61_000,
    "ecommerce": 44_000,
    "logistics": 19_000,
    "finance": 8_500,
    "customer_service": 6_500,
    "corporate_sales": 2_400,
}

CASE_EVENT_HEADER = (
    "case_id",
    "event",
    "event_at",
    "feedback_id",
    "directorate",
    "department",
    "manager",
    "priority",
)


@dataclass(frozen=True)
class Owner:
    directorate: str
    department: str
    manager: str


class Router:
    """Who owns an item's case, from the org structure."""

    def __init__(self, org: Org) -> None:
        self._org = org
        self._departments = {dep.id for d in org.directorates for dep in d.departments}
        self._managers: dict[str, list[str]] = defaultdict(list)
        for manager in org.managers:
            self._managers[manager.department_id].append(manager.id)
        self._fallback = org.directorates[-1].departments[0].id

    def _owner(self, department: str, manager: str | None = None) -> Owner:
        if department not in self._departments:
            department = self._fallback
        if manager is None:
            managers = self._managers.get(department, [])
            manager = managers[0] if managers else ""
        return Owner(self._org.directorate_of_department(department), department, manager)

    def route(self, item: Item, rng: random.Random) -> Owner:
        if item.topic == "store":
            return self._store_owner(item.store)
        if item.topic == "delivery" and any(word in item.text for word in PICKING_WORDS):
            return self._owner("warehouse")
        departments, weights = zip(*TOPIC_DEPARTMENTS.get(item.topic, (("contact_centre", 1.0),)), strict=True)
        return self._owner(rng.choices(departments, weights)[0])

    def _store_owner(self, store: Store) -> Owner:
        department = next(m.department_id for m in self._org.managers if m.id == store.manager_id)
        return self._owner(department, store.manager_id)


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def case_lifecycle(
    opened: datetime, rng: random.Random, *, first_contact: timedelta | None = None
) -> list[tuple[str, datetime]]:
    """The events of one case, strictly in time order (the export cut comes later).

    ``first_contact``: the delay from opening to the first contact when it is decided elsewhere
    (a VIP callback, an operator's reply in a chat: ``first_contact_delay``); at least a minute.
    """
    events = [("opened", opened)]
    now = opened

    def step(event: str, delay: timedelta) -> None:
        nonlocal now
        now = now + max(delay, timedelta(minutes=1))
        events.append((event, now))

    if first_contact is not None:
        first = first_contact
    else:
        if rng.random() < SLOW_FIRST_CONTACT:
            first = _minutes(rng, 60, 8 * 60)
        else:
            first = timedelta(minutes=min(rng.expovariate(1 / 18), 59))
        local_hour = (opened + first).hour
        if (local_hour >= 22 or local_hour < 8) and rng.random() < 0.7:  # the night shift is thin
            morning = (opened + first).replace(hour=9, minute=0, second=0)
            if morning < opened + first:
                morning += timedelta(days=1)
            first = morning - opened + _minutes(rng, 0, 50)
    step("first_contact", first)
    if rng.random() < UNDER_REVIEW:
        step("under_review", _minutes(rng, 10, 180))
    if rng.random() < WAITING_CUSTOMER:
        step("waiting_customer", _minutes(rng, 5, 90))
        step("resumed", _minutes(rng, 60, 20 * 60))
    if rng.random() < STUCK:
        return events  # nobody finishes it this month
    if rng.random() < LATE_CLOSE:
        target = timedelta(hours=rng.uniform(25, 6 * 24))
    else:
        target = timedelta(hours=min(rng.lognormvariate(1.2, 0.9), 23.0))
    resolved_at = max(opened + target - _minutes(rng, 1, 40), now + timedelta(minutes=5))
    step("resolved", resolved_at - now)
    step("closed", _minutes(rng, 1, 40))
    if rng.random() < REOPEN:
        step("reopened", timedelta(hours=rng.uniform(4, 72)))
        step("resolved", timedelta(hours=rng.uniform(1, 30)))
        step("closed", _minutes(rng, 1, 30))
    return events


def feedback_ref(item: Item) -> str:
    """The CRM's reference to the item that opened the case: "<channel_id>:<source_item_id>"."""
    if item.channel_id == "email_inbox" and not EMAIL_REF_KEEPS_ANGLE_BRACKETS:
        return f"{item.channel_id}:{item.source_item_id.strip('<>')}"
    return item.feedback_id


def _priority(item: Item, rng: random.Random) -> str:
    if item.customer.segment == "vip":
        return "vip"
    if item.topic == "corporate":
        return "high" if rng.random() < 0.5 else "normal"
    if item.kind == "complaint":
        return "high" if rng.random() < 0.2 else "normal"
    return "low" if rng.random() < 0.4 else "normal"


def _case_opened(item: Item, rng: random.Random, chat_rng: random.Random) -> datetime:
    if item.channel_id == "store_complaint_book":  # typed into the CRM when the shift ends
        return item.at + _minutes(rng, 30, 6 * 60)
    if item.channel_id in CHAT_REPLY_MEDIAN_MINUTES:  # the omnichannel integration opens it at once
        return item.at + timedelta(seconds=chat_rng.randint(2, 30))
    return item.at + timedelta(minutes=min(2 + rng.expovariate(1 / 6), 45), seconds=rng.randrange(60))


def first_contact_delay(item: Item, priority: str, opened: datetime, rng: random.Random) -> timedelta | None:
    """From opening to the first contact for a VIP case (the callback) or a chat or messenger case
    (the operator's first reply, timed from the customer's message); None for every other case."""
    if priority == "vip":
        late = rng.random() < VIP_LATE_CALLBACK
        return timedelta(minutes=rng.uniform(5.5, 40) if late else rng.uniform(1, 4.5))
    median = CHAT_REPLY_MEDIAN_MINUTES.get(item.channel_id)
    if median is None:
        return None
    if item.at.hour in NIGHT_HOURS:
        median *= NIGHT_REPLY_FACTOR
    reply_at = item.at + timedelta(minutes=rng.lognormvariate(math.log(median), CHAT_REPLY_SIGMA))
    return reply_at - opened  # a reply within the case's first minute comes a minute after opening


@dataclass(frozen=True)
class Case:
    """One CRM case as the month's export shows it: its events up to the end of the month."""

    case_id: str
    item: Item
    owner: Owner
    priority: str
    events: tuple[tuple[str, datetime], ...]  # (event, when in the reporting timezone), in time order

    @property
    def closed_at(self) -> datetime | None:
        """The first closing (a reopened case was closed before its reopening)."""
        return next((at for event, at in self.events if event == "closed"), None)


def plan_cases(ctx: Context, channel: Channel, items: list[Item]) -> list[Case]:
    """The cases the items open, in opening order, with their events cut at the month's end."""
    rng = ctx.rng(channel.id)
    fast = ctx.rng(channel.id, "first_contact")  # chat replies and VIP callbacks: a stream of their own
    router = Router(ctx.org)
    month_end = ctx.month.end
    opening = sorted(
        ((_case_opened(item, rng, fast), item) for item in items if item.opens_case and item.source_item_id),
        key=lambda pair: (pair[0], pair[1].feedback_id),
    )
    tz = ctx.month.tz
    cases: list[Case] = []
    for opened, item in opening:
        if opened >= month_end:
            continue  # arrived in the last minutes: the CRM case exists only next month
        case_id = f"CS-{ctx.month.year % 100:02d}{ctx.month.month:02d}-{len(cases) + 1:06d}"
        owner = router.route(item, rng)
        priority = _priority(item, rng)
        events = []
        first_contact = first_contact_delay(item, priority, opened, fast)
        for event, at in case_lifecycle(opened, rng, first_contact=first_contact):
            if at >= month_end:
                break
            events.append((event, at.astimezone(tz).replace(microsecond=0)))
        cases.append(Case(case_id, item, owner, priority, tuple(events)))
    return cases


def write_case_events(ctx: Context, channel: Channel, cases: list[Case]) -> ChannelResult:
    """One CSV per day of events."""
    rows_by_day: dict[str, list[tuple[datetime, str, int, list[object]]]] = defaultdict(list)
    for case in cases:
        for seq, (event, at) in enumerate(case.events):
            row = [
                case.case_id,
                event,
                iso_seconds(at),
                feedback_ref(case.item),
                case.owner.directorate,
                case.owner.department,
                case.owner.manager,
                case.priority,
            ]
            rows_by_day[at.date().isoformat()].append((at, case.case_id, seq, row))
    result = ChannelResult(channel.id)
    folder = channel_dir(ctx, channel)
    delimiter = channel.reader.delimiter or ","
    for day, rows in sorted(rows_by_day.items()):
        path = folder / f"case_events_{day}.csv"
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        path.write_bytes(csv_bytes(CASE_EVENT_HEADER, [r[3] for r in rows], delimiter=delimiter))
        result.files.append(path)
        result.records += len(rows)
    return result


def write_orders(ctx: Context, channel: Channel, items: int) -> ChannelResult:
    rng = ctx.rng(channel.id)
    rows = []
    for directorate in ctx.org.directorates:
        base = ORDERS_AT_25K.get(directorate.id, 3_000) * items / 25_000
        rows.append([ctx.month.label, directorate.id, max(1, round(base * rng.uniform(0.95, 1.05)))])
    path = channel_dir(ctx, channel) / f"orders_{ctx.month.label}.csv"
    path.write_bytes(csv_bytes(("month", "directorate", "orders"), rows, delimiter=channel.reader.delimiter or ","))
    return ChannelResult(channel.id, files=[path], records=len(rows))
