"""A history of sample months: a year and a month of believable feedback for the demo's review.

``generate_history`` writes ``months`` consecutive months ending with ``last_month`` (the demo:
October 2025 – October 2026), each by ``generate_landing`` with a seed of its own, into
``<landing>/<channel>/<YYYY-MM>/``: the landing scan reads sub-folders, and a month's files never
meet another month's (case events of a case closed after the month's end, an ISO week that spans
two months). The customers are one base for all months, so the same people come back.

What changes from month to month, so that every comparison of the review has something to say:

- **Volume** follows a DIY retailer's season (spring and early summer busiest, the December gift
  peak, the January lull) and grows 1 % a month; the ERP's order counts follow the volume.
- **A trend**: the share of complaints falls over the year (the company improves), so NPS and
  complaints per 1,000 orders move year on year.
- **Incidents**: a month in which one topic's complaints jump (``INCIDENTS``): the December
  delivery backlog, a call-centre switch-over in March, a broken app release in June, and a
  payment provider change in the last month whose new payment page fails in Internet Explorer 11:
  the reviewed month's growth point, and the root cause the review's analysis should find (the
  browser, parsed from the user agents of the website chat and the in-product rating).
"""

import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from otklik.sample.crm_customers import CustomerBook
from otklik.sample.generate import _prepare, generate_landing
from otklik.sample.model import GenerationSummary, Month, Mood
from otklik.sample.people import make_customers
from otklik.sample.writers import OLD_BROWSER
from transforms.channels import load_channels

# Relative volume by calendar month (1 = a typical month).
SEASON = {1: 0.8, 2: 0.85, 3: 0.95, 4: 1.1, 5: 1.2, 6: 1.15, 7: 1.05, 8: 1.0, 9: 0.95, 10: 1.0, 11: 1.05, 12: 1.2}
MONTHLY_GROWTH = 0.01
# Complaint weight at the first month of the history and at its last but one (linear between).
COMPLAINTS_FROM, COMPLAINTS_TO = 1.25, 0.95


@dataclass(frozen=True)
class Incident:
    month: str  # YYYY-MM
    topics: dict[str, float]  # topic -> factor on its weight
    complaints: float  # factor on the complaint weight in that month
    story: str
    broken_payment_agent: str | None = None  # a browser the payment page fails in (Mood)
    broken_payment_share: float = 0.0


INCIDENTS = (
    Incident("2025-12", {"delivery": 2.2}, 1.15, "предновогодний пик: служба доставки не справилась с объёмом"),
    Incident("2026-03", {"call_centre": 2.5}, 1.1, "переход контакт-центра на новую телефонию: очереди и обрывы"),
    Incident("2026-06", {"app": 2.6, "payment": 1.4}, 1.15, "выпуск приложения с ошибкой оплаты"),
    Incident(
        "2026-10",
        {"payment": 1.5, "website": 1.3},
        1.1,
        "смена платёжного провайдера: новая страница оплаты не работает в Internet Explorer 11",
        broken_payment_agent=OLD_BROWSER,
        broken_payment_share=0.85,
    ),
)


@dataclass(frozen=True)
class PlannedMonth:
    label: str
    items: int
    orders_basis: int  # the volume without the incident's extra complaints: orders do not grow with them
    mood: Mood
    story: str | None


def plan_history(last_month: str = "2026-10", months: int = 13, items: int = 2_000) -> list[PlannedMonth]:
    """The months of the history, oldest first; ``items`` is a typical month's volume."""
    if months < 1:
        raise ValueError("months must be >= 1")
    if items < 0:
        raise ValueError("items must be >= 0")
    last = Month.parse(last_month, "UTC")
    labels = []
    for back in reversed(range(months)):
        number = last.year * 12 + last.month - 1 - back
        labels.append(f"{number // 12:04d}-{number % 12 + 1:02d}")
    incidents = {i.month: i for i in INCIDENTS}
    plan = []
    for index, label in enumerate(labels):
        calendar_month = int(label[5:])
        volume = items * SEASON[calendar_month] * (1 + MONTHLY_GROWTH) ** (index - (months - 1))
        span = max(1, months - 2)
        complaints = COMPLAINTS_FROM + (COMPLAINTS_TO - COMPLAINTS_FROM) * min(index, span) / span
        incident = incidents.get(label)
        topics = dict(incident.topics) if incident else {}
        if incident:
            complaints *= incident.complaints
        plan.append(
            PlannedMonth(
                label=label,
                items=round(volume * (1.06 if incident else 1.0)),
                orders_basis=round(volume),
                mood=Mood(
                    kinds={"complaint": complaints},
                    topics=topics,
                    broken_payment_agent=incident.broken_payment_agent if incident else None,
                    broken_payment_share=incident.broken_payment_share if incident else 0.0,
                ),
                story=incident.story if incident else None,
            )
        )
    return plan


def generate_history(
    landing_dir: Path,
    *,
    last_month: str = "2026-10",
    months: int = 13,
    items: int = 2_000,
    seed: int = 42,
    overwrite: bool = False,
) -> list[GenerationSummary]:
    """Write the planned months into ``landing_dir/<channel>/<YYYY-MM>/``; one summary per month.

    The same arguments give byte-identical files. A channel folder that already holds files is an
    error unless ``overwrite`` (then the registry's channel folders, and only they, are emptied).
    """
    landing_dir = Path(landing_dir)
    plan = plan_history(last_month, months, items)
    _prepare(landing_dir, load_channels(), overwrite)
    population = max(50, int(max(m.items for m in plan) * 0.7))
    customers = make_customers(population, random.Random(f"otklik-sample/{seed}/history-customers"))
    book = CustomerBook()  # the CRM's statuses, carried through the months
    summaries = []
    for month in plan:
        scratch = landing_dir / f".history-{month.label}"  # a dot folder: ingestion never reads it
        shutil.rmtree(scratch, ignore_errors=True)
        summary = generate_landing(
            scratch,
            month=month.label,
            items=month.items,
            seed=seed * 1_000 + Month.parse(month.label, "UTC").number,
            mood=month.mood,
            customers=customers,
            orders_basis=month.orders_basis,
            customer_book=book,
        )
        for channel_folder in sorted(p for p in scratch.iterdir() if p.is_dir()):
            target = landing_dir / channel_folder.name / month.label
            target.parent.mkdir(exist_ok=True)
            channel_folder.rename(target)
        shutil.rmtree(scratch)
        summaries.append(_moved(summary, scratch, landing_dir, month.label))
    return summaries


def _moved(summary: GenerationSummary, scratch: Path, landing_dir: Path, label: str) -> GenerationSummary:
    """The summary with its files where they are now: <landing>/<channel>/<month>/..."""

    def where(path: Path) -> Path:
        channel, *rest = path.relative_to(scratch).parts
        return landing_dir.joinpath(channel, label, *rest)

    def relative(file: str) -> str:
        channel, _, rest = file.partition("/")
        return f"{channel}/{label}/{rest}"

    channels = tuple(replace(c, files=tuple(where(p) for p in c.files)) for c in summary.channels)
    bad = tuple(replace(b, file=relative(b.file)) for b in summary.bad_records)
    return replace(summary, landing_dir=landing_dir, channels=channels, bad_records=bad)
