"""Build one staging entity from raw.channel_payloads, and its rejects into quarantine.

Every raw record of every channel of the entity ends in exactly one of the staging table, the
versions table (feedback: earlier versions of edited items, ``staging.stg_channels__feedback_versions``)
or ``quarantine.staging_rejects``; records of channels no longer in the registry are rejected as
'unknown_channel' rather than dropped. Feedback contacts go to ``restricted.customer_contacts``.
All of an entity's tables and its rejects are replaced in one transaction.
"""

import duckdb
import polars as pl

from transforms.dag import BuildContext, StagedEntity
from transforms.normalize import normalize_channel
from transforms.schemas import (
    CUSTOMER_CONTACT_COLUMNS,
    CUSTOMER_CONTACTS_TABLE,
    ENTITY_SCHEMAS,
    FEEDBACK_VERSIONS_TABLE,
    REJECT_COLUMNS,
    VERSION_COLUMNS,
)


def _payloads(con: duckdb.DuckDBPyConnection, channel_id: str) -> pl.DataFrame:
    # A left join: a payload whose batch is missing from the ledger (which the raw checks report)
    # is still normalized, with a null load order, rather than silently left out.
    return con.execute(
        "select p.payload::varchar as payload, p._batch_id, p._source_file, p._record_index,"
        " b.batch_seq as _batch_seq"
        " from raw.channel_payloads as p left join raw.batches as b on b.batch_id = p._batch_id"
        " where p.channel_id = ? order by p._source_file, p._record_index",
        [channel_id],
    ).pl()


def _unknown_channel_rejects(con: duckdb.DuckDBPyConnection, known: list[str], entity: str) -> pl.DataFrame:
    rows = con.execute(
        "select channel_id, _batch_id, _source_file, _record_index from raw.channel_payloads"
        " where not list_contains(?, channel_id)",
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


def build_staged_entity(con: duckdb.DuckDBPyConnection, model: StagedEntity, ctx: BuildContext) -> dict[str, int]:
    """Normalize every channel of ``model.entity``; return row counts by table written."""
    schema = ENTITY_SCHEMAS[model.entity]
    parts: dict[str, list[pl.DataFrame]] = {
        "rows": [pl.DataFrame(schema=schema.columns)],
        "history": [pl.DataFrame(schema={**schema.columns, **VERSION_COLUMNS})],
        "contacts": [pl.DataFrame(schema=CUSTOMER_CONTACT_COLUMNS)],
        "rejects": [pl.DataFrame(schema=REJECT_COLUMNS)],
    }
    for channel in ctx.channels:
        if channel.entity != model.entity:
            continue
        result = normalize_channel(_payloads(con, channel.id), channel, pii_key=ctx.pii_key, as_of=ctx.as_of)
        for name, frames in parts.items():
            frames.append(getattr(result, name))
    if model.entity == "feedback":  # raw rows of unregistered channels are counted once, here
        parts["rejects"].append(_unknown_channel_rejects(con, [c.id for c in ctx.channels], model.entity))
    frames = {name: pl.concat(frames, how="vertical") for name, frames in parts.items()}
    tables = {f"staging.{model.name}": frames["rows"]}
    if model.entity == "feedback":
        tables |= {FEEDBACK_VERSIONS_TABLE: frames["history"], CUSTOMER_CONTACTS_TABLE: frames["contacts"]}
    con.execute("begin transaction")
    try:
        for table, frame in tables.items():
            con.register("_frame", frame)
            con.execute(f"create or replace table {table} as select * from _frame")
        con.execute("delete from quarantine.staging_rejects where entity = ?", [model.entity])
        con.register("_rejected", frames["rejects"])
        con.execute("insert into quarantine.staging_rejects by name select * from _rejected")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_frame")
        con.unregister("_rejected")
    return {table: frame.height for table, frame in tables.items()}
