"""VK Callback API: the server confirmation and events authenticated by the community's secret key.

Follows the Callback API guide (https://dev.vk.com/ru/api/callback/getting-started, English:
https://dev.vk.com/en/api/callback/getting-started):

- Confirmation: ``{"type": "confirmation", "group_id": <id>}`` is answered with the confirmation
  string shown in the community's settings (``groups.getCallbackConfirmationCode``), read from the
  variable ``confirmation_env`` names. It carries no secret; with ``group_id`` set, only that
  community is confirmed.
- Every other event carries ``"secret"``, the secret key set in the settings (the channel's secret);
  a missing or different one is refused (401) and nothing lands. Each notification is answered with
  the plain text ``ok`` (VK repeats it otherwise, so a repeated event lands once: same bytes).
- An event lands as one JSONL line in the vk_messages format: ``type``, ``object``, ``group_id``,
  ``event_id``, ``v`` (the secret is never landed). Events of types the channel does not take
  (``event_types``) are answered ``ok`` and dropped.
"""

from typing import Any

from flows.extract.webhooks.base import Accepted, Incoming, Refused, Secrets, WebhookOptions, jsonl, parse_json, same
from transforms.channels import Channel

LANDED_KEYS = ("type", "object", "group_id", "event_id", "v")


class Options(WebhookOptions):
    confirmation_env: str  # the variable holding the confirmation string of the community's settings
    event_types: tuple[str, ...] = ("message_new",)
    group_id: int | None = None  # None: any community that knows the secret


def extra_secret_names(options: Options) -> list[str]:
    return [options.confirmation_env]


def check_headers(incoming: Incoming, secrets: Secrets, options: Options) -> None:
    """Nothing to check before the body: the Callback API puts its secret in the JSON."""


def accept(incoming: Incoming, secrets: Secrets, options: Options, channel: Channel) -> Accepted:
    event = parse_json(incoming.body)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Refused(400, "not a Callback API event: a JSON object with a type is expected")
    if options.group_id is not None and event.get("group_id") != options.group_id:
        raise Refused(401, "the event is for another community (group_id)")
    if event["type"] == "confirmation":
        return Accepted(None, reply=secrets.named(options.confirmation_env))
    given = event.get("secret")
    if not isinstance(given, str) or not same(given, secrets.secret):
        raise Refused(401, "the event's secret does not match")
    if event["type"] not in options.event_types:
        return Accepted(None)
    return Accepted(jsonl([_landed(event)]))


def _landed(event: dict[str, Any]) -> dict[str, Any]:
    return {key: event[key] for key in LANDED_KEYS if key in event}
