"""The cursor of an API that lists what changed "since <time>", that time included.

Freshdesk's ``updated_since`` and Wildberries' ``dateFrom`` return the records changed at the
given time too, so asking again from the latest time landed returns the records landed at that
time again (and nothing older: a record older than the cursor is a repeated page, and dropped).
The cursor is therefore that time *and* the ids landed at it: records at that time with one of
those ids are dropped before landing (so nothing lands twice), records at that time with another
id are new (one that arrived in the same second after the last pull) and land. Ids are kept
only for the latest time, so the cursor stays small.

The cursor is JSON: ``{"since": "2026-10-05T12:20:41Z", "ids": ["1042", "1043"]}``; ``since`` is
the source's own spelling of the time, sent back as it is.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Watermark", "parse_time"]

Record = dict[str, Any]


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; none: UTC) as an aware datetime; ValueError otherwise."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Watermark:
    since: str  # the latest time landed (or the configured start), as the source spells it
    ids: frozenset[str] = field(default_factory=frozenset)  # the ids landed at exactly ``since``

    @classmethod
    def from_cursor(cls, cursor: str | None, start: str) -> "Watermark":
        """The committed cursor, or ``start`` when there is none; ValueError for another kind of cursor."""
        if cursor is None:
            return cls(start)
        try:
            document = json.loads(cursor)
            since, ids = document["since"], document["ids"]
            parse_time(since)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"cursor {cursor!r} is not a watermark ({exc})") from None
        return cls(since, frozenset(str(i) for i in ids))

    def cursor(self) -> str:
        return json.dumps({"since": self.since, "ids": sorted(self.ids)}, separators=(",", ":"))

    def fresh(
        self, records: Iterable[Record], id_of: Callable[[Record], str], time_of: Callable[[Record], str]
    ) -> list[Record]:
        """``records`` without those landed before: at ``since`` with a landed id, or older than ``since``
        (which an API that honours "since" answers only when it repeats a page)."""
        at = parse_time(self.since)
        return [
            r for r in records if (moment := parse_time(time_of(r))) > at or (moment == at and id_of(r) not in self.ids)
        ]

    def after(
        self, records: Iterable[Record], id_of: Callable[[Record], str], time_of: Callable[[Record], str]
    ) -> "Watermark":
        """The watermark once ``records`` (fresh ones) have landed too."""
        latest, since, ids = parse_time(self.since), self.since, set(self.ids)
        for record in records:
            moment = parse_time(time_of(record))
            if moment > latest:
                latest, since, ids = moment, time_of(record), set()
            if moment == latest:
                ids.add(id_of(record))
        return Watermark(since, frozenset(ids))
