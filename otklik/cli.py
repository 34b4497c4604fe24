"""The otklik command line. Prefect is imported only by the commands that run flows."""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otklik.channels_cli import channels_app
from otklik.classify_cli import classify_app
from otklik.local_postgres import postgres_app
from otklik.prefect_env import configure_prefect_env

if TYPE_CHECKING:
    import polars as pl

    from otklik.prefect_server import TemporaryServer
from otklik.qa_cli import qa_app
from otklik.sla_cli import sla_app

configure_prefect_env()

app = typer.Typer(
    help="otklik: customer feedback from 20+ channels into DuckDB, checked, SLA-flagged, reviewed monthly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # main() turns operator errors into one line; bugs keep a plain traceback
)
console = Console()

MonthOption = Annotated[str, typer.Option(help="Reporting month, YYYY-MM.")]
AsOfOption = Annotated[
    str | None, typer.Option(help="ISO time open SLAs are judged against (default: now); recorded for replays.")
]
LandingOption = Annotated[Path | None, typer.Option(help="Landing folder (default: $OTKLIK_LANDING or data/landing).")]


def _fail(message: str) -> None:
    _print_error(message)
    raise typer.Exit(code=1)


def _print_error(message: str) -> None:
    """``error: ...`` on one line (never wrapped, never read as markup); a message of several lines
    (one per config problem, or a check's list) keeps them, each problem line marked ``error:``."""
    for line in str(message).splitlines() or [""]:
        prefix = "" if line[:1].isspace() else "[bold red]error:[/] "
        console.print(prefix + escape(line), soft_wrap=True, highlight=False)


MonthsOption = Annotated[
    int,
    typer.Option(
        min=1,
        help="Months of history ending with --month (13: a year back, for month-on-month and year-on-year).",
    ),
]


@app.command()
def generate(
    month: MonthOption = "2026-10",
    items: Annotated[
        int, typer.Option(min=1, help="Feedback items across all channels (with --months > 1: a typical month's).")
    ] = 25_000,
    months: MonthsOption = 1,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 42,
    landing: LandingOption = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the channel folders' files if there are any.")] = False,
) -> None:
    """Write a deterministic sample landing folder of native-format channel exports."""
    from flows.settings import landing_dir

    target = landing or landing_dir()
    started = time.perf_counter()
    summaries = _generate(target, month=month, months=months, items=items, seed=seed, overwrite=overwrite)
    if len(summaries) == 1:
        table = summaries[0].as_table()
        table.title = escape(str(table.title))  # it names the landing folder: a path, not markup
    else:
        table = Table(title=f"Sample history {summaries[0].month} … {summaries[-1].month} (seed {seed})")
        for name in ("month", "items", "cases", "case events", "planted bad"):
            table.add_column(name, justify="left" if name == "month" else "right")
        for summary in summaries:
            table.add_row(
                summary.month,
                f"{summary.items:,}",
                f"{summary.cases:,}",
                f"{summary.case_events:,}",
                f"{len(summary.bad_records):,}",
            )
    console.print(table)
    console.print(f"Wrote {target} in {time.perf_counter() - started:.1f} s", markup=False)


def _generate(target: Path, *, month: str, months: int, items: int, seed: int, overwrite: bool = False) -> list:
    from otklik.sample import generate_landing
    from otklik.sample.history import generate_history

    what = f"{items:,} items for {month}" if months == 1 else f"{months} months ending {month}, {items:,} items a month"
    with console.status(f"Generating {escape(what)} into {escape(str(target))} ..."):
        try:
            if months == 1:
                return [generate_landing(target, month=month, items=items, seed=seed, overwrite=overwrite)]
            return generate_history(
                target, last_month=month, months=months, items=items, seed=seed, overwrite=overwrite
            )
        except FileExistsError as exc:
            _fail(f"{exc} (use --overwrite to replace the sample files)")
    raise AssertionError("unreachable")


@app.command()
def ingest(
    group: Annotated[
        str | None, typer.Option(help="Only this schedule group (every_15_minutes, hourly, daily).")
    ] = None,
    landing: LandingOption = None,
) -> None:
    """Load new landed files into raw (a file already loaded is skipped by its content hash)."""
    from flows.ingest import ingest_channels

    _require_landing(landing)  # a wrong folder is one line before any flow run starts
    with console.status("Ingesting landed files ..."):
        summary = ingest_channels(schedule_group=group, landing=str(landing) if landing else None)
    _print_ingest(summary)


