"""Raw payloads of one channel → its canonical staging frame, plus the records it refused.

Generic over channels: the channel's ``fields`` map says where each canonical field sits in a
record, ``transforms.normalize.entities`` says how each entity's columns are computed and
checked. Everything is set-based Polars; Python runs per *distinct value* only where the stdlib
is the parser (RFC 2822 dates, HTML), the hash (customer keys) or the arithmetic (Luhn).

Every input row ends in exactly one of ``rows``, ``history`` and ``rejects``. A record is
rejected for the first failing check (bad_payload, missing_field, bad_timestamp, future_date,
bad_score, score_out_of_range, bad_answer, bad_outcome, empty_item, unknown_event_type,
bad_count). Among the records that pass, those with the same key (feedback_id; case_id +
event_type + event_at; report_month + directorate_id) are:
- a ``duplicate`` (reject) when their content is identical to an earlier one's in load order,
  which is kept;
- an ``id_collision`` (reject) when their content differs and nothing says the later one is an
  edit of the first (``_collisions``: no updated_at, or the same one, and another received_at or
  customer): another item that shares the id, never merged as an edit;
- for versioned entities (feedback), otherwise *versions* of one item: ordered by the plan's
  ``version_order`` (updated_at, when the channel maps it; nulls first), then by load order, the
  last is the current row (``is_edited`` when there was more than one), the earlier ones go to
  ``history`` with their ``version_number`` and the batch of the version that superseded them.
- for entities versioned by load order (``versions_by_load_order``: order counts, which the ERP
  restates by delivering them again, with no edit time), otherwise versions ordered by load order
  alone (``_deliveries``): each delivery (batch) says one thing of a key, the first of the key in the
  batch (an identical later one is a ``duplicate``, another one an ``id_collision``: nothing says
  which of two rows of one file is the later word); across deliveries the one loaded last is current,
  one equal to the delivery before it is a ``duplicate`` of it, and the earlier ones are superseded.
  An entity without a versions table (``superseded_reason``) rejects its superseded versions under
  that reason (``restated``), the detail naming the record that superseded each.
  Other entities have no versions: any second record with the key is a duplicate.
Load order is ``_batch_seq`` (raw.batches.batch_seq; optional, null sorts first), then
``_source_file``, ``_record_index``, ``_batch_id``. Output order is deterministic: rows by their
key, history by key and version, rejects by file and index, contacts by feedback_id.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from transforms.channels.registry import Channel
from transforms.normalize.entities import PLANS, Check, EntityPlan
from transforms.normalize.fields import PAYLOAD_OK, all_sources, extract_sources
from transforms.privacy import mask_pii_expr
from transforms.schemas import (
    CUSTOMER_CONTACT_COLUMNS,
    ENTITY_SCHEMAS,
    LOAD_METADATA,
    REJECT_COLUMNS,
    VERSION_COLUMNS,
)

INPUT_COLUMNS: dict[str, pl.DataType] = {"payload": pl.String(), **LOAD_METADATA}
BATCH_SEQ = "_batch_seq"  # optional input: the batch's load order (raw.batches.batch_seq)
ORIGIN = ["_source_file", "_record_index", "_batch_id"]
LOAD_ORDER = [BATCH_SEQ, *ORIGIN]


@dataclass
class NormalizeResult:
    rows: pl.DataFrame  # exactly ENTITY_SCHEMAS[channel.entity].columns, in order
    rejects: pl.DataFrame  # exactly REJECT_COLUMNS
    history: pl.DataFrame  # the entity's columns + VERSION_COLUMNS: superseded versions (feedback; else empty)
    contacts: pl.DataFrame  # exactly CUSTOMER_CONTACT_COLUMNS (feedback only; empty for other entities)


def normalize_channel(payloads: pl.DataFrame, channel: Channel, *, pii_key: bytes, as_of: datetime) -> NormalizeResult:
    """Normalize one channel's payloads (columns payload, _batch_id, _source_file, _record_index,
    and optionally _batch_seq)."""
    plan = channel_plan(channel, pii_key=pii_key, as_of=as_of)
    return resolve_records(stage_records(payloads, channel, plan), channel, plan)


def channel_plan(channel: Channel, *, pii_key: bytes, as_of: datetime) -> EntityPlan:
    """How the channel's records are read and checked, on the clock ``as_of``."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return PLANS[channel.entity](channel, pii_key, as_of.astimezone(UTC))


