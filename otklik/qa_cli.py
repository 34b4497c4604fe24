"""`otklik qa ...`: the head of customer service's monthly sample checks of closed cases."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

qa_app = typer.Typer(help="Monthly sample checks of closed cases: draw, export, import verdicts.", no_args_is_help=True)
console = Console()


def _fail(message: object) -> None:
    console.print(f"[bold red]error:[/] {escape(str(message))}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=1)


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        _fail(f"month must look like 2026-10, got {text!r}")


@qa_app.command("sample")
def sample(
    month: Annotated[str, typer.Option(help="The month the cases closed in, YYYY-MM.")],
    out: Annotated[
        Path | None, typer.Option(help="Workbook to write (default: reports/qa-sample-<month>.xlsx).")
    ] = None,
) -> None:
    """Draw the month's sample (once; later runs re-export it) and write the reviewers' workbook."""
    from flows.settings import reports_dir
    from transforms.org import load_org
    from transforms.qa import load_sampling_rules
    from transforms.qa.export import write_sample_workbook
    from warehouse import connect
    from warehouse.qa import NothingToSample, draw_month, sample_for_review

    first_day = _month(month)
    timezone = load_org().company.reporting_timezone
    try:
        with connect() as con:
            drawn, drawn_now = draw_month(con, first_day, rules=load_sampling_rules(), reporting_timezone=timezone)
            review = sample_for_review(con, first_day)
    except NothingToSample as error:
        _fail(error)
    path = write_sample_workbook(review, out or reports_dir() / f"qa-sample-{month}.xlsx", timezone=timezone)
    table = Table(title=f"QA sample {month} ({'drawn now' if drawn_now else 'drawn before, re-exported'})")
    for column in ("manager", "reason", "cases"):
        table.add_column(column, justify="right" if column == "cases" else "left")
    for manager, reason, n in drawn.group_by("manager_id", "sample_reason").len().sort("manager_id").iter_rows():
        table.add_row(escape(str(manager)), escape(str(reason)), str(n))
    console.print(table)
    console.print(
        f"Workbook: [bold]{escape(str(path))}[/] ({drawn.height} cases): fill in verdict (pass/fail) and, "
        "if you grade them, clarity_score (1-5), then `otklik qa import`"
    )


@qa_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(help="The reviewers' workbook (.xlsx) or a CSV with case_id, verdict (clarity_score optional)."),
    ],
) -> None:
    """Import verdicts; a file with any unknown case, duplicate, bad verdict or bad clarity score is refused whole."""
    from transforms.qa import VerdictFileError, load_sampling_rules, read_verdict_file
    from warehouse import connect
    from warehouse.qa import import_verdict_file

    try:
        frame = read_verdict_file(file)  # a missing or unreadable file is refused before the warehouse opens
        with connect() as con:
            counts = import_verdict_file(con, file, rules=load_sampling_rules(), at=datetime.now(UTC), frame=frame)
    except VerdictFileError as error:
        _fail(error)
    console.print(
        f"{counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged verdict(s) "
        f"from {file.name}; run `otklik build` to update core.fct_qa_checks and marts.qa_results_monthly",
        markup=False,
    )
