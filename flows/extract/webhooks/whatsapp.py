"""WhatsApp Cloud API webhooks (Meta Graph API Webhooks): the GET verification and signed deliveries.

Follows Meta's "Getting Started" with Webhooks
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started/) and the WhatsApp Cloud
API webhook payloads (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples):

- Verification request: ``GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>``; when
  the token is the one set in the App Dashboard, answer 200 with the challenge as is, else 403.
- Event notification: ``POST`` with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
  keyed by the app secret>`` (the channel's secret); wrong or missing → 401, nothing lands.
- Payload: ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
  "value": {"contacts": [{"profile": {"name"}, "wa_id"}], "messages": [{"from", "id", "timestamp",
  "type", "text": {"body"}}], "statuses": [...]}}]}]}``. Each message lands as one JSONL line,
  unchanged, with its sender's ``contacts[]`` entry (matched by ``wa_id`` = ``from``) under
  ``"contact"`` (channels.yaml, the whatsapp entry). A delivery of statuses only lands nothing and
  is answered 200 (Meta retries anything else).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from flows.extract.webhooks.base import (
    Accepted,
    Incoming,
    Refused,
    Secrets,
    WebhookOptions,
    check_sha256_signature,
    jsonl,
    parse_json,
    require_header,
    same,
)
from transforms.channels import Channel

SIGNATURE_HEADER = "X-Hub-Signature-256"


class Options(WebhookOptions):
    verify_token_env: str  # the variable holding the Verify Token typed into the App Dashboard


def extra_secret_names(options: Options) -> list[str]:
    return [options.verify_token_env]


def handshake(query: Mapping[str, str], secrets: Secrets, options: Options) -> str:
    """The challenge to echo, when the verify token is right; Refused(403) otherwise."""
    expected = secrets.named(options.verify_token_env)
    token = query.get("hub.verify_token") or ""
    if query.get("hub.mode") != "subscribe" or not same(token, expected):
        raise Refused(403, "verification refused: hub.mode must be subscribe and hub.verify_token must match")
    challenge = query.get("hub.challenge")
    if not challenge:
        raise Refused(400, "hub.challenge is missing")
    return challenge


def check_headers(incoming: Incoming, secrets: Secrets, options: Options) -> None:
    require_header(incoming, SIGNATURE_HEADER)


def accept(incoming: Incoming, secrets: Secrets, options: Options, channel: Channel) -> Accepted:
    check_sha256_signature(incoming.headers.get(SIGNATURE_HEADER), secrets.secret, incoming.body)
    delivery = parse_json(incoming.body)
    if not isinstance(delivery, dict) or not isinstance(delivery.get("entry"), list):
        raise Refused(400, "not a WhatsApp webhook delivery: no entry[] list")
    return Accepted(jsonl(messages(delivery)))


def messages(delivery: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every ``messages[]`` object of the delivery, with its sender's contact under ``"contact"``."""
    for entry in delivery["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for message in value.get("messages") or []:
                if not isinstance(message, dict):
                    raise Refused(400, "not a WhatsApp webhook delivery: a messages[] item is not an object")
                contact = _contact_of(message, contacts)
                yield {**message, "contact": contact} if contact is not None else dict(message)


def _contact_of(message: Mapping[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    for contact in contacts:
        if contact.get("wa_id") == message.get("from"):
            return contact
    return contacts[0] if len(contacts) == 1 else None
