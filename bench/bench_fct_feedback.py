"""Time validate_layer on a synthetic core.fct_feedback (not a test: run it by hand).

    .venv/bin/python bench/bench_fct_feedback.py --rows 1000000
    .venv/bin/python bench/bench_fct_feedback.py --rows 10000000 --database /tmp/bench.duckdb

Plants a few violations (unless --clean) so that the failure path, with its samples, is timed too.
"""

import argparse
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from expectations import DataQualityError, validate_layer
from expectations.core.fct_feedback import KINDS, TABLE, directorate_ids, feedback_channel_ids
from warehouse.connection import session_defaults
from warehouse.migrate import apply_migrations

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
CLASSIFIED = [k for k in KINDS if k != "unclassified"]


def generate(con: duckdb.DuckDBPyConnection, rows: int, *, clean: bool) -> None:
    def sql_list(values: list[str] | tuple[str, ...]) -> str:
        return "[" + ", ".join(f"'{v}'" for v in values) + "]"

    # 135 types (the size of the retailer's taxonomy), each owned by one directorate, as the build makes it.
    owners = [d for d in directorate_ids() if d != "unassigned"]
    con.execute("create schema if not exists core")
    con.execute(
        f"""
        create or replace table core.dim_feedback_types as
        select 'type_' || t as feedback_type_id, {sql_list(owners)}[1 + t % {len(owners)}] as directorate_id
        from range(135) as r(t)
        union all select 'unclassified', 'unassigned'
        """
    )
    con.execute(
        f"""
        create or replace table {TABLE} as
        with base as (
            select
                i,
                timestamptz '2024-01-01 00:00:00+00' + to_seconds((i * 83) % (86400 * 1000)) as received_at,
                case when i % 3 = 0 then (i % 11)::double end as score
            from range({rows}) as t(i)
        )
        select
            'fb-' || i as feedback_id,
            {sql_list(feedback_channel_ids())}[1 + i % {len(feedback_channel_ids())}] as channel_id,
            received_at,
            date_trunc('month', received_at)::date as received_month,
            -- 5% unclassified: under the warning's limit
            case when i % 20 = 7 then 'unclassified' else {sql_list(CLASSIFIED)}[1 + i % 4] end as kind,
            'type_' || (i % 135) as feedback_type_id,
            {sql_list(owners)}[1 + (i % 135) % {len(owners)}] as directorate_id,
            'store_' || (i % 300) as store_id,
            i % 10 <> 0 as has_text,
            score as score_raw,
            case when score is null then 'none' else '0-10' end as score_scale,
            score as score_10,
            case when score is null then 'none' else 'nps' end as question_type,
            case
                when score >= 9 then 'promoter'
                when score >= 7 then 'passive'
                when score >= 0 then 'detractor'
            end as nps_group,
            i % 4 = 0 as has_contact_request,
            'c' || (i % 50000) as customer_key,
            'b2c' as segment,
            'web' as device,
            'cv-' || (i // 2) as conversation_id,  -- two items a conversation, the second repeats it
            i % 2 = 1 as is_conversation_repeat
        from base
        """
    )
    if not clean:
        con.execute(f"update {TABLE} set channel_id = 'fax' where feedback_id in ('fb-10', 'fb-20', 'fb-30')")
        con.execute(f"update {TABLE} set score_10 = 12 where feedback_id in ('fb-3', 'fb-6')")
        con.execute(f"update {TABLE} set feedback_id = 'fb-1' where feedback_id = 'fb-2'")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default=":memory:", help="a file path to validate a file warehouse")
    parser.add_argument("--clean", action="store_true", help="plant no violations")
    parser.add_argument("--docs", type=Path, help="also build Data Docs into this folder")
    args = parser.parse_args()

    con = duckdb.connect(args.database)
    session_defaults(con)
    apply_migrations(con)
    started = time.perf_counter()
    generate(con, args.rows, clean=args.clean)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    import great_expectations  # noqa: F401  (timed apart: ~4.5 s once per process)

    print(f"import great_expectations: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    try:
        report = validate_layer(con, "core", run_id="bench", as_of=AS_OF, docs_dir=args.docs, tables={TABLE})
        outcome = f"passed, {len(report.warnings)} warning(s)"
    except DataQualityError as exc:
        outcome = f"raised DataQualityError:\n{exc}"
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"validate_layer(core) on {args.rows:,} rows: {elapsed:.2f} s, peak RSS {peak_mb:.0f} MB; {outcome}")
    con.close()


if __name__ == "__main__":
    main()
