"""The webhook receiver's channels and rules: which channels are received, by which verification rule.

A channel with ``extraction: {kind: webhook, provider: <rule>}`` is answered at
``/hooks/<channel id>`` by the receiver (``flows.extract.webhooks.app``, ``otklik receive``). The
provider names a rule module of this package (docs/webhooks.md):

- ``whatsapp``: WhatsApp Cloud API (``X-Hub-Signature-256`` and the GET verification);
- ``telegram``: Telegram Bot API webhooks (``X-Telegram-Bot-Api-Secret-Token``);
- ``vk_callback``: VK Callback API (confirmation, ``secret`` in the event);
- ``hmac_sha256``: our own senders (HMAC-SHA256 over ``<timestamp>.<body>``).

This module imports no web framework, so ``otklik channels`` can validate the entries cheaply.
"""

import importlib
from collections.abc import Iterable
from types import ModuleType

from flows.extract.webhooks.base import WebhookOptions
from flows.extract.webhooks.landing import extension_for
from transforms.channels import Channel

__all__ = ["RULES", "options_of", "rule_for", "webhook_channels"]

RULES = ("whatsapp", "telegram", "vk_callback", "hmac_sha256")


def rule_for(channel: Channel) -> ModuleType:
    """The rule module of a webhook channel; ValueError for another kind or an unknown provider."""
    extraction = channel.how_extracted
    if extraction.kind != "webhook":
        raise ValueError(f"{channel.id}: extraction {extraction.kind} is not a webhook")
    if extraction.provider not in RULES:
        raise ValueError(f"{channel.id}: unknown webhook provider {extraction.provider!r}; known: {list(RULES)}")
    return importlib.import_module(f"{__name__}.{extraction.provider}")


def options_of(channel: Channel) -> WebhookOptions:
    """The channel's ``extraction.options`` validated by its rule (and fitted to its format)."""
    rule = rule_for(channel)
    try:
        options = rule.Options.model_validate(channel.how_extracted.options)
        check = getattr(rule, "check_channel", None)
        if check is not None:
            check(channel, options)
        extension_for(channel)
    except ValueError as exc:
        message = str(exc).removeprefix(f"{channel.id}: ")
        raise ValueError(f"{channel.id}: extraction.options: {message}") from None
    return options


def webhook_channels(channels: Iterable[Channel]) -> list[Channel]:
    """The enabled channels whose extraction is a webhook."""
    return [c for c in channels if c.enabled and c.how_extracted.kind == "webhook"]
