"""One HTTP request of a pull, with auth from a secret and retries that honour Retry-After.

Retried (tenacity, exponential backoff with jitter, at most ``max_retries`` times): HTTP 429 and
5xx, timeouts, network errors and a connection the server dropped. A ``Retry-After`` header (delay
seconds or an HTTP date) replaces the backoff, capped at ``RETRY_AFTER_CAP_SECONDS`` so that one
header cannot park a worker for hours. Anything else that is not 2xx fails at once. Errors name
the method, the URL and the status; the secret never appears in a message, a log line or a URL:
every text goes through the pull's ``redact`` (flows/extract/redact.py: the secret in any spelling
an API may echo it, and any 8+-character part of it).
"""

import base64
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from flows.extract.redact import Redactor, redactor
from transforms.channels import PullSpec

__all__ = [
    "RETRY_AFTER_CAP_SECONDS",
    "PullError",
    "Redactor",
    "Request",
    "RetryLater",
    "RetryOptions",
    "RetryPolicy",
    "auth_headers",
    "env_header_secrets",
    "env_headers",
    "fetch",
    "public_url",
    "redactor",
    "retry_after_seconds",
    "secret_name",
]

# An API asking for more than two minutes is either overloaded or rate-limiting a daily quota; the
# backoff then still waits, and a quota that stays exhausted fails the run instead of hanging it.
RETRY_AFTER_CAP_SECONDS = 120.0
_BACKOFF = wait_exponential_jitter(initial=1, max=60, jitter=1)
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_EXCERPT_CHARS = 300
# The excerpt is redacted before it is cut: a secret that starts inside it is hidden whole, not cut
# into a head too short to be recognised. Secrets are far shorter than this.
_REDACT_MARGIN = 4096


class PullError(RuntimeError):
    """A pull that cannot go on. ``retryable``: a later attempt may succeed (the API was down)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.summary: Any = None  # the PullSummary up to the failure, set by the page loop


class RetryLater(Exception):
    """Raised by a provider's ``check`` of an answer that is a rate limit or an outage in disguise.

    Some APIs answer HTTP 200 with an error in the body (VK's error 6 "Too many requests per
    second", error 10 "Internal server error"): retried like a 429, waiting ``retry_after`` seconds
    when the API says how long.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RetryPolicy(Protocol):
    """How often and how long one request may try (PullSpec and every provider's Options have these)."""

    @property
    def max_retries(self) -> int: ...

    @property
    def timeout_seconds(self) -> float: ...


class RetryOptions(BaseModel):
    """The retry settings every provider's ``Options`` starts from (a RetryPolicy)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_retries: int = Field(default=5, ge=0)
    timeout_seconds: float = Field(default=30, gt=0)  # per request (a connection and a query for sql)


class _TransientStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: dict[str, Any] | None = None  # GET query
    json: dict[str, Any] | None = None  # POST body
    form: dict[str, Any] | None = None  # POST body, application/x-www-form-urlencoded (OAuth token requests)
    content: bytes | None = None  # POST body as is
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # carries the secret: never shown


def secret_name(channel: Any) -> str | None:
    """Where a channel's secret lives, for messages: the variable and/or the block, never the value."""
    places = [f"environment variable {channel.credentials_env}"] if channel.credentials_env else []
    places += [f"Prefect Secret block {channel.credentials_block!r}"] if channel.credentials_block else []
    return " or ".join(places) or None


def env_headers(spec: PullSpec, channel_id: str) -> dict[str, str]:
    """The pull's extra headers, each read from the environment variable it names."""
    missing = sorted(var for var in spec.headers_from_env.values() if not os.environ.get(var))
    if missing:
        raise PullError(f"{channel_id}: environment variable(s) {missing} (pull.headers_from_env) not set")
    return {header: os.environ[var] for header, var in spec.headers_from_env.items()}


def auth_headers(spec: PullSpec, secret: str | None, channel_id: str) -> dict[str, str]:
    if spec.auth == "none":
        return {}
    if not secret:
        raise PullError(f"{channel_id}: pull.auth is {spec.auth} but no secret was resolved")
    if spec.auth == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    if spec.auth == "header":
        return {spec.auth_header: secret}
    if ":" not in secret:
        raise PullError(f"{channel_id}: basic auth needs the secret as 'user:password' (no ':' found)")
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode("ascii")}


