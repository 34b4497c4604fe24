"""``otklik receive``: the webhook receiver (flows/extract/webhooks/app.py) served by uvicorn.

    otklik receive [--host 127.0.0.1] [--port 8088] [--landing DIR]

Answers ``POST /hooks/<channel id>`` for every enabled channel whose extraction is a webhook and lands
each verified delivery in the landing folder for the next ``otklik ingest`` (docs/webhooks.md).
``make serve`` starts it beside the Prefect server and worker (otklik/serve.py). uvicorn's access log
stays off: it prints query strings, and a WhatsApp verification's carries the verify token; the
receiver logs each request itself (channel, status, size, landed file).
"""

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8088


def receive(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="TCP port (default: $OTKLIK_RECEIVER_PORT or 8088).")
    ] = int(os.environ.get("OTKLIK_RECEIVER_PORT", DEFAULT_PORT)),
    landing: Annotated[
        Path | None, typer.Option(help="Landing folder (default: $OTKLIK_LANDING or data/landing).")
    ] = None,
) -> None:
    """Receive webhook deliveries (POST /hooks/<channel id>) and land them for the next ingest."""
    serve_receiver(host=host, port=port, landing=landing)


def serve_receiver(*, host: str, port: int, landing: Path | None = None) -> None:
    """Build the app from channels.yaml and serve it until SIGINT / SIGTERM."""
    import uvicorn

    from flows.extract.webhooks.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(landing_dir=landing)
    receiver = app.state.receiver
    listed = ", ".join(f"/hooks/{cid}" for cid in sorted(receiver.endpoints)) or "(no webhook channels)"
    log = logging.getLogger("otklik.webhooks")
    log.info("receiving on http://%s:%s: %s; landing in %s", host, port, listed, receiver.landing_dir)
    missing = receiver.preload_secrets()  # each one missing is logged with the variable to set
    if missing:
        log.warning("no secret for %s: their deliveries are refused with 503", ", ".join(missing))
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, server_header=False)


if __name__ == "__main__":  # python -m otklik.receive_cli: what otklik/serve.py starts
    typer.run(receive)
