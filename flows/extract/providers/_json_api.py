"""What the pullers of JSON APIs here share: their HTTP client and their JSON answers.

- ``answer_hooks``: the pull's client (a new one that follows no redirect, unless one is given) with
  response hooks for the pull's length. A hook sees every answer before ``fetch`` does and may raise
  ``RetryLater`` (a rate limit that is not a 429, such as Yandex Market's 420, or a 429 whose wait is
  in the body, as Telegram's) or ``PullError`` (an error the API explains better than its status);
- ``json_answer``: the answer parsed as JSON, or ``NotAPage`` (it lands and is quarantined with the
  reader's reason, the cursor stays);
- ``json_lines``: records as JSON Lines, the bytes a ``jsonl`` channel lands.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from flows.extract.pages import NotAPage

__all__ = ["answer_hooks", "json_answer", "json_lines"]

Hook = Callable[[httpx.Response], None]


@contextmanager
def answer_hooks(client: httpx.Client | None, *hooks: Hook) -> Iterator[httpx.Client]:
    """The pull's client with ``hooks`` on its answers; a client made here is closed after."""
    http = client or httpx.Client(follow_redirects=False)  # a redirect could carry the secret elsewhere
    saved = http.event_hooks
    http.event_hooks = {"request": list(saved["request"]), "response": [*saved["response"], *hooks]}
    try:
        yield http
    finally:
        http.event_hooks = saved
        if client is None:
            http.close()


def json_answer(response: httpx.Response, *, source_uri: str, label: str, extension: str = "json") -> Any:
    """The answer's JSON document; NotAPage when it is not JSON (a proxy's HTML page, a cut body)."""
    try:
        return json.loads(response.content)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise NotAPage(
            f"not JSON: {type(exc).__name__}: {str(exc)[:120]}",
            data=response.content,
            source_uri=source_uri,
            label=label,
            extension=extension,
        ) from None


def json_lines(records: Iterable[Any]) -> bytes:
    """One JSON document per line, UTF-8, as the jsonl reader reads a landed file."""
    return "".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records).encode()
