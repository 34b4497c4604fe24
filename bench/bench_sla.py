"""SLA engine throughput: every SLA model of the core layer on N generated cases (default 1,000,000).

    .venv/bin/python bench/bench_sla.py --cases 1000000

Case events are generated set-based in DuckDB (not by the sample generator): each case opens at a
random moment of a year, gets a first contact, may wait for the customer (8%), is resolved and closed,
and may be reopened (3%); its feedback item comes from a random channel, some with "contact me" ticked.
The shipped policies.yaml (six policies, a 24x7 and a Moscow office calendar) is seeded as the build
does. Prints the wall time of each model and of the SLA models together, and the peak RSS.
"""

import argparse
import resource
import time
from datetime import UTC, datetime

import polars as pl

from transforms.dag import BuildContext, _sla_calendar_days
from transforms.org import load_org
from transforms.sla import (
    calendar_hours_frame,
    calendars_frame,
    load_calendars,
    load_policies,
    policies_frame,
    targets_frame,
)
from transforms.taxonomy import load_feedback_types
from warehouse import connect_memory
from warehouse.build import write_frame
from warehouse.sql_models import materialize_sql, set_build_variables

AS_OF = datetime(2026, 12, 31, tzinfo=UTC)
SLA_MODELS = ("int_sla_calendar_intervals", "int_sla_clocks", "int_sla_clock_marks", "fct_case_sla", "fct_sla_events")
CHANNELS = "['nps_email_survey', 'web_form', 'website_chat', 'whatsapp', 'email_inbox', 'call_centre_notes']"

GENERATE_EVENTS = """
create or replace table staging.stg_crm__case_events as
with cases as (
    select
        'CS-' || i as case_id,
        timestamptz '2026-01-01 00:00:00+00' + to_seconds((random() * 365 * 86400)::bigint) as opened_at,
        to_minutes((random() * 120)::bigint) as to_contact,
        to_minutes((random() * 2000)::bigint) as to_resolve,
        random() as r1,
        random() as r2,
        random() < 0.06 as vip
    from range({cases}) as t(i)
),
events as (
    select case_id, 'opened' as event_type, opened_at as event_at, vip from cases
    union all select case_id, 'first_contact', opened_at + to_contact, vip from cases
    union all select case_id, 'waiting_customer', opened_at + to_contact + interval 10 minute, vip from cases
        where r1 < 0.08
    union all select case_id, 'resumed', opened_at + to_contact + interval 5 hour, vip from cases where r1 < 0.08
    union all select case_id, 'resolved', opened_at + to_contact + to_resolve + interval 6 hour, vip from cases
    union all select case_id, 'closed', opened_at + to_contact + to_resolve + interval 7 hour, vip from cases
    union all select case_id, 'reopened', opened_at + to_resolve + interval 2 day, vip from cases where r2 < 0.03
    union all select case_id, 'resolved', opened_at + to_resolve + interval 3 day, vip from cases where r2 < 0.03
    union all select case_id, 'closed', opened_at + to_resolve + interval 3 day + interval 1 hour, vip from cases
        where r2 < 0.03
)
select
    case_id,
    event_type,
    event_at,
    'f:' || case_id as feedback_id,
    'retail' as directorate_id,
    'stores_moscow' as department_id,
    'm_orlov' as manager_id,
    if(vip, 'vip', 'normal') as priority,
    'bench' as _batch_id,
    0 as _record_index,
    'bench.csv' as _source_file
from events
"""

GENERATE_FEEDBACK = f"""
create or replace table core.fct_feedback as
select
    feedback_id,
    {CHANNELS}[1 + (hash(feedback_id) % 6)::int] as channel_id,
    min(event_at) - interval 3 minute as received_at,
    hash(feedback_id) % 5 = 0 as has_contact_request,
    ['delivery_late', 'fraud', 'store_queue', 'product_quality'][1 + (hash(feedback_id) % 4)::int] as feedback_type_id
from staging.stg_crm__case_events
group by feedback_id
"""


def timed(label: str, action) -> float:
    started = time.perf_counter()
    rows = action()
    seconds = time.perf_counter() - started
    print(f"{label:<32} {seconds:7.2f} s  {rows if rows is not None else '':>10}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    con = connect_memory()
    policies, calendars = load_policies(), load_calendars()
    ctx = BuildContext(
        as_of=AS_OF,
        reporting_timezone="Europe/Moscow",
        channels=(),
        org=load_org(),
        feedback_types=(),
        sla_policies=policies,
        pii_key=b"bench",
        sla_calendars=calendars,
    )
    for table, frame in {
        "staging.stg_config__sla_policies": policies_frame(policies),
        "staging.stg_config__sla_targets": targets_frame(policies),
        "staging.stg_config__sla_calendars": calendars_frame(calendars),
        "staging.stg_config__sla_calendar_hours": calendar_hours_frame(calendars),
        "staging.stg_config__sla_calendar_days": _sla_calendar_days(ctx),
        # only the columns the SLA models read
        "staging.stg_config__feedback_types": pl.DataFrame(
            [{"feedback_type_id": t.feedback_type_id, "sla_class": t.sla_class} for t in load_feedback_types()]
        ),
    }.items():
        write_frame(con, table, frame)
    con.execute("create or replace table core.dim_directorates as select 'retail' as directorate_id")
    set_build_variables(con, as_of=AS_OF, reporting_timezone="Europe/Moscow")
    timed("generate case events", lambda: con.execute(GENERATE_EVENTS.format(cases=args.cases)).fetchone()[0])
    timed("generate feedback items", lambda: con.execute(GENERATE_FEEDBACK).fetchone()[0])
    timed("core.fct_cases", lambda: materialize_sql(con, "core", "fct_cases"))
    total = sum(timed(f"core.{name}", lambda name=name: materialize_sql(con, "core", name)) for name in SLA_MODELS)
    print(f"{'SLA models together':<32} {total:7.2f} s  for {args.cases:,} cases")
    states = con.sql("select sla_policy_id, sla_state, count(*) from core.fct_case_sla group by all order by all")
    print(states)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
