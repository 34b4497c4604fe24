"""Pullers by provider: one module per source interface, named by ``extraction.provider``.

Every module here defines

- ``Options``: a pydantic model (``extra="forbid"``) of the provider's settings, read from the
  channel's ``extraction.options`` (with ``max_retries`` and ``timeout_seconds``: a RetryPolicy);
- ``pull(channel, run)`` → ``PullSummary``, where ``run`` is a ``flows.extract.http_pull.PullRun``
  (base_url, cursor, land, secret, client, sleep, log): what is new after ``cursor``, landed page
  by page (usually through ``flows.extract.pages.drive``), raising ``PullError`` when it cannot go on.

``rest_pages`` is the generic page / offset / cursor puller of flows/extract/http_pull.py, driven by
a channel's ``pull`` spec; the kinds ``imap`` and ``sql`` use the modules of the same name.
"""

import importlib
from types import ModuleType

from pydantic import BaseModel

from transforms.channels import Channel

__all__ = ["options_of", "puller_for"]

_MODULES = {
    "rest_pages": "flows.extract.http_pull",
    "imap": "flows.extract.imap_pull",
    "sql": "flows.extract.sql_pull",
}


def puller_for(channel: Channel) -> ModuleType:
    """The module that pulls ``channel``; ValueError for a channel that is not pulled or a provider we lack."""
    extraction = channel.how_extracted
    if extraction.kind not in ("pull", "imap", "sql"):
        raise ValueError(f"{channel.id}: extraction {extraction.kind} is not pulled")
    name = extraction.provider if extraction.kind == "pull" else extraction.kind
    module = _MODULES.get(name or "", f"flows.extract.providers.{name}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise ValueError(f"{channel.id}: unknown extraction provider {name!r} (no module {module})") from None


def options_of(channel: Channel) -> BaseModel | None:
    """The channel's ``extraction.options`` validated by its puller's ``Options`` (None: it has none)."""
    module = puller_for(channel)
    options = getattr(module, "Options", None)
    if options is None:
        return None
    try:
        return options.model_validate(channel.how_extracted.options)
    except ValueError as exc:
        raise ValueError(f"{channel.id}: extraction.options: {exc}") from None
