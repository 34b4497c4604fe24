"""`otklik sla ...`: SLA alerts to the owners of cases at risk or breached."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

sla_app = typer.Typer(help="SLA alerts: tell owners about clocks at risk or breached.", no_args_is_help=True)
console = Console()


@sla_app.command("watch")
def watch(
    as_of: Annotated[str | None, typer.Option(help="ISO time to judge the clocks at (default: now).")] = None,
    routing: Annotated[
        Path | None, typer.Option(help="Alert routing YAML (default: $OTKLIK_ALERT_ROUTING or transforms/alerts).")
    ] = None,
) -> None:
    """Alert new at_risk / breached transitions once each, and retry sends still pending."""
    from flows._tasks import parse_as_of
    from flows.sla_watch import AlertsPending, sla_watch
    from transforms.alerts import RoutingError
    from warehouse.alerts import WarehouseNotBuilt

    try:
        parse_as_of(as_of)  # a typo is reported before any flow starts
    except ValueError:
        console.print(f"[bold red]error:[/] --as-of must be an ISO time like 2026-11-01T00:00:00+00:00, got {as_of!r}")
        raise typer.Exit(code=1) from None
    try:
        summary = sla_watch(as_of=as_of, routing=str(routing) if routing else None)
    except (AlertsPending, RoutingError, WarehouseNotBuilt, ValueError) as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(code=1) from None
    console.print(
        f"{summary['new_alerts']} new alert(s); {summary['sent']} send(s) delivered, {summary['pending']} pending"
    )
