"""What every verification rule shares: the delivery as received, refusals, and the JSONL it lands.

A rule module of this package (named by a channel's ``extraction.provider``) defines

- ``Options``: a pydantic model (``extra="forbid"``) of the rule's settings in ``extraction.options``,
  based on ``WebhookOptions`` (``max_body_bytes``: the body cap, 1 MiB unless the channel says more);
- ``check_headers(incoming, secrets, options)``: what can be refused before the body is read (a
  missing signature header, a wrong secret-token header); ``Refused(401, ...)``;
- ``accept(incoming, secrets, options, channel)`` → ``Accepted``: the body verified and converted to
  the bytes to land in the channel's format (None: nothing to land, e.g. a status-only delivery);
- optionally ``handshake(query, secrets, options)`` → the text a provider's GET verification expects.

Refusals carry one line for the sender; they never quote a header, a secret or the body.
"""

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from transforms.readers.json_pages import loads

MIB = 2**20


class WebhookOptions(BaseModel):
    """Settings every rule takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_body_bytes: int = Field(default=1 * MIB, gt=0, le=64 * MIB)


class Refused(Exception):
    """The delivery is not accepted: ``status`` and a one-line ``reason`` for the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    """One request as received: headers (case-insensitive mapping), query and the raw body."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes = b""
    received_at: float = 0.0  # Unix seconds, the receiver's clock


@dataclass(frozen=True)
class Secrets:
    """The channel's secret and the extra values its rule names (``{variable name: value}``)."""

    secret: str
    extra: Mapping[str, str] = field(default_factory=dict)

    def named(self, variable: str) -> str:
        value = self.extra.get(variable)
        if not value:
            raise Refused(503, "the receiver is not configured for this channel")
        return value


@dataclass(frozen=True)
class Accepted:
    """What the delivery lands (None: nothing, but the sender gets its 200) and the answer's text."""

    data: bytes | None
    reply: str = "ok"


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of a received secret or signature with the expected one."""
    return hmac.compare_digest(given.encode(), expected.encode())


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, "sha256").hexdigest()


def check_sha256_signature(header_value: str | None, secret: str, message: bytes) -> None:
    """``header_value`` must be ``sha256=<hex HMAC-SHA256 of message>``; Refused(401) otherwise."""
    if not header_value:
        raise Refused(401, "the signature header is missing")
    scheme, _, digest = header_value.strip().partition("=")
    if scheme.lower() != "sha256" or not same(digest.lower(), hmac_sha256_hex(secret, message)):
        raise Refused(401, "the signature does not match the body")


def require_header(incoming: Incoming, name: str) -> str:
    value = incoming.headers.get(name)
    if not value:
        raise Refused(401, f"the {name} header is missing")
    return value


def parse_json(body: bytes) -> Any:
    """The body as JSON (UTF-8, no NaN/Infinity); Refused(400) with the parser's one-line reason."""
    try:
        return loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Refused(400, f"the body is not UTF-8 JSON (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Refused(400, f"the body is not valid JSON: line {exc.lineno} col {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise Refused(400, f"the body is not valid JSON: {exc}") from None


def jsonl(records: Iterable[Mapping[str, Any]]) -> bytes | None:
    """Records as JSON Lines (UTF-8, one object a line, keys in the sender's order); None for none.

    The same records always give the same bytes, so a repeated delivery gets the same name.
    """
    lines = [json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records]
    return "".join(lines).encode("utf-8") if lines else None