def env_header_secrets(spec: PullSpec) -> list[str]:
    """The values of the pull's headers from the environment: credentials too (an API key, a client id)."""
    return [os.environ[var] for var in spec.headers_from_env.values() if os.environ.get(var)]


def public_url(url: httpx.URL | str) -> str:
    """The URL without user info (a base URL may carry ``user:password@``)."""
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else str(parsed)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay seconds or an HTTP date); None if absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _TransientStatus | RetryLater) and error.retry_after is not None:
        return min(error.retry_after, RETRY_AFTER_CAP_SECONDS)
    return _BACKOFF(state)


def _send(
    client: httpx.Client, request: Request, timeout: float, check: Callable[[httpx.Response], None] | None
) -> httpx.Response:
    response = client.request(
        request.method,
        request.url,
        params=request.params,
        json=request.json,
        data=request.form,
        content=request.content,
        headers=request.headers,
        timeout=timeout,
    )
    if response.status_code == 429 or response.status_code >= 500:
        raise _TransientStatus(response.status_code, retry_after_seconds(response.headers.get("Retry-After")))
    if check is not None and response.is_success:
        check(response)
    return response


def fetch(
    client: httpx.Client,
    request: Request,
    *,
    channel_id: str,
    spec: RetryPolicy,
    sleep: Callable[[float], None],
    redact: Callable[[str], str],
    log: logging.Logger | logging.LoggerAdapter,
    check: Callable[[httpx.Response], None] | None = None,
    secret_name: str | None = None,
) -> httpx.Response:
    """Send ``request`` until it answers 2xx or the retries run out; raise PullError otherwise.

    ``check`` looks at each 2xx answer and may raise RetryLater (retried) or PullError (not).
    ``secret_name`` (where the credentials come from) is named when the API refuses them (401, 403):
    the operator renews that secret; nothing landed, so the cursor has not moved.
    """
    url = public_url(client.build_request("GET", request.url, params=request.params).url)
    where = f"{channel_id}: {request.method} {redact(url)}"

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        seconds = state.next_action.sleep if state.next_action else 0
        log.warning(
            "%s: %s; retry %d of %d in %.1f s",
            where,
            redact(str(error)),
            state.attempt_number,
            spec.max_retries,
            seconds,
        )

    retrying = Retrying(
        stop=stop_after_attempt(spec.max_retries + 1),
        wait=_wait,
        retry=retry_if_exception_type((_TransientStatus, RetryLater, *_TRANSIENT_ERRORS)),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    attempts = f"{spec.max_retries + 1} attempt(s) (pull.max_retries={spec.max_retries})"
    try:
        response = retrying(_send, client, request, spec.timeout_seconds, check)
    except _TransientStatus as exc:
        raise PullError(f"{where} answered HTTP {exc.status} on all {attempts}", retryable=True) from None
    except RetryLater as exc:
        raise PullError(f"{where} answered {redact(str(exc))} on all {attempts}", retryable=True) from None
    except httpx.TimeoutException as exc:
        raise PullError(
            f"{where} timed out ({type(exc).__name__}, pull.timeout_seconds={spec.timeout_seconds:g})"
            f" on all {attempts}",
            retryable=True,
        ) from None
    except _TRANSIENT_ERRORS as exc:
        raise PullError(
            f"{where} failed on all {attempts}: {type(exc).__name__}: {redact(str(exc))}", retryable=True
        ) from None
    except httpx.HTTPError as exc:  # a bad URL or protocol: retrying cannot help
        raise PullError(f"{where} cannot be sent: {type(exc).__name__}: {redact(str(exc))}") from None
    if not response.is_success:
        moved = f" to {redact(public_url(response.headers['Location']))}" if response.is_redirect else ""
        body = redact(response.text[: _EXCERPT_CHARS + _REDACT_MARGIN])[:_EXCERPT_CHARS].strip()
        renew = ""
        if response.status_code in (401, 403):
            named = secret_name or "the channel's secret"
            renew = f"; the credentials were refused: renew {named}, the cursor has not moved"
        raise PullError(
            f"{where} answered HTTP {response.status_code} {response.reason_phrase}{moved} (not retried)"
            + renew
            + (f": {body}" if body else "")
        )
    return response
