"""Build one staging entity from raw.channel_payloads, and its rejects into quarantine.

Every raw record of every channel of the entity ends in exactly one of the staging table, the
versions table (feedback: earlier versions of edited items, ``staging.stg_channels__feedback_versions``)
or ``quarantine.staging_rejects``; records of channels no longer in the registry are rejected as
'unknown_channel' rather than dropped. Feedback contacts go to ``restricted.customer_contacts``.
All of an entity's tables and its rejects are replaced in one transaction.

**Only what is new** (feedback and case events, the entities that grow with the history). A build
after another on the same configuration normalizes only the batches the last one did not see, and
re-resolves only the *keys* those batches touch (``transforms.normalize.resolve_records``: the
records of one key resolve among themselves only):

- ``staging.stg__normalized_records`` indexes every raw record the last build read: its channel,
  origin (batch, file, index), the key it has when it passed its checks (``key_text``), else the check
  it failed. It is derived state, rebuilt by every build from nothing.
- ``staging.stg__normalized_state`` holds, per entity, the digest of what normalization depends on
  besides the records (the channels' configuration, the customer-key secret, the normalization code,
  Polars' version) and the clock of the last build.
- A later build re-stages the new batches' records, the earlier records that share a key with one
  of them (an edit, a duplicate, a late event), and every record rejected as ``future_date`` (its
  verdict and detail depend on the clock); it deletes what those records produced before, by origin,
  and inserts what they produce now, in one transaction.
- Anything else is a build from nothing: no state, another digest, a clock that went back, or a batch
  the index holds that raw no longer has.

``tests/warehouse/test_staging_incremental.py`` builds batch after batch this way and compares every
table with a build from nothing, row for row: late edits, duplicates, id collisions, future dates
that come due, late events of old cases, a removed batch.
"""

import hashlib
import importlib.metadata
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from expectations.validate import table_exists
from transforms.channels.registry import Channel
from transforms.dag import BuildContext, StagedEntity
from transforms.normalize import NormalizeResult, channel_plan, resolve_records, stage_records
from transforms.normalize.entities import EntityPlan
from transforms.schemas import (
    CUSTOMER_CONTACT_COLUMNS,
    CUSTOMER_CONTACTS_TABLE,
    ENTITY_SCHEMAS,
    FEEDBACK_VERSIONS_TABLE,
    REJECT_COLUMNS,
    VERSION_COLUMNS,
)
from warehouse import scoped_build
from warehouse.frames import insert_frame

INDEX_TABLE = "staging.stg__normalized_records"
STATE_TABLE = "staging.stg__normalized_state"
# The entities that grow with the history; the others are small and always built from nothing.
INCREMENTAL_ENTITIES = frozenset({"feedback", "case_event", "customer_status"})
ORIGIN = ["_batch_id", "_source_file", "_record_index"]
INDEX_COLUMNS: dict[str, pl.DataType] = {
    "entity": pl.String(),
    "channel_id": pl.String(),
    "_batch_id": pl.String(),
    "_source_file": pl.String(),
    "_record_index": pl.Int64(),
    "key_text": pl.String(),  # the key when the record passed its checks, else null
    "check_reason": pl.String(),  # the check it failed (or unknown_channel), else null
}
_PROJECT = Path(__file__).resolve().parent.parent
# What normalization is made of besides the records: a change of any of these is a build from nothing.
PARTITION_RECORDS = 250_000  # records of a channel staged and resolved at once in a build from nothing
_NORMALIZE_CODE = (
    "transforms/normalize",
    "transforms/privacy.py",
    "transforms/schemas.py",
    "transforms/channels/registry.py",
    "warehouse/staging.py",
)


# A left join: a payload whose batch is missing from the ledger (which the raw checks report) is still
# normalized, with a null load order, rather than silently left out.
_PAYLOADS_OF_CHANNEL = (
    "select p.payload::varchar as payload, p._batch_id, p._source_file, p._record_index,"
    " b.batch_seq as _batch_seq"
    " from raw.channel_payloads as p left join raw.batches as b on b.batch_id = p._batch_id"
    " where p.channel_id = ?"
)