def _require_landing(landing: Path | None) -> None:
    from flows.settings import landing_dir

    target = (landing or landing_dir()).expanduser()
    if not target.is_dir():
        _fail(
            f"landing folder {target} does not exist: give --landing or set OTKLIK_LANDING to the folder "
            "the channel exports land in (`otklik generate` writes a sample one)"
        )


@app.command()
def build(as_of: AsOfOption = None) -> None:
    """Rebuild staging, core and marts, stopping at the first layer that fails its checks."""
    from flows.build_warehouse import build_warehouse

    with console.status("Building the warehouse ..."):
        built = build_warehouse(as_of=as_of)
    _print_counts("Tables built", built)


@app.command()
def review(
    month: Annotated[str | None, typer.Option(help="Publish the monthly review of this month, YYYY-MM.")] = None,
    week: Annotated[str | None, typer.Option(help="Publish the weekly review of this ISO week, YYYY-Www.")] = None,
    directorate: Annotated[str | None, typer.Option(help="Weekly review of one directorate (default: each).")] = None,
    republish: Annotated[bool, typer.Option(help="Freeze a new version (restatement) of a published period.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why it is republished; shown in the restatement.")] = None,
) -> None:
    """Publish a review (freeze its figures, write HTML, drill-down page and XLSX); a published period is
    re-rendered from its frozen version unless --republish."""
    from flows.review import monthly_review, published_version
    from transforms.review.periods import month_period

    if (month is None) == (week is None):
        _fail("give exactly one of --month 2026-10 or --week 2026-W45")
    if month is not None and directorate is not None:
        _fail("--directorate goes with --week (the monthly review covers every directorate)")
    if week is not None:  # each directorate's review is a flow run of its own
        from flows.review import weekly_review

        with console.status(f"Publishing the weekly review {escape(week)} ..."):
            paths = weekly_review(week, directorate, republish, reason)
        for path in paths:
            console.print(f"Review: [bold]{escape(str(path))}[/]")
        return
    period = month_period(month)  # a typo is reported before any flow starts
    with console.status(f"Publishing the review for {escape(month)} ..."):
        path = monthly_review(month, republish, reason)
    review_id, lines = published_version(period)
    for line in lines:
        console.print(line, highlight=False, markup=False)
    beside = "-items.html, .xlsx" + (", .pdf" if Path(path).with_suffix(".pdf").is_file() else "")
    console.print(f"Review {escape(review_id)}: [bold]{escape(str(path))}[/] (+ {beside})")


