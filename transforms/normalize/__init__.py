"""Raw payloads of one channel → its canonical staging frame, plus the records it refused.

Generic over channels: the channel's ``fields`` map says where each canonical field sits in a
record, ``transforms.normalize.entities`` says how each entity's columns are computed and
checked. Everything is set-based Polars; Python runs per *distinct value* only where the stdlib
is the parser (RFC 2822 dates, HTML) or the hash (customer keys).

Every input row ends in exactly one of ``rows`` and ``rejects``. A record is rejected for the
first failing check (bad_payload, missing_field, bad_timestamp, future_date, bad_score,
score_out_of_range, unknown_event_type, bad_count); among the records that pass, a second one
with the same key (feedback_id; case_id + event_type + event_at; report_month + directorate_id)
is a ``duplicate`` of the first by (_source_file, _record_index), which is kept. Output order is
deterministic: rows by their key, rejects by file and index.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from transforms.channels.registry import Channel
from transforms.normalize.entities import PLANS, Check
from transforms.normalize.fields import PAYLOAD_OK, all_sources, extract_sources
from transforms.schemas import ENTITY_SCHEMAS, LOAD_METADATA, REJECT_COLUMNS

INPUT_COLUMNS: dict[str, pl.DataType] = {"payload": pl.String(), **LOAD_METADATA}
ORIGIN = ["_source_file", "_record_index", "_batch_id"]


@dataclass
class NormalizeResult:
    rows: pl.DataFrame  # exactly ENTITY_SCHEMAS[channel.entity].columns, in order
    rejects: pl.DataFrame  # exactly REJECT_COLUMNS


def normalize_channel(payloads: pl.DataFrame, channel: Channel, *, pii_key: bytes, as_of: datetime) -> NormalizeResult:
    """Normalize one channel's payloads (columns payload, _batch_id, _source_file, _record_index)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    missing = sorted(set(INPUT_COLUMNS) - set(payloads.columns))
    if missing:
        raise ValueError(f"payloads lack columns {missing}")
    schema = ENTITY_SCHEMAS[channel.entity]
    plan = PLANS[channel.entity](channel, pii_key, as_of.astimezone(UTC))

    checks = [Check(~pl.col(PAYLOAD_OK), "bad_payload", pl.lit("payload is not a JSON object")), *plan.checks]
    frame = payloads.select([pl.col(name).cast(dtype) for name, dtype in INPUT_COLUMNS.items()]).sort(
        [*ORIGIN, "payload"], nulls_last=True, maintain_order=True
    )
    frame = pl.concat([frame, extract_sources(frame["payload"], all_sources(channel))], how="horizontal")
    staged = (
        frame.lazy()
        .with_columns(**plan.raw)
        .with_columns(**plan.derived)
        .with_columns(
            _reason=_first(checks, lambda check: pl.lit(check.reason)),
            _detail=_first(checks, lambda check: check.detail),
            _reject_id=plan.reject_id,
        )
        .collect()
    )
    passed = staged.filter(pl.col("_reason").is_null())
    failed = staged.filter(pl.col("_reason").is_not_null())

    first = pl.int_range(pl.len()).over(plan.key) == 0
    passed = passed.with_columns(
        _first=first,
        _first_at=pl.format("{}#{}", pl.col("_source_file").first(), pl.col("_record_index").first()).over(plan.key),
        _key_text=plan.key_text,
    )
    duplicates = passed.filter(~pl.col("_first")).with_columns(
        _reason=pl.lit("duplicate"),
        _detail=pl.format("duplicate of {} first seen at {}", pl.col("_key_text"), pl.col("_first_at")),
    )
    rows = (
        passed.filter(pl.col("_first"))
        .sort([*plan.sort, *ORIGIN])
        .select([pl.col(name).cast(dtype) for name, dtype in schema.columns.items()])
    )
    rejects = (
        pl.concat([_rejects(failed, channel), _rejects(duplicates, channel)])
        .sort(ORIGIN)
        .select([pl.col(name).cast(dtype) for name, dtype in REJECT_COLUMNS.items()])
    )
    return NormalizeResult(rows=rows, rejects=rejects)


def _first(checks: list[Check], value: Callable[[Check], pl.Expr]) -> pl.Expr:
    """The value of the first check whose condition holds (null conditions do not hold)."""
    chain = pl.when(checks[0].condition.fill_null(False)).then(value(checks[0]))
    for check in checks[1:]:
        chain = chain.when(check.condition.fill_null(False)).then(value(check))
    return chain.otherwise(None)


def _rejects(frame: pl.DataFrame, channel: Channel) -> pl.DataFrame:
    return frame.select(
        channel_id=pl.lit(channel.id),
        entity=pl.lit(channel.entity),
        reason=pl.col("_reason"),
        detail=pl.col("_detail").fill_null(pl.col("_reason")),
        source_item_id=pl.col("_reject_id"),
        _batch_id=pl.col("_batch_id"),
        _source_file=pl.col("_source_file"),
        _record_index=pl.col("_record_index"),
    )


__all__ = ["NormalizeResult", "normalize_channel"]
