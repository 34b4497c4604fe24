"""`otklik sla ...`: SLA alerts to the owners of cases at risk or breached."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
    from flows.sla_watch import AlertsPending, routing_path, sla_watch
    from transforms.alerts import RoutingError, load_routing
    from warehouse.alerts import WarehouseNotBuilt

    try:
        parse_as_of(as_of)  # a typo is reported before any flow starts
    except ValueError:
        console.print(
            "[bold red]error:[/] --as-of must be an ISO time like 2026-11-01T00:00:00+00:00, "
            f"got {escape(repr(as_of))}",
            soft_wrap=True,
            highlight=False,
        )
        raise typer.Exit(code=1) from None
    try:
        load_routing(routing_path(str(routing) if routing else None))  # a broken routing.yaml: before any flow
        summary = sla_watch(as_of=as_of, routing=str(routing) if routing else None)
    except (AlertsPending, RoutingError, WarehouseNotBuilt, ValueError) as error:
        for line in str(error).splitlines():  # one line per problem (routing.yaml names each entry)
            console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1) from None
    console.print(
        f"{summary['new_alerts']} new alert(s); {summary['sent']} send(s) delivered, {summary['pending']} pending"
    )
