"""Time normalize_channel on synthetic feedback payloads (not a test; run it by hand).

    .venv/bin/python bench/bench_normalize.py [rows] [repeats]

Payloads look like the nps_email_survey channel (11 mapped fields, ~300-char Russian comments,
every 10th with a phone, every 17th with HTML, one duplicate id in 200).
"""

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from transforms.channels.registry import get_channel
from transforms.normalize import normalize_channel

WORDS = [
    "доставка",
    "опоздала",
    "товар",
    "отличный",
    "спасибо",
    "магазин",
    "курьер",
    "вежливый",
    "кассир",
    "долго",
    "ждать",
    "цена",
    "качество",
]


def synthetic_payloads(rows: int, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = []
    for i in range(rows):
        text = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
        if i % 10 == 0:
            text += " звоните +7 (916) 123-45-67"
        if i % 17 == 0:
            text = f"<p>{text}</p><br>&amp; ещё"
        record = {
            "response_id": f"r{i if i % 200 else i - 1}",
            "submitted_at": (start + timedelta(seconds=rng.randint(0, 250 * 86400))).isoformat(),
            "recommend_score": str(rng.randint(0, 10)),
            "comment": text,
            "customer_id": f"cust{rng.randint(1, 30000)}",
            "contact_me": rng.choice(["yes", "no"]),
            "phone": rng.choice(["", "+7 916 123 45 67", "89161234567"]),
            "email": rng.choice(["", f"user{i}@example.ru"]),
            "order_number": f"ORD-{i}",
            "store_code": f"S{rng.randint(1, 300):03d}",
            "segment": rng.choice(["b2b", "b2c", "vip"]),
        }
        records.append(json.dumps(record, ensure_ascii=False))
    return pl.DataFrame(
        {
            "payload": records,
            "_batch_id": "bench",
            "_source_file": [f"file-{i // 25_000}.csv" for i in range(rows)],
            "_record_index": [i % 25_000 for i in range(rows)],
        }
    )


def main(rows: int = 100_000, repeats: int = 5) -> None:
    payloads = synthetic_payloads(rows)
    channel = get_channel("nps_email_survey")
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = normalize_channel(payloads, channel, pii_key=b"bench-key", as_of=as_of)
        timings.append(time.perf_counter() - started)
    print(
        f"{rows} payloads -> {result.rows.height} rows + {result.rejects.height} rejects; "
        f"wall s: min {min(timings):.2f}, median {statistics.median(timings):.2f}, max {max(timings):.2f} "
        f"({rows / min(timings):,.0f} payloads/s at best)"
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
