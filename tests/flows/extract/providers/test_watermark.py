"""The "changed since" watermark (flows/extract/watermark.py): nothing lands twice, nothing is lost."""

import pytest

from flows.extract.watermark import Watermark


def _id(record: dict) -> str:
    return str(record["id"])


def _at(record: dict) -> str:
    return record["at"]


def test_records_at_the_watermark_land_once_and_late_ones_of_the_same_second_land() -> None:
    mark = Watermark.from_cursor(None, "2026-10-05T12:00:00Z")
    first = [{"id": 1, "at": "2026-10-05T12:00:00Z"}, {"id": 2, "at": "2026-10-05T12:00:05Z"}]
    mark = mark.after(mark.fresh(first, _id, _at), _id, _at)
    assert mark == Watermark("2026-10-05T12:00:05Z", frozenset({"2"}))

    again = Watermark.from_cursor(mark.cursor(), "ignored")
    answer = [
        {"id": 1, "at": "2026-10-05T12:00:00Z"},  # older than the watermark: a repeated page
        {"id": 2, "at": "2026-10-05T12:00:05Z"},  # landed at the watermark
        {"id": 3, "at": "2026-10-05T12:00:05+00:00"},  # the same second, new
        {"id": 2, "at": "2026-10-05T12:00:09Z"},  # edited since
    ]
    fresh = again.fresh(answer, _id, _at)
    assert [(r["id"], r["at"]) for r in fresh] == [(3, "2026-10-05T12:00:05+00:00"), (2, "2026-10-05T12:00:09Z")]
    assert again.after(fresh, _id, _at) == Watermark("2026-10-05T12:00:09Z", frozenset({"2"}))


@pytest.mark.parametrize("cursor", ["17", '{"since": "yesterday", "ids": []}', '{"ids": []}'])
def test_another_kind_of_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="is not a watermark"):
        Watermark.from_cursor(cursor, "2020-01-01T00:00:00Z")