def stage_records(payloads: pl.DataFrame, channel: Channel, plan: EntityPlan) -> pl.DataFrame:
    """Every payload read and checked on its own: the entity's columns, the load metadata, and
    ``_reason``/``_detail`` of the first failing check (null when it passed). One row per payload, in
    load order. A record's staged row depends on nothing but the record, the channel and the plan, so
    records staged in different calls resolve together (``resolve_records``) as if staged at once."""
    missing = sorted(set(INPUT_COLUMNS) - set(payloads.columns))
    if missing:
        raise ValueError(f"payloads lack columns {missing}")
    checks = [Check(~pl.col(PAYLOAD_OK), "bad_payload", pl.lit("payload is not a JSON object")), *plan.checks]
    batch_seq = pl.col(BATCH_SEQ) if BATCH_SEQ in payloads.columns else pl.lit(None)
    frame = payloads.select(
        *[pl.col(name).cast(dtype) for name, dtype in INPUT_COLUMNS.items()], batch_seq.cast(pl.Int64).alias(BATCH_SEQ)
    ).sort([*LOAD_ORDER, "payload"], nulls_last=False, maintain_order=True)
    frame = pl.concat([frame, extract_sources(frame["payload"], all_sources(channel))], how="horizontal")
    return (
        frame.lazy()
        .with_columns(**plan.raw)
        .with_columns(**plan.derived)
        .with_columns(**plan.late)
        .with_columns(
            _reason=_first(checks, lambda check: pl.lit(check.reason)),
            _detail=_first(checks, lambda check: check.detail),
            _reject_id=plan.reject_id,
        )
        .collect()
    )


def resolve_records(staged: pl.DataFrame, channel: Channel, plan: EntityPlan) -> NormalizeResult:
    """Staged records (``stage_records``) → the current rows, the superseded versions, the contacts and
    the rejects. The records of one key resolve among themselves only: resolving any set of whole keys
    gives exactly those keys' part of resolving everything."""
    staged = staged.sort([*LOAD_ORDER, "payload"], nulls_last=False, maintain_order=True)
    passed = staged.filter(pl.col("_reason").is_null())
    failed = staged.filter(pl.col("_reason").is_not_null())

    # Only keys seen more than once need the (costlier) duplicate and version logic.
    repeated = passed.select(pl.len().over(plan.key) > 1).to_series()
    if plan.versions_by_load_order:
        distinct, duplicates, collisions = _deliveries(passed.filter(repeated), plan)
    else:
        distinct, duplicates = _deduplicate(passed.filter(repeated), plan)
        distinct, collisions = _collisions(distinct, plan)
    current, history = _versions(distinct, plan)
    history, superseded = _superseded(history, plan)
    single = passed.filter(~repeated)
    current = pl.concat(
        [single.with_columns(is_edited=pl.lit(False)) if plan.content else single, current], how="diagonal"
    )

    schema = ENTITY_SCHEMAS[channel.entity]
    rows = current.sort([*plan.sort, *ORIGIN]).select(_cast(schema.columns))
    rejects = pl.concat(
        [_rejects(frame, channel) for frame in (failed, duplicates, collisions, superseded)], how="vertical"
    ).sort(ORIGIN)
    contacts = (
        current.filter(plan.has_contacts).select(**plan.contacts).sort("feedback_id")
        if plan.contacts
        else pl.DataFrame(schema=CUSTOMER_CONTACT_COLUMNS)
    )
    return NormalizeResult(
        rows=rows,
        rejects=rejects.select(_cast(REJECT_COLUMNS)),
        history=history.sort([*plan.sort, "version_number"]).select(_cast({**schema.columns, **VERSION_COLUMNS})),
        contacts=contacts.select(_cast(CUSTOMER_CONTACT_COLUMNS)),
    )


