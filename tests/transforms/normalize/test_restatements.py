"""The ERP restates a month: order counts versioned by load order (transforms.normalize._deliveries).

The ERP's pull carries no edit time; a restated month comes as a later delivery (batch) of its rows.
The count of a (month, directorate) loaded last is current; one delivered again unchanged is a
``duplicate``; the earlier counts it replaced are ``restated`` rejects naming the record that
replaced them (staging has no versions table for order counts). Within one delivery a key has one
count: the first in the file; another count of it there is an ``id_collision``.
"""

import json
import random
from datetime import UTC, date, datetime

import polars as pl

from tests.transforms.normalize.conftest import build_payloads
from transforms.channels import get_channel
from transforms.normalize import NormalizeResult, channel_plan, normalize_channel, resolve_records, stage_records

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ERP = get_channel("erp_orders_monthly")
SEPTEMBER = date(2026, 9, 1)


def delivery(seq: int | None, rows: list[tuple[str, str, object]], name: str | None = None) -> pl.DataFrame:
    """One landed file of the ERP (a batch), ``seq`` its place in the load order (raw.batches.batch_seq)."""
    name = name or f"erp_orders_monthly/orders_{seq}.csv"
    records = [{"month": m, "directorate": d, "orders": n} for m, d, n in rows]
    frame = build_payloads(records, source_file=name, batch_id=f"erp:{name}")
    return frame.with_columns(_batch_seq=pl.lit(seq, pl.Int64))


def run(*deliveries: pl.DataFrame) -> NormalizeResult:
    frame = pl.concat(deliveries, how="vertical")
    result = normalize_channel(frame, ERP, pii_key=b"k", as_of=AS_OF)
    assert result.history.height == 0  # order counts have no versions table: superseded ones are rejects
    assert result.rows.height + result.rejects.height == frame.height  # nothing lost
    return result


def counts(result: NormalizeResult) -> list[tuple[date, str, int, str]]:
    return result.rows.select("report_month", "directorate_id", "orders_count", "_source_file").rows()


def rejected(result: NormalizeResult) -> list[tuple[str, str, int, str]]:
    return result.rejects.select("reason", "_source_file", "_record_index", "detail").rows()


def test_a_later_delivery_with_another_count_is_current_and_the_earlier_one_restated() -> None:
    result = run(
        delivery(1, [("2026-09", "retail", 100), ("2026-09", "logistics", 50)]),
        delivery(2, [("2026-09", "retail", 110)]),
    )
    assert counts(result) == [
        (SEPTEMBER, "logistics", 50, "erp_orders_monthly/orders_1.csv"),
        (SEPTEMBER, "retail", 110, "erp_orders_monthly/orders_2.csv"),
    ]
    assert rejected(result) == [
        (
            "restated",
            "erp_orders_monthly/orders_1.csv",
            0,
            "month 2026-09-01 directorate retail version 1, superseded by erp_orders_monthly/orders_2.csv#0"
            " (batch erp:erp_orders_monthly/orders_2.csv) loaded later: the last loaded counts",
        )
    ]
    assert result.rejects["source_item_id"].to_list() == ["2026-09:retail"]


def test_the_same_count_delivered_again_is_a_duplicate_of_the_first() -> None:
    result = run(delivery(1, [("2026-09", "retail", 100)]), delivery(2, [("2026-09", "retail", "100")]))
    assert counts(result) == [(SEPTEMBER, "retail", 100, "erp_orders_monthly/orders_1.csv")]
    assert rejected(result) == [
        (
            "duplicate",
            "erp_orders_monthly/orders_2.csv",
            0,
            "duplicate of month 2026-09-01 directorate retail first seen at erp_orders_monthly/orders_1.csv#0",
        )
    ]


def test_of_three_deliveries_the_last_counts_also_when_it_goes_back_to_the_first_count() -> None:
    result = run(
        delivery(1, [("2026-09", "retail", 100)]),
        delivery(2, [("2026-09", "retail", 110)]),
        delivery(3, [("2026-09", "retail", 100)]),  # the ERP undid its restatement: its latest word
        delivery(4, [("2026-09", "retail", 100)]),  # the same again: a duplicate of delivery 3
    )
    assert counts(result) == [(SEPTEMBER, "retail", 100, "erp_orders_monthly/orders_3.csv")]
    reasons = [(reason, source, detail.split(" (batch")[0]) for reason, source, _, detail in rejected(result)]
    assert reasons == [
        (
            "restated",
            "erp_orders_monthly/orders_1.csv",
            "month 2026-09-01 directorate retail version 1, superseded by erp_orders_monthly/orders_2.csv#0",
        ),
        (
            "restated",
            "erp_orders_monthly/orders_2.csv",
            "month 2026-09-01 directorate retail version 2, superseded by erp_orders_monthly/orders_3.csv#0",
        ),
        (
            "duplicate",
            "erp_orders_monthly/orders_4.csv",
            "duplicate of month 2026-09-01 directorate retail first seen at erp_orders_monthly/orders_3.csv#0",
        ),
    ]