@app.command()
def demo(
    month: MonthOption = "2026-10",
    months: MonthsOption = 13,
    items: Annotated[int, typer.Option(min=1, help="Feedback items in a typical month of the sample.")] = 1_400,
    as_of: AsOfOption = None,
) -> None:
    """Generate sample data (if absent: a year and a month ending with --month), then ingest, build,
    check and review it in one flow run."""
    from contextlib import ExitStack

    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    from flows.pipeline import otklik_pipeline
    from flows.settings import landing_dir
    from warehouse.connection import warehouse_label

    landing = landing_dir()
    started = time.perf_counter()
    server = _start_temporary_prefect_server()  # it boots while the sample is generated
    if not landing.exists() or not any(landing.iterdir()):
        _generate(landing, month=month, months=months, items=items, seed=42)
        console.print(f"Sample data generated in {time.perf_counter() - started:.1f} s", markup=False)
    else:
        console.print(f"Using the landing folder as it is: {landing}", markup=False)
    started = time.perf_counter()
    with console.status("Running the pipeline (ingest → build → checks → review) ..."), ExitStack() as stack:
        if server is not None:
            stack.callback(server.stop)
            try:
                url = server.wait_ready(timeout=PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
            except RuntimeError as error:
                _fail(str(error))
            stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        # sample_checks: the demo's head of customer service draws each month's QA sample and a
        # simulated reviewer checks it (flows/sample_checks.py), so the review's QA section has data
        result = otklik_pipeline(month=month, as_of=as_of, landing=str(landing), sample_checks=True)
    _print_ingest(result["ingest"])
    _print_counts("Tables built", result["build"])
    console.print(f"Pipeline finished in {time.perf_counter() - started:.1f} s")
    console.print(f"Warehouse: [bold]{escape(warehouse_label())}[/]")
    console.print(f"Review:    [bold]{escape(str(result['review']))}[/]")


def _start_temporary_prefect_server() -> "TemporaryServer | None":
    """Prefect's temporary server, booting from now on (~4 s, overlapping the sample's generation), or
    None when a server is configured (PREFECT_API_URL) or temporary servers are off."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    from otklik.prefect_server import TemporaryServer

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    return TemporaryServer()


@app.command()
def backfill(
    from_month: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
    to_month: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM (inclusive).")],
    landing: LandingOption = None,
    as_of: AsOfOption = None,
    republish: Annotated[
        bool, typer.Option(help="Publish a new version (with a restatement) of published months whose figures changed.")
    ] = False,
) -> None:
    """Reprocess a range of months: ingest what has landed, rebuild once, review every month with data.
    Idempotent: running it again changes nothing."""
    from flows.backfill import backfill as backfill_flow
    from flows.backfill import month_range

    months = month_range(from_month, to_month)  # a bad range is reported before any flow starts
    _require_landing(landing)
    with console.status(f"Backfilling {len(months)} month(s), {escape(months[0])} … {escape(months[-1])} ..."):
        result = backfill_flow(
            from_month, to_month, landing=str(landing) if landing else None, as_of=as_of, republish=republish
        )
    _print_ingest(result["ingest"])
    table = Table(title="Months")
    for column in ("month", "items", "review"):
        table.add_column(column, justify="right" if column == "items" else "left")
    for month in months:
        review_file = result["reviews"][month]
        shown = escape(str(review_file)) if review_file else "[yellow]no data: no review[/]"
        table.add_row(escape(month), f"{result['items'][month]:,}", shown)
    console.print(table)


@app.command()
def runs(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest runs.")] = 20,
) -> None:
    """The latest runs from the run ledger (audit.runs), newest first."""
    import json

    from warehouse import connect

    with connect(read_only=True) as con:
        rows = con.execute(
            "select run_id, flow, state, started_at, ended_at, as_of from audit.runs order by started_at desc limit ?",
            [limit],
        ).fetchall()
    keys = ("run_id", "flow", "state", "started_at", "ended_at", "as_of")
    if as_json:
        document = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(keys, r, strict=True)} for r in rows
        ]
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    table = Table(title="Runs")
    for column in ("id", "flow", "state", "start", "end", "as_of"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*(_when(v) if i >= 3 else escape(str(v)) for i, v in enumerate(row)))
    console.print(table)


def _when(value: object) -> str:
    """A timestamp in UTC to the second, without the offset (the ledger stores UTC)."""
    from datetime import UTC

    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[attr-defined]


@app.command()
def replay(
    run_id: Annotated[str, typer.Argument(help="A build-warehouse run id (see `otklik runs`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    checks: Annotated[bool, typer.Option(help="Validate each layer as the build did (slower).")] = True,
) -> None:
    """Rebuild a recorded build in a scratch warehouse from its archived inputs and configuration;
    exit 0 when every table is identical to the run's fingerprints, 1 otherwise."""
    from flows.settings import archive_dir, pii_key
    from warehouse import connect
    from warehouse.replay import replay_json, replay_run

    with connect(read_only=True) as con, console.status(f"Replaying {escape(run_id)} ..."):
        result = replay_run(con, run_id, pii_key=pii_key(), archive_dir=archive_dir(), checks=checks)
    if as_json:
        print(replay_json(result))
    else:
        for line in result.report_lines():
            style = (
                "green"
                if line == "identical"
                else "red"
                if line.startswith(("DIFF", "NOT", "TAMPERED", "MISSING"))
                else None
            )
            console.print(f"[{style}]{escape(line)}[/]" if style else line, highlight=False, markup=bool(style))
    if not result.identical:
        raise typer.Exit(code=1)


@app.command()
def explain(
    mart: Annotated[str, typer.Argument(help="A mart, e.g. management_monthly or marts.owner_monthly.")],
    month: MonthOption,
    metric: Annotated[str, typer.Option(help="The figure's column, e.g. complaints_count.")],
    key: Annotated[
        list[str] | None, typer.Option(help="column=value pinning the mart row, e.g. directorate_id=logistics.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Items to print (the JSON output has all).")] = 20,
    causes: Annotated[
        bool,
        typer.Option(
            "--causes",
            help="Also the root causes: the slices (channel, store, segment, browser, OS, app version; for SLA "
            "clocks also department, manager, priority) over-represented among its items against the same "
            "figure's items in the three months before.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Lineage of one figure: the feedback items (or SLA clocks), batches and source files behind it;
    with --causes, what changed behind it."""
    import json

    from transforms.org import load_org
    from warehouse import connect
    from warehouse.lineage import explain_figure
    from warehouse.root_causes import ATTRIBUTE_LABELS, explain_causes

    pinned: dict[str, str] = {}
    for pair in key or []:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            _fail(f"--key must look like column=value, got {pair!r}")
        pinned[column.strip()] = value.strip()
    timezone = load_org().company.reporting_timezone
    root = None
    with connect(read_only=True) as con:
        if causes:
            root = explain_causes(con, mart, month=month, metric=metric, key=pinned, reporting_timezone=timezone)
            found = root.figure
        else:
            found = explain_figure(con, mart, month=month, metric=metric, key=pinned, reporting_timezone=timezone)
    if as_json:
        document = {
            "mart": found.mart,
            "month": found.month,
            "key": found.key,
            "metric": found.metric,
            "value": found.value,
            "item_kind": found.item_kind,
            "items_count": found.items.height,
            "count_matches": found.count_matches,
            "items": found.items.to_dicts(),
            "batches": found.batches.to_dicts(),
        }
        if root is not None:
            document["causes"] = {
                "baseline_months": list(root.baseline_months),
                "baseline_items_count": root.baseline_items,
                "findings": root.findings.to_dicts(),
            }
        print(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        return
    row = ", ".join(f"{k}={v}" for k, v in found.key.items()) or "the only row"
    console.print(
        f"[bold]{escape(found.mart)}[/] {escape(found.month)} ({escape(row)}): "
        f"{escape(found.metric)} = [bold]{escape(str(found.value))}[/]"
    )
    what = "feedback items" if found.item_kind == "feedback" else "SLA clocks (case|policy)"
    console.print(f"{found.items.height} {what} behind it", highlight=False)
    if found.count_matches is False:
        console.print(f"[bold red]the figure says {escape(str(found.value))}, the items are {found.items.height}[/]")
    _print_frame(f"{what.capitalize()} (first {min(limit, found.items.height)})", found.items.head(limit))
    _print_frame("Batches and source files", found.batches)
    if root is None:
        return
    span = f"{root.baseline_months[0]} … {root.baseline_months[-1]}"
    console.print(
        f"\n[bold]Root causes[/]: its {found.items.height} items against the same figure's "
        f"{root.baseline_items} items in {escape(span)}",
        highlight=False,
    )
    if root.findings.is_empty():
        console.print("no slice stands out (at least 5 items and 1.5 times its earlier share, or new)", highlight=False)
        return
    lines = []
    for row in root.findings.iter_rows(named=True):
        before = "new" if row["is_new_slice"] else f"{row['baseline_share']:.0%} before, lift {row['lift']:.1f}"
        lines.append(
            {
                "attribute": ATTRIBUTE_LABELS.get(row["attribute"], row["attribute"]),
                "value": row["attribute_value"],
                "items": f"{row['items_count']} of {row['items_total']} ({row['items_share']:.0%})",
                "before": before,
                "excess items": round(row["excess_items"], 1),
            }
        )
    import polars

    _print_frame("Slices over-represented among its items", polars.DataFrame(lines))


@app.command()
def docs() -> None:
    """Write docs/marts.md from the marts' specs (transforms/sql/marts/*.yml)."""
    from transforms.model_docs import write_marts_reference

    console.print(f"wrote {write_marts_reference()}", markup=False)


def _print_frame(title: str, frame: "pl.DataFrame") -> None:
    table = Table(title=escape(title))
    for column in frame.columns:
        table.add_column(escape(column), overflow="fold")
    for values in frame.iter_rows():  # item texts and file names are data, never markup
        table.add_row(*("" if v is None else escape(str(v)) for v in values))
    console.print(table)


quarantine_app = typer.Typer(
    help="What did not reach the warehouse, and retrying it after a fix.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(sla_app, name="sla")
app.add_typer(qa_app, name="qa")
app.add_typer(classify_app, name="classify")
from otklik.receive_cli import receive  # noqa: E402  (the webhook receiver; imports no web framework until run)

app.command()(receive)
app.add_typer(channels_app, name="channels")
app.add_typer(postgres_app, name="postgres")


@quarantine_app.command("list")
def quarantine_list(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Unresolved quarantined files, and counts of rejected records by channel and reason."""
    import json

    from warehouse import connect
    from warehouse.quarantine import quarantine_overview, quarantined_files

    with connect(read_only=True) as con:
        overview, files = quarantine_overview(con), quarantined_files(con)
    if as_json:
        keys = ("stage", "channel_id", "reason", "count")
        file_keys = ("batch_id", "channel_id", "source_file", "reason", "detail")
        document = {
            "overview": [dict(zip(keys, r, strict=True)) for r in overview],
            "files": [dict(zip(file_keys, r, strict=True)) for r in files],
        }
        print(
            json.dumps(
                document,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title="Quarantine")
    for column in ("stage", "channel", "reason", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for stage, channel, reason, n in overview:
        table.add_row(escape(str(stage)), escape(str(channel)), escape(str(reason)), f"{n:,}")
    console.print(table)
    for _, channel, source_file, reason, detail in files:  # landed names and readers' messages are data
        console.print(
            f"[yellow]{escape(str(source_file))}[/] ({escape(str(channel))}): {escape(str(reason))} — "
            f"{escape(str(detail))}",
            soft_wrap=True,
            highlight=False,
        )
    console.print("Records rejected in staging are normalized again by every `otklik build`.")


@quarantine_app.command("retry")
def quarantine_retry() -> None:
    """Read every quarantined file again from the archive with today's code and channels.yaml."""
    from flows.settings import archive_dir
    from transforms.channels import load_channels
    from warehouse import connect
    from warehouse.quarantine import retry_files
    from warehouse.runs import finish_run, new_run_id, start_run

    channels = load_channels()  # a broken channels.yaml is reported before a run is opened
    run_id = new_run_id()
    with connect() as con:
        start_run(con, run_id, "quarantine-retry", {})
        outcomes = retry_files(con, channels, archive_dir=archive_dir(), run_id=run_id)
        finish_run(con, run_id, "completed")
    for outcome in outcomes:
        colour = {"loaded": "green", "still_failing": "yellow"}.get(outcome.status, "red")
        console.print(
            f"[{colour}]{escape(outcome.status)}[/] {escape(str(outcome.source_file))} "
            f"(was {escape(str(outcome.previous_reason))}): {escape(str(outcome.detail))}",
            soft_wrap=True,
            highlight=False,
        )
    console.print(
        f"{sum(o.status == 'loaded' for o in outcomes)} of {len(outcomes)} file(s) landed; "
        "run `otklik build` to take them into the marts."
    )


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(escape(str(name)), f"{rows:,}")
    console.print(table)


def _print_ingest(summary: dict) -> None:
    table = Table(title="Ingest")
    for column in ("channel", "files loaded", "records", "rejected records", "files skipped"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    channels = sorted(set(summary["loaded_files"]) | set(summary["skipped_files"]))
    for channel in channels:
        table.add_row(
            escape(str(channel)),  # a landing folder's name: data, not markup
            str(summary["loaded_files"].get(channel, 0)),
            f"{summary['loaded_records'].get(channel, 0):,}",
            str(summary["rejected_records"].get(channel, 0)),
            str(summary["skipped_files"].get(channel, 0)),
        )
    console.print(table)
    for source_file, reason, detail in summary["quarantined_files"]:  # landed names are data, never markup
        console.print(
            f"[yellow]quarantined[/] {escape(str(source_file))}: {escape(str(reason))} — {escape(str(detail))}",
            soft_wrap=True,
            highlight=False,
        )


# Errors an operator can act on: one clear line (one per config problem) and exit code 1, not a
# traceback. Anything else is a bug and keeps its traceback.
OPERATOR_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, FileExistsError, ValueError, KeyError)


def _operator_errors() -> tuple[type[BaseException], ...]:
    from expectations import DataQualityError
    from otklik.local_postgres import PostgresUnavailable
    from warehouse.connection import OutdatedWarehouse
    from warehouse.lake import LakeUnavailable
    from warehouse.lineage import LineageError
    from warehouse.locking import WarehouseBusy
    from warehouse.runs import NotPublishable

    return (
        *OPERATOR_ERRORS,
        DataQualityError,
        OutdatedWarehouse,
        NotPublishable,
        LineageError,
        WarehouseBusy,
        LakeUnavailable,
        PostgresUnavailable,
    )


def operator_message(error: BaseException) -> str | None:
    """What the operator reads for ``error``, or None when it is a bug (which keeps its traceback).

    Config loaders raise ConfigError (transforms/config_errors.py): one line per problem naming the
    file and the entity id. A YAML or pydantic error that escaped a loader, or that another error
    wraps, is shortened the same way; a DuckDB error is the operator's only when opening the
    warehouse file failed (damaged, unreadable, or held by a program outside otklik).
    """
    import duckdb
    import yaml
    from pydantic import ValidationError

    from transforms.config_errors import ConfigError, validation_problems, yaml_problem
    from warehouse.connection import WarehouseUnreadable

    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, duckdb.Error | WarehouseUnreadable):
        return _unopenable_warehouse(error)
    if isinstance(error, yaml.YAMLError):
        mark = getattr(error, "problem_mark", None)
        name = getattr(mark, "name", None)
        source = name if name and not name.startswith("<") else "a YAML file"
        return f"{source}: {yaml_problem(error)}"
    if isinstance(error, ValidationError):
        return "\n".join(f"{error.title}: {line}" for line in validation_problems(error, None))
    if isinstance(error, _operator_errors()):
        message, cause = str(error), error.__cause__
        if isinstance(cause, yaml.YAMLError | ValidationError) and str(cause) and str(cause) in message:
            short = (
                yaml_problem(cause)
                if isinstance(cause, yaml.YAMLError)
                else "; ".join(validation_problems(cause, None))
            )
            message = message.replace(str(cause), short)
        return message
    return None


_DAMAGED = ("Corrupt database file", "not a valid DuckDB database file")


def _unopenable_warehouse(error: BaseException) -> str | None:
    """The message for a warehouse file DuckDB cannot open; None for any other DuckDB error (a bug).

    Opening raises WarehouseUnreadable (warehouse/connection.py) with the file; damage DuckDB finds
    later, reading a block, comes as a plain DuckDB error naming the corruption.
    """
    from warehouse import warehouse_path
    from warehouse.connection import WarehouseUnreadable

    if isinstance(error, WarehouseUnreadable):
        target, reason = error.path, error.reason
    else:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not any(marker in text for marker in _DAMAGED):
            return None
        target, reason = warehouse_path(), text.removeprefix("IO Error: ")
    if "Could not set lock on file" in reason:
        held = reason.split("Conflicting lock is held in ", 1)[-1].split(". See also", 1)[0]
        return (
            f"cannot open the warehouse {target}: a program outside otklik has it open ({held}); "
            "close that program's connection to it and try again"
        )
    return f"cannot open the warehouse {target} ({reason}): {_recovery(target)}"


def _recovery(target: Path) -> str:
    """How to go on: the readers' copy keeps serving the last completed build; the live file, which alone
    holds the raw payloads and contacts, comes back from a backup or by re-ingesting."""
    from warehouse.reader_copy import reader_copy_path

    if target.name.endswith((".reader.duckdb", ".reader-1.duckdb", ".reader-2.duckdb")):  # the link or a copy
        return f"this is the readers' copy, rewritten by every completed build: delete {target} and run `otklik build`"
    aside = f"move {target} (and {target.name}.wal, if there is one) aside"
    rebuild = (
        "restore it from your backup of the warehouse file, or re-create it with `otklik ingest` (what is still "
        "in the landing folder) and `otklik build`"
    )
    copy = reader_copy_path(target)
    built = _last_build(target) if copy.exists() else None
    if built is None:
        where = f"there is no readable readers' copy at {copy}"
        return f"{where}: {aside}, then {rebuild}"
    return (
        f"the readers' copy {copy} still serves the last completed build ({built}): its marts, audit trail, "
        f"quarantine and published reviews stay readable there; it holds no raw payloads, so it cannot replace "
        f"the live file: {aside}, then {rebuild}"
    )


def _last_build(target: Path) -> str | None:
    """'run R of T' for the readers' copy of ``target``, or None when it cannot be read either."""
    from warehouse.connection import WarehouseUnreadable
    from warehouse.reader_copy import connect_reader, reader_copy_info

    try:
        with connect_reader(target) as con:
            info = reader_copy_info(con, target)
    except (WarehouseUnreadable, OSError, RuntimeError):
        return None
    if info.build_run_id is None:
        return "no completed build recorded"
    return f"run {info.build_run_id} of {info.built_at:%Y-%m-%d %H:%M} UTC"


def main() -> None:
    try:
        app()
    except Exception as error:
        message = operator_message(error)
        if message is None:
            raise
        _print_error(message)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