def _payloads(con: duckdb.DuckDBPyConnection, channel_id: str, where: str = "", params: Iterable = ()) -> pl.DataFrame:
    return con.execute(
        f"{_PAYLOADS_OF_CHANNEL} {where} order by p._source_file, p._record_index", [channel_id, *params]
    ).pl()


def _unknown_channel_rejects(
    con: duckdb.DuckDBPyConnection, known: list[str], entity: str, where: str = ""
) -> pl.DataFrame:
    rows = con.execute(
        "select channel_id, _batch_id, _source_file, _record_index from raw.channel_payloads as p"
        f" where not list_contains(?, channel_id) {where}",
        [known],
    ).pl()
    return rows.select(
        pl.col("channel_id"),
        entity=pl.lit(entity),
        reason=pl.lit("unknown_channel"),
        detail=pl.lit("channel is not (or no longer) in channels.yaml"),
        source_item_id=pl.lit(None, pl.String),
        _batch_id=pl.col("_batch_id"),
        _source_file=pl.col("_source_file"),
        _record_index=pl.col("_record_index"),
    ).cast(REJECT_COLUMNS)


def _empty_parts(entity: str) -> dict[str, list[pl.DataFrame]]:
    schema = ENTITY_SCHEMAS[entity]
    return {
        "rows": [pl.DataFrame(schema=schema.columns)],
        "history": [pl.DataFrame(schema={**schema.columns, **VERSION_COLUMNS})],
        "contacts": [pl.DataFrame(schema=CUSTOMER_CONTACT_COLUMNS)],
        "rejects": [pl.DataFrame(schema=REJECT_COLUMNS)],
        "index": [pl.DataFrame(schema=INDEX_COLUMNS)],
    }


def _index_rows(staged: pl.DataFrame, channel: Channel, key_text: pl.Expr) -> pl.DataFrame:
    passed = pl.col("_reason").is_null()
    return staged.select(
        entity=pl.lit(channel.entity),
        channel_id=pl.lit(channel.id),
        _batch_id=pl.col("_batch_id"),
        _source_file=pl.col("_source_file"),
        _record_index=pl.col("_record_index"),
        key_text=pl.when(passed).then(key_text),
        check_reason=pl.col("_reason"),
    ).cast(INDEX_COLUMNS)


def _add(parts: dict[str, list[pl.DataFrame]], result: NormalizeResult, index: pl.DataFrame) -> None:
    for name in ("rows", "history", "contacts", "rejects"):
        parts[name].append(getattr(result, name))
    parts["index"].append(index)