def test_a_delivery_equal_to_the_current_count_restates_nothing() -> None:
    result = run(
        delivery(1, [("2026-09", "retail", 100)]),
        delivery(2, [("2026-09", "retail", 110)]),
        delivery(3, [("2026-09", "retail", 110)]),
    )
    assert counts(result) == [(SEPTEMBER, "retail", 110, "erp_orders_monthly/orders_2.csv")]
    assert [(r, s) for r, s, _, _ in rejected(result)] == [
        ("restated", "erp_orders_monthly/orders_1.csv"),
        ("duplicate", "erp_orders_monthly/orders_3.csv"),
    ]


def test_the_load_order_is_the_batch_sequence_not_the_file_name() -> None:
    # a page of the pull named before the export it restates, but loaded after it
    result = run(
        delivery(7, [("2026-09", "retail", 100)], "erp_orders_monthly/orders_2026-09.csv"),
        delivery(8, [("2026-09", "retail", 130)], "erp_orders_monthly/orders_page_0001.csv"),
        delivery(9, [("2026-09", "retail", 140)], "erp_orders_monthly/a_late_correction.csv"),
    )
    assert counts(result) == [(SEPTEMBER, "retail", 140, "erp_orders_monthly/a_late_correction.csv")]
    assert [r for r, *_ in rejected(result)] == ["restated", "restated"]


def test_two_counts_of_one_key_in_one_delivery_keep_the_first_and_a_later_delivery_still_restates() -> None:
    one_file = delivery(1, [("2026-09", "retail", 100), ("2026-09", "retail", 120), ("2026-09", "retail", 100)])
    alone = run(one_file)
    assert counts(alone) == [(SEPTEMBER, "retail", 100, "erp_orders_monthly/orders_1.csv")]
    assert [(r, i) for r, _, i, _ in rejected(alone)] == [("id_collision", 1), ("duplicate", 2)]
    assert rejected(alone)[0][3] == (
        "month 2026-09-01 directorate retail has other content than erp_orders_monthly/orders_1.csv#0 of the"
        " same delivery, which is kept: a delivery says one thing of a key, and nothing says which of the two"
        " is the later word"
    )

    # the next delivery repeats the file's word: a duplicate, not a version over the contradicting row
    repeated = run(one_file, delivery(2, [("2026-09", "retail", 100)]))
    assert counts(repeated) == counts(alone)
    assert [(r, s[-5:], i) for r, s, i, _ in rejected(repeated)] == [
        ("id_collision", "1.csv", 1),
        ("duplicate", "1.csv", 2),
        ("duplicate", "2.csv", 0),
    ]

    restated = run(one_file, delivery(2, [("2026-09", "retail", 130)]))
    assert counts(restated) == [(SEPTEMBER, "retail", 130, "erp_orders_monthly/orders_2.csv")]
    assert [(r, s[-5:], i) for r, s, i, _ in rejected(restated)] == [
        ("restated", "1.csv", 0),
        ("id_collision", "1.csv", 1),
        ("duplicate", "1.csv", 2),
    ]


def test_deliveries_staged_apart_resolve_as_if_staged_at_once() -> None:
    """What staging does when it re-stages the earlier records of a key with a new delivery."""
    plan = channel_plan(ERP, pii_key=b"k", as_of=AS_OF)
    deliveries = [
        delivery(1, [("2026-09", "retail", 100), ("2026-09", "logistics", 50), ("2026-10", "retail", 90)]),
        delivery(2, [("2026-09", "retail", 110), ("2026-09", "logistics", 50), ("2026-09", "logistics", 55)]),
        delivery(3, [("2026-09", "retail", 100), ("2026-10", "retail", 95)]),
    ]
    at_once = run(*deliveries)
    apart = resolve_records(pl.concat([stage_records(d, ERP, plan) for d in reversed(deliveries)]), ERP, plan)
    assert apart.rows.equals(at_once.rows) and apart.rejects.equals(at_once.rejects)
    assert [c[:3] for c in counts(at_once)] == [
        (SEPTEMBER, "logistics", 50),
        (SEPTEMBER, "retail", 100),
        (date(2026, 10, 1), "retail", 95),
    ]


def test_the_outcome_does_not_depend_on_the_order_the_records_come_in() -> None:
    rng = random.Random(11)
    deliveries = [
        delivery(seq, [(f"2026-0{m}", d, rng.choice([100, 110, 120])) for m in (8, 9) for d in ("retail", "finance")])
        for seq in range(1, 7)
    ]
    frame = pl.concat(deliveries)
    first = run(frame)
    second = run(frame.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 10**6)))
    assert first.rows.equals(second.rows) and first.rejects.equals(second.rejects)
    # each key's current count is what its last delivery said
    last = {(r["month"], r["directorate"]): r["orders"] for d in deliveries for r in map(json.loads, d["payload"])}
    assert {(f"{m:%Y-%m}", d): n for m, d, n, _ in counts(first)} == last