def _deduplicate(repeated: pl.DataFrame, plan: EntityPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the first record of each content of each key in load order, the duplicates of it)."""
    same = [*plan.key, pl.struct(plan.content)] if plan.content is not None else plan.key
    marked = repeated.with_columns(
        _first=pl.int_range(pl.len()).over(same) == 0,
        _first_at=pl.format("{}#{}", pl.col("_source_file").first(), pl.col("_record_index").first()).over(same),
    )
    duplicates = marked.filter(~pl.col("_first")).with_columns(
        _reason=pl.lit("duplicate"),
        _detail=pl.format("duplicate of {} first seen at {}", plan.key_text, pl.col("_first_at")),
    )
    return marked.filter(pl.col("_first")).drop("_first", "_first_at"), duplicates


def _collisions(distinct: pl.DataFrame, plan: EntityPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the records that are versions of their key's first record, the ``id_collision`` rejects).

    ``distinct`` holds records whose key repeats with other content. The first of a key in load order
    is the item; a later one is an edit of it when its edit marker (updated_at) differs from the
    first's, both given; when both give the same marker it is another item (the source says it is
    the same version, yet it differs). Without a marker on either side it is an edit only when it
    keeps the first's ``origin`` (received_at and customer: an edit changes what was said, not
    when or by whom), else another item that only shares the id, e.g. message 7 of another chat
    when the channel's source_item_id lacks the chat. Such records are quarantined, never merged as
    edits; the first stays.
    """
    if plan.content is None or plan.edit_marker is None or distinct.is_empty():
        return distinct, distinct.clear()
    marker = pl.col(plan.edit_marker)
    first_marker = marker.first().over(plan.key)
    both_marked = marker.is_not_null() & first_marker.is_not_null()
    same_origin = pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).first().over(plan.key)) for c in plan.origin)
    is_edit = (
        pl.int_range(pl.len()).over(plan.key).eq(0)
        | (both_marked & marker.ne(first_marker))
        | (~both_marked & same_origin)
    )
    clash = pl.when(both_marked).then(pl.lit("the same updated_at"))
    ordered = distinct.sort(LOAD_ORDER, nulls_last=False, maintain_order=True).with_columns(
        _edit=is_edit,
        _clash=clash.otherwise(pl.lit("no edit time, and another received_at or customer")),
        _first_at=pl.format("{}#{}", pl.col("_source_file").first(), pl.col("_record_index").first()).over(plan.key),
    )
    collisions = ordered.filter(~pl.col("_edit")).with_columns(
        _reason=pl.lit("id_collision"),
        _detail=pl.format(
            "{} is another item than the one first seen at {}: other content with {}; if ids are unique "
            "only within a chat or thread, map the parent into source_item_id (e.g. [chat_id, id])",
            plan.key_text,
            pl.col("_first_at"),
            pl.col("_clash"),
        ),
    )
    return ordered.filter(pl.col("_edit")).drop("_edit", "_clash", "_first_at"), collisions


