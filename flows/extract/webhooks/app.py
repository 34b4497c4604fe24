"""The webhook receiver: one ASGI app (Starlette) with an endpoint per webhook channel.

    POST /hooks/<channel id>   a delivery; checked by the channel's rule, landed, answered fast
    GET  /hooks/<channel id>   the provider's verification handshake (WhatsApp only; 405 elsewhere)
    GET  /health               {"status": "ok", "channels": {<channel id>: <provider>}}

Every delivery, in this order: the channel must be an enabled webhook channel (404); its secret must
resolve (503, the variable's name only in the receiver's log); what the headers can prove is checked
before the body is read (a missing signature, a wrong secret-token header: 401); a Content-Length
over the cap is refused with 413 before a byte is read, and a body without one is counted while it
streams and refused at the cap; then the rule verifies the body (401), parses it (400, one line) and
converts it to the channel's format, and ``landing.land_delivery`` writes it atomically, named by its
SHA-256 (a repeated delivery: nothing written, 200 again). The answer's headers say what landed
(``X-Otklik-Landed``, the path under the landing folder; ``X-Otklik-Duplicate: true`` for a repeat).

Nothing of a request's secrets reaches a response or the log: refusals are fixed sentences, the log
line of a request names its channel, status, size and landed file (never headers, query or body),
and each line goes through a redactor of every secret the receiver resolved. uvicorn's access log is
off (``otklik receive``): it would print query strings, and WhatsApp's carries hub.verify_token.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from flows.extract.redact import Redactor, redactor
from flows.extract.secrets import MissingSecretError, resolve_secret
from flows.extract.webhooks import options_of, rule_for, webhook_channels
from flows.extract.webhooks.base import Incoming, Refused, Secrets, WebhookOptions
from flows.extract.webhooks.landing import land_delivery
from transforms.channels import Channel, load_channels

log = logging.getLogger("otklik.webhooks")


@dataclass
class Endpoint:
    channel: Channel
    rule: ModuleType
    options: WebhookOptions
    secrets: Secrets | None = None  # resolved at the first request, then kept


class Receiver:
    """The endpoints of the webhook channels and what they share (landing folder, secrets, clock)."""

    def __init__(
        self,
        channels: Iterable[Channel],
        *,
        landing_dir: Path,
        environ: Mapping[str, str] | None = None,
        load_block: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.landing_dir = landing_dir
        self.environ = os.environ if environ is None else environ
        self.load_block = load_block
        self.clock = clock
        self.endpoints = {
            c.id: Endpoint(c, rule_for(c), options_of(c)) for c in webhook_channels(channels)
        }  # a bad entry fails here, at start-up, naming the channel
        self._redact: Redactor = redactor()

    # --- secrets ----------------------------------------------------------------------------

    def secrets_of(self, endpoint: Endpoint) -> Secrets:
        if endpoint.secrets is not None:
            return endpoint.secrets
        channel = endpoint.channel
        try:
            kwargs = {"load_block": self.load_block} if self.load_block else {}
            secret = resolve_secret(channel, self.environ, **kwargs)
        except MissingSecretError as exc:
            self._log(logging.ERROR, f"{exc} (deliveries are refused with 503 until it is set)")
            raise Refused(503, "the receiver is not configured for this channel") from None
        if not secret:
            self._log(logging.ERROR, f"{channel.id}: names no credentials_env or credentials_block")
            raise Refused(503, "the receiver is not configured for this channel")
        names = endpoint.rule.extra_secret_names(endpoint.options)
        unset = [name for name in names if not self.environ.get(name)]
        if unset:
            self._log(logging.ERROR, f"{channel.id}: environment variables {unset} are not set")
        endpoint.secrets = Secrets(secret, {name: self.environ[name] for name in names if name not in unset})
        self._redact = redactor(*self._all_secrets())
        return endpoint.secrets

    def preload_secrets(self) -> list[str]:
        """Resolve every endpoint's secrets now (logging what is missing); the ids that have none."""
        missing = []
        for channel_id, endpoint in sorted(self.endpoints.items()):
            try:
                self.secrets_of(endpoint)
            except Refused:
                missing.append(channel_id)
        return missing

    def _all_secrets(self) -> list[str]:
        known = [e.secrets for e in self.endpoints.values() if e.secrets is not None]
        return [value for s in known for value in (s.secret, *s.extra.values())]

    def _log(self, level: int, text: str) -> None:
        log.log(level, self._redact(text))

    # --- requests ---------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        channels = {cid: e.channel.how_extracted.provider for cid, e in sorted(self.endpoints.items())}
        return JSONResponse({"status": "ok", "channels": channels})

    async def deliver(self, request: Request) -> Response:
        started = time.perf_counter()
        channel_id = request.path_params["channel_id"]
        try:
            response = await self._deliver(request, channel_id)
        except Refused as refused:
            response = PlainTextResponse(refused.reason + "\n", status_code=refused.status)
            self._access(request, channel_id, response.status_code, started, refused.reason)
            return response
        except Exception as exc:  # a bug must not print a delivery or a secret in a traceback
            self._log(logging.ERROR, f"{channel_id}: the receiver failed: {type(exc).__name__}: {exc}")
            return PlainTextResponse("the receiver failed; the delivery was not landed\n", status_code=500)
        self._access(request, channel_id, response.status_code, started, response.headers.get("x-otklik-landed", ""))
        return response

    async def _deliver(self, request: Request, channel_id: str) -> Response:
        endpoint = self._endpoint(channel_id)
        rule, options = endpoint.rule, endpoint.options
        secrets = self.secrets_of(endpoint)
        now = self.clock()
        headers_only = Incoming(request.headers, request.query_params, b"", now)
        rule.check_headers(headers_only, secrets, options)
        body = await read_capped(request, options.max_body_bytes)
        accepted = rule.accept(
            Incoming(request.headers, request.query_params, body, now), secrets, options, endpoint.channel
        )
        headers = {}
        if accepted.data is not None:
            landed = await run_in_threadpool(
                land_delivery, self.landing_dir, endpoint.channel, accepted.data, now=datetime.fromtimestamp(now, UTC)
            )
            headers["X-Otklik-Landed"] = landed.relative_to(self.landing_dir)
            if not landed.created:
                headers["X-Otklik-Duplicate"] = "true"
        return PlainTextResponse(accepted.reply, headers=headers)

    async def verify(self, request: Request) -> Response:
        started = time.perf_counter()
        channel_id = request.path_params["channel_id"]
        try:
            endpoint = self._endpoint(channel_id)
            handshake = getattr(endpoint.rule, "handshake", None)
            if handshake is None:
                response: Response = PlainTextResponse(
                    "this channel has no verification handshake: POST deliveries\n", 405, headers={"Allow": "POST"}
                )
            else:
                response = PlainTextResponse(
                    handshake(request.query_params, self.secrets_of(endpoint), endpoint.options)
                )
        except Refused as refused:
            response = PlainTextResponse(refused.reason + "\n", status_code=refused.status)
        except Exception as exc:  # as in deliver: no traceback that could quote the query's token
            self._log(logging.ERROR, f"{channel_id}: the verification failed: {type(exc).__name__}: {exc}")
            response = PlainTextResponse("the receiver failed\n", status_code=500)
        self._access(request, channel_id, response.status_code, started, "verification")
        return response

    def _endpoint(self, channel_id: str) -> Endpoint:
        endpoint = self.endpoints.get(channel_id)
        if endpoint is None:
            raise Refused(404, "no webhook endpoint here")
        return endpoint

    def _access(self, request: Request, channel_id: str, status: int, started: float, note: str) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        declared = request.headers.get("content-length")
        size = f"{declared} bytes" if declared else "no length"
        self._log(
            logging.INFO if status < 500 else logging.ERROR,
            f"{request.method} /hooks/{channel_id} {status} {size} {elapsed_ms:.0f} ms {note}".rstrip(),
        )


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 by its Content-Length before any byte is read, or at ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise Refused(413, f"the body is larger than this endpoint's limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"the body is larger than this endpoint's limit of {limit} bytes")
    return bytes(body)


def create_app(
    channels: Iterable[Channel] | None = None,
    *,
    landing_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], str | None] | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The receiver for ``channels`` (default: channels.yaml), landing in ``landing_dir`` (default: settings)."""
    from flows.settings import landing_dir as default_landing

    receiver = Receiver(
        load_channels() if channels is None else channels,
        landing_dir=(landing_dir or default_landing()).resolve(),
        environ=environ,
        load_block=load_block,
        clock=clock,
    )
    app = Starlette(
        routes=[
            Route("/health", receiver.health, methods=["GET"]),
            Route("/hooks/{channel_id}", receiver.deliver, methods=["POST"]),
            Route("/hooks/{channel_id}", receiver.verify, methods=["GET"]),
        ]
    )
    app.state.receiver = receiver
    return app
