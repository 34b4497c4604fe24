"""SQL models: ``transforms/sql/<layer>/<name>.sql`` (a single pure select) and their build variables.

A SQL model is one file ``transforms/sql/<layer>/<name>.sql`` holding a single pure select.
SQL models may read two build variables: ``getvariable('as_of')`` (TIMESTAMPTZ, the clock
against which open SLAs are judged, recorded in the run ledger so replays see the same clock)
and ``getvariable('reporting_timezone')`` (VARCHAR, the zone whose months and weeks reports use).
"""

from datetime import datetime
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "transforms" / "sql"

# The metric definitions of docs/metrics.md that several marts share, as DuckDB macros, so each is
# written once (tests/transforms/sql/marts/test_metric_properties.py holds them against Python oracles).
# Temporary: they live in the building connection, not in the warehouse file; the assert_*.sql
# checks do not use them, since validation may run on another connection.
METRIC_MACROS = (
    # NPS (and tNPS, eNPS) = 100 × (promoters − detractors) / answers, in −100…100; null without answers
    "create or replace temp macro nps(promoters, detractors, answers) as"
    " 100 * (promoters - detractors) / nullif(answers, 0)",
    # Each answer scores +1 / 0 / −1 and NPS is 100 × their mean; its standard error follows from that
    # score's variance p_P + p_D − (p_P − p_D)², floored at 0 against rounding.
    "create or replace temp macro nps_standard_error(promoters, detractors, answers) as"
    " case when answers > 0 then 100 * sqrt(greatest(0,"
    " (promoters + detractors) / answers - ((promoters - detractors) / answers) ** 2) / answers) end",
    # The 95% normal interval (z = 1.96), clipped to −100…100; null without answers.
    "create or replace temp macro nps_ci_low(promoters, detractors, answers) as"
    " case when answers > 0 then greatest(-100,"
    " nps(promoters, detractors, answers) - 1.96 * nps_standard_error(promoters, detractors, answers)) end",
    "create or replace temp macro nps_ci_high(promoters, detractors, answers) as"
    " case when answers > 0 then least(100,"
    " nps(promoters, detractors, answers) + 1.96 * nps_standard_error(promoters, detractors, answers)) end",
    # CSI = count(8–10) / count(0–3) on the 0–10 recommend question; undefined (null) without low scores
    "create or replace temp macro csi(high_count, low_count) as high_count / nullif(low_count, 0)",
    # A share or rate: null (not 0, not an error) when the denominator is 0 or unknown
    "create or replace temp macro share(part, whole) as part / nullif(whole, 0)",
)


def create_metric_macros(con: duckdb.DuckDBPyConnection) -> None:
    for statement in METRIC_MACROS:
        con.execute(statement)


def model_path(layer: str, name: str) -> Path:
    return SQL_DIR / layer / f"{name}.sql"


def render_model_sql(layer: str, name: str) -> str:
    return model_path(layer, name).read_text(encoding="utf-8")


def set_build_variables(con: duckdb.DuckDBPyConnection, *, as_of: datetime, reporting_timezone: str) -> None:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    con.execute("set variable as_of = ?::timestamptz", [as_of])
    con.execute("set variable reporting_timezone = ?", [reporting_timezone])
    create_metric_macros(con)


def materialize_sql(con: duckdb.DuckDBPyConnection, layer: str, name: str) -> int:
    """Build one SQL model; return its row count."""
    sql = render_model_sql(layer, name).rstrip().rstrip(";")
    con.execute(f"create or replace table {layer}.{name} as {sql}")
    return con.execute(f"select count(*) from {layer}.{name}").fetchone()[0]