def state_digest(entity: str, ctx: BuildContext) -> str:
    """What the entity's normalization depends on besides its records (module docstring)."""
    digest = hashlib.sha256(entity.encode())
    digest.update(hashlib.sha256(ctx.pii_key).digest())
    digest.update(importlib.metadata.version("polars").encode())
    for channel in ctx.channels:  # every id: records of unregistered channels are rejected
        digest.update(channel.id.encode())
        if channel.entity == entity:
            digest.update(channel.model_dump_json().encode())
    for root in _NORMALIZE_CODE:
        path = _PROJECT / root
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(_PROJECT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _can_add(con: duckdb.DuckDBPyConnection, model: StagedEntity, digest: str, ctx: BuildContext) -> bool:
    """Whether the last build's tables of ``model.entity`` can be brought up to date by adding to them; if so,
    ``_new_batches`` holds the batches to add (``_batches``)."""
    tables = [INDEX_TABLE, STATE_TABLE, f"staging.{model.name}"]
    if model.entity == "feedback":
        tables += [FEEDBACK_VERSIONS_TABLE, CUSTOMER_CONTACTS_TABLE]
    if not all(table_exists(con, t) for t in tables):
        return False
    state = con.execute(f"select digest, as_of from {STATE_TABLE} where entity = ?", [model.entity]).fetchone()
    if state is None or state[0] != digest or state[1] > ctx.as_of:
        return False
    return _batches(con, model.entity, ctx)


def _batches(con: duckdb.DuckDBPyConnection, entity: str, ctx: BuildContext) -> bool:
    """Whether every batch the index holds for ``entity`` is still in raw; if so, the batches of raw the index
    lacks into ``_new_batches``: both from one read of each side's batch ids.

    Raw's side is the batches of the entity's channels (feedback: and of unregistered ones, whose records it
    rejects), the only batches the index can hold for it on the same digest (the digest names every channel
    and the entity's channels' configuration): the other entities' batches are never new to it."""
    if entity == "feedback":
        read = ("not list_contains(?::varchar[], channel_id)", [c.id for c in ctx.channels if c.entity != entity])
    else:
        read = ("list_contains(?::varchar[], channel_id)", [c.id for c in ctx.channels if c.entity == entity])
    con.execute(
        "create or replace temp table _batch_sides as select _batch_id, bool_or(in_raw) as in_raw,"
        " bool_or(not in_raw) as in_index from (select _batch_id, true as in_raw from raw.channel_payloads"
        f" where {read[0]} union all select _batch_id, false from {INDEX_TABLE} where entity = ?) group by _batch_id",
        [read[1], entity],
    )
    try:
        if con.execute("select count(*) from _batch_sides where in_index and not in_raw").fetchone()[0]:
            return False
        con.execute(
            "create or replace temp table _new_batches as select _batch_id from _batch_sides where not in_index"
        )
        return True
    finally:
        con.execute("drop table _batch_sides")


def build_staged_entity(con: duckdb.DuckDBPyConnection, model: StagedEntity, ctx: BuildContext) -> dict[str, int]:
    """Normalize ``model.entity`` (only what is new when it can: module docstring); return row counts by
    table written."""
    if model.entity in INCREMENTAL_ENTITIES:
        digest = state_digest(model.entity, ctx)
        if _can_add(con, model, digest, ctx):
            return _add_new_batches(con, model, ctx, digest)
        return _build_from_nothing(con, model, ctx, digest)
    return _build_from_nothing(con, model, ctx, None)


def _build_from_nothing(
    con: duckdb.DuckDBPyConnection, model: StagedEntity, ctx: BuildContext, digest: str | None
) -> dict[str, int]:
    """Every record of the entity staged again, a channel at a time: each channel's rows are written before
    the next channel is read, so memory holds one channel's records, not the history (in one transaction:
    a reader sees the old tables or the new ones)."""
    empty = {name: pl.concat(frames, how="vertical") for name, frames in _empty_parts(model.entity).items()}
    tables = _entity_tables(model, empty)
    con.execute("begin transaction")
    try:
        for table, frame in tables.items():
            _replace_table(con, table, frame)
        con.execute("delete from quarantine.staging_rejects where entity = ?", [model.entity])
        if digest is not None:
            _record_state(con, model.entity, digest, ctx.as_of, empty["index"], replace=True)
        for channel in ctx.channels:
            if channel.entity != model.entity:
                continue
            plan = channel_plan(channel, pii_key=ctx.pii_key, as_of=ctx.as_of)
            for staged in _staged_by_key_partition(con, channel, plan):
                parts = _empty_parts(model.entity)
                _add(parts, resolve_records(staged, channel, plan), _index_rows(staged, channel, plan.key_text))
                del staged
                _write_parts(con, model, parts, with_index=digest is not None)
        if model.entity == "feedback":  # raw rows of unregistered channels are counted once, here
            unknown = _unknown_channel_rejects(con, [c.id for c in ctx.channels], model.entity)
            parts = _empty_parts(model.entity)
            parts["rejects"].append(unknown)
            parts["index"].append(_unknown_index(unknown))
            _write_parts(con, model, parts, with_index=digest is not None)
        scoped_build.record_whole(con, tables)
        counts = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


def _staged_by_key_partition(
    con: duckdb.DuckDBPyConnection, channel: Channel, plan: EntityPlan
) -> Iterator[pl.DataFrame]:
    """The channel's records staged (``stage_records``), in partitions of whole keys of about
    ``PARTITION_RECORDS`` records: what ``resolve_records`` needs at once, so that memory holds a partition,
    not a channel's history (the CRM's case events are 2.2 million records at a million items).

    A record stages on its own and a key resolves on its own (transforms/normalize), so partitions of
    whole keys give the rows of the channel staged at once. A channel of up to ``PARTITION_RECORDS`` is one
    partition. A larger one is staged in slices of ``PARTITION_RECORDS`` records as one read of its payloads
    streams them, whatever their keys; each slice's rows go to a Parquet file of a scratch directory with
    their partition (a hash of the record's staged ``key_text``; the records that fail their checks have
    none and go together), and each partition is then read back from every slice's file (``_scratch_dir``).
    Staged once, not twice: the records' JSON is parsed once. Read once, too: slices picked by a hash of
    the origin read every payload of the channel once per slice (at the 3M bench's 6.5 M case events, 26
    reads of them). A slice's order does not matter: ``resolve_records`` sorts a key's records by load order."""
    count = con.execute("select count(*) from raw.channel_payloads where channel_id = ?", [channel.id]).fetchone()[0]
    partitions = -(-count // PARTITION_RECORDS)
    if partitions <= 1:
        yield stage_records(_payloads(con, channel.id), channel, plan)
        return
    scratch = _scratch_dir(con)
    try:
        key = pl.when(pl.col("_reason").is_null()).then(plan.key_text)
        schema = _payloads_schema(con)
        # the reader streams the connection's result: nothing in the loop may run a query on ``con``
        slices = con.execute(_PAYLOADS_OF_CHANNEL, [channel.id]).to_arrow_reader(PARTITION_RECORDS)
        for number, batch in enumerate(slices):  # slices by record, whatever their keys
            staged = stage_records(pl.from_arrow(batch, schema_overrides=schema), channel, plan)
            staged.with_columns((key.hash(seed=0) % partitions).alias(_PARTITION)).write_parquet(
                scratch / f"slice-{number}.parquet"
            )
            del staged
        slices = pl.scan_parquet(scratch / "slice-*.parquet")
        for part in range(partitions):
            yield slices.filter(pl.col(_PARTITION) == part).drop(_PARTITION).collect()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_PARTITION = "_otklik_partition"
_SCRATCH_PREFIX = ".otklik-staging-"


def _scratch_dir(con: duckdb.DuckDBPyConnection) -> Path:
    """A new directory (mode 0700) for staged rows on their way to their partition: beside the warehouse
    file, whose disk holds the warehouse anyway (not the system's temporary directory, which may be
    memory), or the system's for an in-memory warehouse. The staged rows hold what the payloads hold, so
    they stay with the warehouse's own files; directories a killed build left there are removed (one
    writer at a time holds the warehouse, so none is in use)."""
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    beside = Path(path[0]).parent if path and path[0] and Path(path[0]).is_file() else None
    if beside is not None:
        for stale in beside.glob(f"{_SCRATCH_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX, dir=beside))


def _write_parts(
    con: duckdb.DuckDBPyConnection, model: StagedEntity, parts: dict[str, list[pl.DataFrame]], *, with_index: bool
) -> None:
    """Append one channel's staged parts to the entity's tables, its rejects and (``with_index``) the index."""
    frames = {name: pl.concat(frames, how="vertical") for name, frames in parts.items()}
    for table, frame in _entity_tables(model, frames).items():
        _insert(con, table, frame)
    _insert(con, "quarantine.staging_rejects", frames["rejects"])
    if with_index:
        _insert(con, INDEX_TABLE, frames["index"])


def _unknown_index(unknown: pl.DataFrame) -> pl.DataFrame:
    return unknown.select(
        entity=pl.col("entity"),
        channel_id=pl.col("channel_id"),
        _batch_id=pl.col("_batch_id"),
        _source_file=pl.col("_source_file"),
        _record_index=pl.col("_record_index"),
        key_text=pl.lit(None, pl.String),
        check_reason=pl.col("reason"),
    ).cast(INDEX_COLUMNS)


def _entity_tables(model: StagedEntity, frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    tables = {f"staging.{model.name}": frames["rows"]}
    if model.entity == "feedback":
        tables |= {FEEDBACK_VERSIONS_TABLE: frames["history"], CUSTOMER_CONTACTS_TABLE: frames["contacts"]}
    return tables


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame)
    try:
        if frame.is_empty():
            _create_like(con, table, "_frame", replace=True)
        else:
            con.execute(f"create or replace table {table} as select * from _frame")
    finally:
        con.unregister("_frame")


def _create_like(
    con: duckdb.DuckDBPyConnection, table: str, relation: str, *, replace: bool, temp: bool = False
) -> None:
    """Create ``table`` empty, with the columns and types of ``relation``, by its column list.

    Not ``create table ... as select * from <empty frame>``: in a transaction, DuckDB 1.5.5 then loses the
    rows of a later insert of a registered frame of more than a row group (122,880 rows) into that table,
    without an error, at commit too (tests/warehouse/test_staging_incremental.py shows it and guards
    against it). A first build's record index was lost that way, and the next build staged everything again."""
    columns = ", ".join(f'"{name}" {dtype}' for name, dtype, *_ in con.execute(f"describe {relation}").fetchall())
    kind = "temp table" if temp else "table"
    verb = f"create or replace {kind}" if replace else f"create {kind} if not exists"
    con.execute(f"{verb} {table} ({columns})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    # Not a registered frame: a build from nothing appends partition after partition in one transaction,
    # which would hold every one of them until it ends (warehouse/frames.py).
    insert_frame(con, table, frame)


def _record_state(
    con: duckdb.DuckDBPyConnection, entity: str, digest: str, as_of: datetime, index: pl.DataFrame, *, replace: bool
) -> None:
    con.execute(
        f"create table if not exists {STATE_TABLE} (entity varchar not null, digest varchar not null,"
        " as_of timestamptz not null)"
    )
    con.execute(f"delete from {STATE_TABLE} where entity = ?", [entity])
    con.execute(f"insert into {STATE_TABLE} values (?, ?, ?)", [entity, digest, as_of])
    if replace or not table_exists(con, INDEX_TABLE):
        con.register("_frame", index)
        try:
            _create_like(con, INDEX_TABLE, "_frame", replace=False)
        finally:
            con.unregister("_frame")
        con.execute(f"delete from {INDEX_TABLE} where entity = ?", [entity])
    _insert(con, INDEX_TABLE, index)


def _add_new_batches(
    con: duckdb.DuckDBPyConnection, model: StagedEntity, ctx: BuildContext, digest: str
) -> dict[str, int]:
    """Bring the entity's tables up to date with the batches the last build did not read (module docstring).

    Every pick reads what is new or what the index names, not the history: the new batches (``_batches``)
    are those of the entity's channels that the index lacks; the records to stage again (``_old``: the future
    dates, and the earlier records sharing a key with a new one) are found in the index, and read back from raw
    and deleted from the staged tables by their batch first (one plain column), then by their whole origin
    among those few rows."""
    channels = [c for c in ctx.channels if c.entity == model.entity]
    plans = {c.id: channel_plan(c, pii_key=ctx.pii_key, as_of=ctx.as_of) for c in channels}
    ids = [c.id for c in channels]
    is_new = "p._batch_id in (select _batch_id from _new_batches)"  # written by _can_add
    # The new records, and those whose verdict hangs on the clock: one read for every channel.
    con.execute(
        f"create or replace temp table _old as select {_OLD_COLUMNS} from {INDEX_TABLE}"
        " where entity = ? and check_reason = 'future_date'",
        [model.entity],
    )
    due_rows = _entity_payloads(con, ids, is_new, old=_count(con, "_old") > 0)
    staged_now: dict[str, pl.DataFrame] = {}
    keys = [pl.DataFrame(schema={"channel_id": pl.String(), "key_text": pl.String()})]
    for channel in channels:
        plan = plans[channel.id]
        rows = due_rows.filter(pl.col("channel_id") == channel.id).drop("channel_id")
        if rows.is_empty():
            continue
        staged = stage_records(rows, channel, plan)
        staged_now[channel.id] = staged
        passed = staged.filter(pl.col("_reason").is_null())
        keys.append(passed.select(channel_id=pl.lit(channel.id), key_text=plan.key_text).unique())
    # The earlier records that share a key with them (a passed record has a key, a future date none).
    con.register("_keys", pl.concat(keys, how="vertical"))
    try:
        con.execute(
            f"create or replace temp table _earlier as select {_OLD_COLUMNS} from {INDEX_TABLE} where rowid in"
            f" (select i.rowid from {INDEX_TABLE} as i inner join _keys as k"
            " on i.channel_id = k.channel_id and i.key_text = k.key_text where i.entity = ?)",
            [model.entity],
        )
    finally:
        con.unregister("_keys")
    earlier_rows = _entity_payloads(con, ids, None, old=_count(con, "_earlier") > 0, old_table="_earlier")
    con.execute("insert into _old select * from _earlier")
    con.execute("drop table _earlier")
    parts = _empty_parts(model.entity)
    for channel in channels:
        plan = plans[channel.id]
        if channel.id not in staged_now:  # nothing new: no key of it was touched either
            continue
        earlier = earlier_rows.filter(pl.col("channel_id") == channel.id).drop("channel_id")
        staged = staged_now[channel.id]
        if not earlier.is_empty():  # most channels of a small build have none: their plan is not run on no rows
            staged = pl.concat([staged, stage_records(earlier, channel, plan)], how="vertical")  # (~12 ms each)
        _add(parts, resolve_records(staged, channel, plan), _index_rows(staged, channel, plan.key_text))
    if model.entity == "feedback":
        unknown = _unknown_channel_rejects(con, [c.id for c in ctx.channels], model.entity, f"and {is_new}")
        parts["rejects"].append(unknown)
        parts["index"].append(_unknown_index(unknown))
    frames = {name: pl.concat(frames, how="vertical") for name, frames in parts.items()}
    try:
        return _merge(con, model, ctx, digest, frames)
    finally:
        con.execute("drop table if exists _old")


# The index's columns that name a record: its channel and origin.
_OLD_COLUMNS = "channel_id, _batch_id, _source_file, _record_index"


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _by_origin(table: str, alias: str = "") -> str:
    """The rows whose origin is one of ``table``'s (``_old``): by batch first, a plain column whose semi join is
    cheap on every row, then by the whole origin among the rows of those batches only."""
    origin = ", ".join(f"{alias}{c}" for c in ORIGIN)
    return (
        f"{alias}_batch_id in (select _batch_id from {table})"
        f" and ({origin}) in (select (_batch_id, _source_file, _record_index) from {table})"
    )


def _entity_payloads(
    con: duckdb.DuckDBPyConnection, channel_ids: list[str], where: str | None, *, old: bool, old_table: str = "_old"
) -> pl.DataFrame:
    """The payloads (``_payloads``, with their channel_id) of the entity's channels that ``where`` keeps and,
    when ``old``, of the records ``old_table`` names (``_by_origin``).

    The rows are picked by row id first (each pick reads the columns it names), then read whole: the payloads
    of the rows kept, not of every row (``scoped_build.by_row_id``)."""
    picks = [
        f"select p.rowid from raw.channel_payloads as p where list_contains(?::varchar[], p.channel_id) and {w}"
        for w in ([where] if where else []) + ([_by_origin(old_table, "p.")] if old else [])
    ]
    if not picks:
        return pl.DataFrame(schema={"channel_id": pl.String(), **_payloads_schema(con)})
    return con.execute(
        "select p.channel_id, p.payload::varchar as payload, p._batch_id, p._source_file, p._record_index,"
        " b.batch_seq as _batch_seq"
        " from raw.channel_payloads as p left join raw.batches as b on b.batch_id = p._batch_id"
        f" where p.rowid in ({' union all '.join(picks)}) order by p._source_file, p._record_index",
        [channel_ids] * len(picks),
    ).pl()


def _payloads_schema(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataType]:
    return _payloads(con, "", "and false").schema


def _merge(
    con: duckdb.DuckDBPyConnection,
    model: StagedEntity,
    ctx: BuildContext,
    digest: str,
    frames: dict[str, pl.DataFrame],
) -> dict[str, int]:
    """Delete what the re-staged earlier records (``_old``) produced before (by origin), insert what the
    staged records produce now. A new record produced nothing before: its batch is not in the index, and
    a build writes a batch's rows and its index rows in one transaction."""
    tables = _entity_tables(model, frames)
    old = _count(con, "_old") > 0
    by_origin = _by_origin("_old")
    con.execute("begin transaction")
    try:
        for number, table in enumerate(tables):  # what the re-staged records produced before: changed too
            if table == CUSTOMER_CONTACTS_TABLE:
                continue
            if not old:  # nothing staged before is staged again: nothing is gone
                con.execute(f"create or replace temp table _gone_{number} as select * from {table} limit 0")
                continue
            # picked once, by row id: kept for the keys and the fingerprint, then deleted
            con.execute(
                f"create or replace temp table _gone_ids as select rowid as row_id from {table} where {by_origin}"
            )
            con.execute(
                f"create or replace temp table _gone_{number} as select * from {table}"
                " where rowid in (select row_id from _gone_ids)"
            )
            scoped_build.record_keys(con, table, f"select * from _gone_{number}")
            con.execute(f"delete from {table} where rowid in (select row_id from _gone_ids)")
            con.execute("drop table _gone_ids")
        if model.entity == "feedback":
            con.register("_current", frames["rows"].select("feedback_id"))
            con.execute(
                f"delete from {CUSTOMER_CONTACTS_TABLE} where feedback_id in (select feedback_id from _current)"
            )
        if old:
            con.execute(f"delete from quarantine.staging_rejects where entity = ? and {by_origin}", [model.entity])
            con.execute(f"delete from {INDEX_TABLE} where entity = ? and {by_origin}", [model.entity])
        for number, (table, frame) in enumerate(tables.items()):
            if table == CUSTOMER_CONTACTS_TABLE:
                _insert(con, table, frame)
                continue
            # the rows as the table holds them (its columns, order and types), for their keys and fingerprint
            _create_like(con, f"_added_{number}", table, replace=True, temp=True)
            _insert(con, f"_added_{number}", frame)
            con.execute(f"insert into {table} select * from _added_{number}")
            scoped_build.record_keys(con, table, f"select * from _added_{number}")
            scoped_build.record_fingerprint_delta(con, table, removed=f"_gone_{number}", added=f"_added_{number}")
            con.execute(f"drop table _added_{number}")
            con.execute(f"drop table _gone_{number}")
        if CUSTOMER_CONTACTS_TABLE in tables:
            scoped_build.record_whole(con, [CUSTOMER_CONTACTS_TABLE])  # read by no model; fingerprinted whole
        _insert(con, "quarantine.staging_rejects", frames["rejects"])
        _record_state(con, model.entity, digest, ctx.as_of, frames["index"], replace=False)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        if model.entity == "feedback":
            con.unregister("_current")
    return {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in tables}