def _deliveries(repeated: pl.DataFrame, plan: EntityPlan) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(the versions, the duplicates, the ``id_collision`` rejects) of keys versioned by load order.

    ``repeated`` holds the passed records of keys seen more than once, in load order. A delivery (a
    batch: one landed file or page) says one thing of a key: its first record of the key by origin. A
    later record of the key in the same batch with the same content is a duplicate of it; with other
    content it is an ``id_collision`` (the file contradicts itself, and nothing says which row is the
    later word: the first stays). Across deliveries, in load order, a delivery that says what the one
    before it said is a duplicate of the record that first said it; any other is a new version, also
    when it goes back to an earlier count: the source's latest word is what counts.
    """
    content = plan.content or []
    in_batch = [*plan.key, "_batch_id"]
    at = pl.format("{}#{}", pl.col("_source_file"), pl.col("_record_index"))
    marked = repeated.with_columns(
        _said=pl.int_range(pl.len()).over(in_batch) == 0,
        _same=pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).first().over(in_batch)) for c in content),
        _first_at=at.first().over(in_batch),
    )
    again = marked.filter(~pl.col("_said") & pl.col("_same")).with_columns(
        _reason=pl.lit("duplicate"),
        _detail=pl.format("duplicate of {} first seen at {}", plan.key_text, pl.col("_first_at")),
    )
    collisions = marked.filter(~pl.col("_said") & ~pl.col("_same")).with_columns(
        _reason=pl.lit("id_collision"),
        _detail=pl.format(
            "{} has other content than {} of the same delivery, which is kept: a delivery says one thing of a "
            "key, and nothing says which of the two is the later word",
            plan.key_text,
            pl.col("_first_at"),
        ),
    )
    said = marked.filter(pl.col("_said")).drop("_said", "_same", "_first_at")
    changed = pl.int_range(pl.len()).over(plan.key).eq(0) | pl.any_horizontal(
        pl.col(c).ne_missing(pl.col(c).shift(1).over(plan.key)) for c in content
    )
    runs = said.with_columns(_changed=changed).with_columns(_run=pl.col("_changed").cum_sum().over(plan.key))
    runs = runs.with_columns(_first_at=at.first().over([*plan.key, "_run"]))
    repeats = runs.filter(~pl.col("_changed")).with_columns(
        _reason=pl.lit("duplicate"),
        _detail=pl.format("duplicate of {} first seen at {}", plan.key_text, pl.col("_first_at")),
    )
    duplicates = pl.concat([again.drop("_said", "_same"), repeats.drop("_changed", "_run")], how="vertical")
    versions = runs.filter(pl.col("_changed")).drop("_changed", "_run", "_first_at")
    return versions, duplicates, collisions.drop("_said", "_same")


def _superseded(history: pl.DataFrame, plan: EntityPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the history kept as versions, the superseded versions rejected under ``plan.superseded_reason``)."""
    if plan.superseded_reason is None:
        return history, history.clear()
    superseded = history.with_columns(
        _reason=pl.lit(plan.superseded_reason),
        _detail=pl.format(
            "{} version {}, superseded by {} (batch {}) loaded later: the last loaded counts",
            plan.key_text,
            pl.col("version_number"),
            pl.col("_superseded_at"),
            pl.col("superseded_by_batch_id"),
        ),
    )
    return history.clear(), superseded


def _versions(distinct: pl.DataFrame, plan: EntityPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(current rows, superseded versions) of the distinct records of each key."""
    if plan.content is None:
        return distinct, distinct.clear().with_columns(
            version_number=pl.lit(None, pl.Int64),
            superseded_by_batch_id=pl.lit(None, pl.String),
            _superseded_at=pl.lit(None, pl.String),
        )
    ordered = distinct.sort([*plan.version_order, *LOAD_ORDER], nulls_last=False, maintain_order=True)
    ordered = ordered.with_columns(
        version_number=pl.int_range(1, pl.len() + 1).over(plan.key),
        _version_count=pl.len().over(plan.key),
        superseded_by_batch_id=pl.col("_batch_id").shift(-1).over(plan.key),
        _superseded_at=pl.format("{}#{}", pl.col("_source_file"), pl.col("_record_index")).shift(-1).over(plan.key),
    )
    is_current = pl.col("version_number") == pl.col("_version_count")
    current = ordered.filter(is_current).with_columns(is_edited=pl.col("_version_count") > 1)
    history = ordered.filter(~is_current).with_columns(is_edited=pl.col("version_number") > 1)
    return current, history


def _cast(columns: dict[str, pl.DataType]) -> list[pl.Expr]:
    return [pl.col(name).cast(dtype) for name, dtype in columns.items()]


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
        # A detail quotes the rejected value ("score '+7 916 …' is not a number"): masked like texts,
        # so that no phone or e-mail reaches quarantine.staging_rejects.
        detail=mask_pii_expr(pl.col("_detail").fill_null(pl.col("_reason"))),
        source_item_id=pl.col("_reject_id"),
        _batch_id=pl.col("_batch_id"),
        _source_file=pl.col("_source_file"),
        _record_index=pl.col("_record_index"),
    )


__all__ = ["NormalizeResult", "channel_plan", "normalize_channel", "resolve_records", "stage_records"]
