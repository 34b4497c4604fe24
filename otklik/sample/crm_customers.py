"""The CRM's customer-status history: who is a customer now, who refused, who churned.

One ``CustomerBook`` follows the customer base through the months of a history (one month for a
single ``otklik generate``). Its first month writes every customer's card opening (status
``current``, on a day between 2018 and two months before the month). Every month after that:

- a current customer whose last answer to a recommend question (0-10, in the twelve months
  before the month) was a detractor's (0-6) leaves with a 3.5 % monthly chance, a passive's
  1.8 %, a promoter's 1.0 % (the mechanism the review's churn-by-NPS table must find: detractors
  leave 3.5 times as often as promoters);
- a current customer with no such answer leaves with a monthly chance by segment (b2c 1.2 %, b2b
  0.6 %, vip 0.4 %);
- a leaver leaves on a random moment of the month;
- a leaver either refused (said no: 40 %, 60 % for b2b) or churned (stopped buying);
- a lost customer comes back (current again) with a 4 % monthly chance.

The export is semicolon-separated with Moscow wall-clock times, phone written as people type it;
one file per month: ``customer_statuses_<YYYY-MM>.csv``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from otklik.sample.model import ChannelResult, Context, Item
from otklik.sample.people import Customer
from otklik.sample.writers import channel_dir, csv_bytes

HEADER = ("ID клиента", "Телефон", "E-mail", "Сегмент", "Статус", "Дата изменения статуса")
LEAVE_AFTER_ANSWER = {"detractor": 0.035, "passive": 0.018, "promoter": 0.010}
LEAVE_BASELINE = {"b2c": 0.012, "b2b": 0.006, "vip": 0.004}
REFUSED_SHARE = {"b2b": 0.6}
REFUSED_SHARE_DEFAULT = 0.4
COME_BACK = 0.04


@dataclass
class CustomerBook:
    """The status of every customer as the CRM knows it, carried from month to month."""

    opened: bool = False
    status: dict[str, str] = field(default_factory=dict)  # customer_id -> current / refused / churned
    since: dict[str, datetime] = field(default_factory=dict)  # when the customer entered the status
    last_answer: dict[str, Item] = field(default_factory=dict)  # the last recommend answer before this month


def _group(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _phone(customer: Customer) -> str:
    d = customer.phone_digits
    return f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"


def write_customer_statuses(
    ctx: Context, channel, items: list[Item], recommend_channels: set[str], book: CustomerBook
) -> ChannelResult:
    """This month's status changes of ``ctx.customers``; ``book`` is updated in place."""
    rng = ctx.rng(channel.id)
    start, end = ctx.month.start, ctx.month.end
    changes: list[tuple[datetime, Customer, str]] = []

    def change(customer: Customer, status: str, at: datetime) -> None:
        changes.append((at, customer, status))
        book.status[customer.customer_id] = status
        book.since[customer.customer_id] = at

    if not book.opened:
        earliest = datetime(2018, 1, 1, tzinfo=ctx.month.tz)
        span = max(1, int((start - timedelta(days=60) - earliest).total_seconds()))
        for customer in ctx.customers:
            change(customer, "current", earliest + timedelta(seconds=rng.randrange(span)))
        book.opened = True

    for customer in ctx.customers:
        status = book.status.get(customer.customer_id)
        if status is None:
            continue
        since = book.since[customer.customer_id]
        draw, leave_roll = rng.random(), rng.random()
        at = max(start + timedelta(seconds=rng.randrange(ctx.month.days * 86_400)), since + timedelta(seconds=1))
        if at >= end:
            continue
        if status != "current":
            if draw < COME_BACK:
                change(customer, "current", at)
            continue
        answer = book.last_answer.get(customer.customer_id)
        if answer is not None and answer.score is not None and answer.at >= start - timedelta(days=365):
            chance = LEAVE_AFTER_ANSWER[_group(answer.score)]
        else:
            chance = LEAVE_BASELINE.get(customer.segment, LEAVE_BASELINE["b2c"])
        if draw < chance:
            refused = leave_roll < REFUSED_SHARE.get(customer.segment, REFUSED_SHARE_DEFAULT)
            change(customer, "refused" if refused else "churned", at)

    for item in sorted(items, key=lambda i: (i.at, i.channel_id, i.source_item_id)):
        if item.channel_id in recommend_channels and item.score is not None:
            book.last_answer[item.customer.customer_id] = item  # counts from the next month on

    changes.sort(key=lambda c: (c[0], c[1].customer_id))
    rows = [
        (
            customer.customer_id,
            _phone(customer),
            customer.email,
            customer.segment.upper(),
            status,
            at.astimezone(ctx.month.tz).strftime("%Y-%m-%d %H:%M:%S"),
        )
        for at, customer, status in changes
    ]
    path: Path = channel_dir(ctx, channel) / f"customer_statuses_{ctx.month.label}.csv"
    path.write_bytes(csv_bytes(HEADER, rows, delimiter=channel.reader.delimiter or ";"))
    return ChannelResult(channel.id, files=[path], records=len(rows))
