"""Our own senders: a body signed with HMAC-SHA256 over ``<timestamp>.<body>``, checked for freshness.

The website chat widget's backend, the SMS gateway's callback relay, the in-product rating, the
website form, the CRM's survey module and the self-service platform sign what they POST the way
Stripe and GitHub sign their webhooks (https://docs.stripe.com/webhooks#verify-manually,
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):

    X-Otklik-Timestamp: <Unix seconds>
    X-Otklik-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed by the channel's secret>

A signature whose timestamp is more than ``tolerance_seconds`` (5 minutes) away from the receiver's
clock is refused (401) like a wrong one: an old signed delivery cannot be replayed later. With
``timestamp_header: null`` the HMAC covers the raw body alone (a sender that cannot stamp).

Bodies: ``body: json`` (JSONL channels) takes one JSON object or a JSON array of objects, each landed
as one JSONL line. ``body: form`` (CSV channels, the website form) takes
``application/x-www-form-urlencoded`` fields and lands a one-row CSV whose header is ``columns``
(the export's column names, which the channel's ``fields`` map); a field outside ``columns`` or a
missing field the channel needs for an item's identity and time is refused (400).
"""

import csv
import io
from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import Field, model_validator

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
)
from transforms.channels import Channel
from transforms.schemas import ENTITY_SCHEMAS

MAX_FORM_FIELDS = 200


class Options(WebhookOptions):
    signature_header: str = "X-Otklik-Signature"
    timestamp_header: str | None = "X-Otklik-Timestamp"  # None: the HMAC covers the body alone
    tolerance_seconds: int = Field(default=300, gt=0)
    body: Literal["json", "form"] = "json"
    columns: tuple[str, ...] = ()  # body form: the CSV header, in order

    @model_validator(mode="after")
    def _form_has_columns(self) -> "Options":
        if self.body == "form" and not self.columns:
            raise ValueError("body form needs columns (the CSV header the form's fields land under)")
        if self.body == "json" and self.columns:
            raise ValueError("columns are for body form only")
        return self


def extra_secret_names(options: Options) -> list[str]:
    return []


def check_channel(channel: Channel, options: Options) -> None:
    """The body kind fits the channel's format, and the CSV header holds every field it maps."""
    wanted = {"json": "jsonl", "form": "csv"}[options.body]
    if channel.format != wanted:
        raise ValueError(f"body {options.body} lands {wanted}, but the channel's format is {channel.format}")
    if options.body == "form":
        missing = sorted(set(_mapped_sources(channel)) - set(options.columns))
        if missing:
            raise ValueError(f"columns lack the mapped fields {missing}")


def check_headers(incoming: Incoming, secrets: Secrets, options: Options) -> None:
    require_header(incoming, options.signature_header)
    if options.timestamp_header:
        require_header(incoming, options.timestamp_header)


def accept(incoming: Incoming, secrets: Secrets, options: Options, channel: Channel) -> Accepted:
    check_headers(incoming, secrets, options)
    signed = incoming.body
    if options.timestamp_header:
        stamp = incoming.headers[options.timestamp_header].strip()
        _check_fresh(stamp, incoming.received_at, options.tolerance_seconds)
        signed = stamp.encode("ascii") + b"." + incoming.body
    check_sha256_signature(incoming.headers.get(options.signature_header), secrets.secret, signed)
    if options.body == "form":
        return Accepted(form_csv(incoming.body, options.columns, _required_sources(channel)))
    return Accepted(jsonl(_objects(parse_json(incoming.body))))


def _check_fresh(stamp: str, now: float, tolerance: int) -> None:
    if not stamp.isascii() or not stamp.isdigit():
        raise Refused(401, "the timestamp header is not Unix seconds")
    if abs(now - int(stamp)) > tolerance:
        raise Refused(401, f"the signature's timestamp is more than {tolerance} s away from now")


def _objects(document: Any) -> list[dict[str, Any]]:
    items = document if isinstance(document, list) else [document]
    if not items or not all(isinstance(item, dict) for item in items):
        raise Refused(400, "the body must be one JSON object or a non-empty JSON array of objects")
    return items


def form_csv(body: bytes, columns: tuple[str, ...], required: list[str]) -> bytes:
    """A urlencoded form as a one-row CSV under ``columns``; Refused(400) for a form that does not fit."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body is not an application/x-www-form-urlencoded form in UTF-8") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise Refused(400, f"the form field {name!r} is given twice")
        fields[name] = value
    unknown = sorted(set(fields) - set(columns))
    if unknown:
        raise Refused(400, f"unknown form fields {unknown}; the form's columns are {list(columns)}")
    missing = [name for name in required if not fields.get(name, "").strip()]
    if missing:
        raise Refused(400, f"the form lacks the fields {missing}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow([fields.get(name, "") for name in columns])
    return out.getvalue().encode("utf-8")


def _sources(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _mapped_sources(channel: Channel) -> list[str]:
    return [source.split(".")[0] for value in channel.fields.values() for source in _sources(value)]


def _required_sources(channel: Channel) -> list[str]:
    required = ENTITY_SCHEMAS[channel.entity].required
    return [source for name in required if name in channel.fields for source in _sources(channel.fields[name])]
