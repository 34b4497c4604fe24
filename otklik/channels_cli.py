"""`otklik channels ...`: how each channel is extracted, where it stands, and whether it works."""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

channels_app = typer.Typer(help="The channels: their extraction, cursors and credentials.", no_args_is_help=True)
console = Console()


def _open_warehouse():
    """The warehouse read-only, or None when there is none yet (a fresh checkout)."""
    from warehouse import connect, warehouse_path
    from warehouse.connection import lake_target

    if lake_target() is not None:  # a DuckLake: its catalog says whether it was ever migrated
        return connect(read_only=True)
    path = Path(warehouse_path())
    if not path.exists():
        return None
    return connect(read_only=True)


@channels_app.command("list")
def list_channels(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every channel with its extraction, schedule group, last extraction, cursor and credentials."""
    from flows.extract.status import channel_statuses
    from transforms.channels import load_channels

    with _open_warehouse() as con:
        statuses = channel_statuses(load_channels(), con)
    if as_json:
        print(json.dumps([s.as_json() for s in statuses], ensure_ascii=False, indent=2))
        return
    table = Table(title="Channels")
    for column in ("channel", "extraction", "group", "last extracted", "cursor", "credentials"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        how = s.extraction + (f" ({s.provider})" if s.provider else "")
        if s.extraction in ("pull", "imap", "sql") and not s.url_set:
            how += f" — {s.endpoint} unset"
        creds = "—" if s.credentials is None else ("ok" if s.credentials_resolve else "MISSING") + f": {s.credentials}"
        table.add_row(
            escape(s.channel_id) + ("" if s.enabled else " (disabled)"),
            escape(how),
            s.schedule_group,
            (s.last_extracted_at or "—")[:19],
            escape((s.cursor or "—")[:40]),
            escape(creds),
        )
    console.print(table)


@channels_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="The channel id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Try the channel's credentials and its first page after the committed cursor; lands nothing."""
    from flows.extract.status import check_channel
    from transforms.channels import get_channel
    from warehouse.ingest import channel_cursor

    try:
        channel = get_channel(name)
    except KeyError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc.args[0]))}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1) from None
    with _open_warehouse() as con:
        cursor = channel_cursor(con, channel.id) if con is not None else None
    result = check_channel(channel, cursor=cursor)
    if as_json:
        print(json.dumps(result.__dict__, ensure_ascii=False))
    elif result.ok:
        console.print(f"[green]ok:[/] {escape(channel.id)}: {escape(result.message)}", soft_wrap=True, highlight=False)
    else:
        console.print(f"[bold red]error:[/] {escape(result.message)}", soft_wrap=True, highlight=False)
    if not result.ok:
        raise typer.Exit(code=1)


@channels_app.command("reset-cursor")
def reset_cursor(
    name: Annotated[str, typer.Argument(help="The channel id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with the run in audit.runs).")],
    to: Annotated[str | None, typer.Option(help="The cursor to set; omitted: pull again from the start.")] = None,
) -> None:
    """Set or remove a channel's committed cursor, recorded as a run; already landed pages never land twice."""
    from transforms.channels import get_channel
    from warehouse import connect
    from warehouse.ingest import reset_cursor as reset
    from warehouse.runs import finish_run, new_run_id, start_run

    try:
        channel = get_channel(name)
    except KeyError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc.args[0]))}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1) from None
    run_id = new_run_id()
    with connect() as con:
        start_run(con, run_id, "reset-cursor", {"channel": channel.id, "to": to, "reason": reason})
        before = reset(con, channel.id, to, run_id=run_id)
        finish_run(con, run_id, "completed", f"cursor {before!r} -> {to!r}: {reason}")
    console.print(
        f"{escape(channel.id)}: cursor {escape(repr(before))} -> {escape(repr(to))} (run {run_id})",
        soft_wrap=True,
        highlight=False,
    )
