"""What the generator passes around: the month, the shared context, items, results, the summary."""

import calendar
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from otklik.sample.people import Customer
from transforms.org import Org
from transforms.org.org import Store

if TYPE_CHECKING:
    from rich.table import Table

UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Month:
    """A calendar month in the company's reporting timezone."""

    year: int
    month: int
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz: str) -> "Month":
        try:
            year, month = (int(part) for part in text.split("-"))
            datetime(year, month, 1)
        except ValueError as exc:
            raise ValueError(f"month must look like 2026-10, got {text!r}") from exc
        return cls(year, month, ZoneInfo(tz))

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def number(self) -> int:
        """Months since January 2020 (0 then): sequences of ids move on by a stride per month."""
        return (self.year - 2020) * 12 + self.month - 1

    @property
    def yymm(self) -> str:
        return f"{self.year % 100:02d}{self.month:02d}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after the month."""
        return self.start + timedelta(days=self.days)


@dataclass
class Item:
    """One valid feedback item as the generator knows it (the truth behind the channel's record)."""

    channel_id: str
    at: datetime  # when the customer said it, aware (reporting timezone)
    kind: str  # complaint / wish / thanks / question / none (a score without a comment)
    topic: str  # texts.TOPICS
    text: str
    score: int | None
    customer: Customer
    store: Store  # the store the item is about, or the customer's nearest one
    order_ref: str
    contact_requested: bool = False
    source_item_id: str = ""  # set by the channel writer, exactly as the normalizer derives it
    extra: dict[str, object] = field(default_factory=dict)
    # Items that never open a CRM case: employees' answers (eNPS), the close-the-loop final survey,
    # which judges a case already closed, and self-service sessions (the bot or the FAQ answered).
    no_case: bool = False

    @property
    def feedback_id(self) -> str:
        return f"{self.channel_id}:{self.source_item_id}"

    @property
    def opens_case(self) -> bool:
        return not self.no_case and (self.kind in ("complaint", "question") or self.contact_requested)


@dataclass(frozen=True)
class BadRecord:
    """A deliberately bad input record, for the quarantine to catch."""

    channel_id: str
    # out_of_range_score / missing_id / duplicate / future_date / broken_json / bad_score /
    # bad_outcome / wrong_encoding (a whole file: every record of it is listed)
    problem: str
    file: str  # relative to the landing folder
    source_item_id: str  # as written ("" when the id is what is missing)
    detail: str


@dataclass
class ChannelResult:
    channel_id: str
    files: list[Path] = field(default_factory=list)
    records: int = 0  # records written, the bad ones included
    items: list[Item] = field(default_factory=list)  # valid feedback items
    bad: list[BadRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ChannelOutput:
    channel_id: str
    files: tuple[Path, ...]
    records: int  # records written (rows, lines, feedbacks, messages), bad ones included
    valid: int  # valid feedback items; for CRM and ERP: rows written
    bad: int


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate_landing` wrote; `rows()` is a table a CLI can print."""

    landing_dir: Path
    month: str
    seed: int
    channels: tuple[ChannelOutput, ...]
    items: int  # valid feedback items over all feedback channels
    cases: int
    case_events: int
    bad_records: tuple[BadRecord, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(path for channel in self.channels for path in channel.files)

    def channel(self, channel_id: str) -> ChannelOutput:
        for channel in self.channels:
            if channel.channel_id == channel_id:
                return channel
        raise KeyError(channel_id)

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        """(channel, files, records written, valid items or rows, deliberately bad records)."""
        return [(c.channel_id, len(c.files), c.records, c.valid, c.bad) for c in self.channels]

    def as_table(self) -> "Table":
        """A rich Table of rows(), with the totals and the planted bad records in the caption."""
        from rich.table import Table

        table = Table(title=f"Sample landing {self.month} (seed {self.seed}) → {self.landing_dir}")
        for name in ("channel", "files", "records", "valid items / rows", "planted bad"):
            table.add_column(name, justify="left" if name == "channel" else "right")
        for channel_id, files, records, valid, bad in self.rows():
            table.add_row(channel_id, f"{files:,}", f"{records:,}", f"{valid:,}", str(bad) if bad else "")
        problems = Counter(f"{b.channel_id}: {b.problem}" for b in self.bad_records)
        table.caption = (
            f"{self.items:,} feedback items, {self.cases:,} cases, {self.case_events:,} case events; "
            f"planted bad records: " + ", ".join(f"{key} ×{n}" for key, n in sorted(problems.items()))
        )
        return table


@dataclass(frozen=True)
class Mood:
    """How a month differs from a typical one (otklik.sample.history): each item's kind and topic
    weights are multiplied by these factors. Empty: the channel profiles as they are."""

    kinds: dict[str, float] = field(default_factory=dict)
    topics: dict[str, float] = field(default_factory=dict)
    # A payment page that fails in one browser this month: that share of the web items from this user
    # agent (website chat, in-product rating) become complaints that the payment does not go through.
    broken_payment_agent: str | None = None
    broken_payment_share: float = 0.0

    def weigh(self, weights: dict[str, float], factors: dict[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
        keys = tuple(weights)
        return keys, tuple(weights[k] * factors.get(k, 1.0) for k in keys) if factors else tuple(weights.values())


@dataclass
class Context:
    """Everything a channel writer shares: seed, month, org, customers, the month's mood."""

    seed: int
    month: Month
    org: Org
    customers: list[Customer]
    landing_dir: Path
    mood: Mood = field(default_factory=Mood)

    def rng(self, *names: str) -> random.Random:
        """An independent stream per purpose, so adding a channel leaves the others' bytes alone."""
        return random.Random("/".join(("otklik-sample", str(self.seed), *names)))

    def first_id(self, rng: random.Random, low: int, high: int, *, stride: int) -> int:
        """Where a channel's id sequence starts this month: a random point of ``[low, high]`` moved by
        ``stride`` per month since 2020, so that months generated one by one (a history for the
        benchmarks) never reuse an id. ``stride`` exceeds what a month of the channel can consume."""
        if self.month.number < 0:
            raise ValueError("sample months start in 2020-01")
        return rng.randint(low, high) + self.month.number * stride

    def relative(self, path: Path) -> str:
        return path.relative_to(self.landing_dir).as_posix()
