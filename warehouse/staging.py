"""Build one staging entity from raw.channel_payloads, and its rejects into quarantine.

Every raw record of every channel of the entity ends in exactly one of the staging table or
``quarantine.staging_rejects``. Records of channels no longer in the registry are rejected
as 'unknown_channel' rather than dropped.
"""

import duckdb
import polars as pl

from transforms.dag import BuildContext, StagedEntity
from transforms.normalize import normalize_channel
from transforms.schemas import ENTITY_SCHEMAS, REJECT_COLUMNS


def _payloads(con: duckdb.DuckDBPyConnection, channel_id: str) -> pl.DataFrame:
    return con.execute(
        "select payload::varchar as payload, _batch_id, _source_file, _record_index"
        " from raw.channel_payloads where channel_id = ? order by _source_file, _record_index",
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
    schema = ENTITY_SCHEMAS[model.entity]
    rows: list[pl.DataFrame] = [pl.DataFrame(schema=schema.columns)]
    rejects: list[pl.DataFrame] = [pl.DataFrame(schema=REJECT_COLUMNS)]
    for channel in ctx.channels:
        if channel.entity != model.entity:
            continue
        result = normalize_channel(_payloads(con, channel.id), channel, pii_key=ctx.pii_key, as_of=ctx.as_of)
        rows.append(result.rows)
        rejects.append(result.rejects)
    if model.entity == "feedback":  # raw rows of unregistered channels are counted once, here
        rejects.append(_unknown_channel_rejects(con, [c.id for c in ctx.channels], model.entity))
    staged = pl.concat(rows, how="vertical")
    rejected = pl.concat(rejects, how="vertical")
    table = f"staging.{model.name}"
    con.execute("begin transaction")
    try:
        con.register("_staged", staged)
        con.execute(f"create or replace table {table} as select * from _staged")
        con.execute("delete from quarantine.staging_rejects where entity = ?", [model.entity])
        con.register("_rejected", rejected)
        con.execute("insert into quarantine.staging_rejects by name select * from _rejected")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_staged")
        con.unregister("_rejected")
    return {table: staged.height}
