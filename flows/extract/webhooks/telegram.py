"""Telegram Bot API webhooks: one Update per delivery, authenticated by the secret-token header.

Follows the Bot API's ``setWebhook`` (https://core.telegram.org/bots/api#setwebhook): Telegram POSTs
a JSON-serialized Update to the URL and, when ``secret_token`` was given to setWebhook, sends it in
the header ``X-Telegram-Bot-Api-Secret-Token`` (1-256 characters of ``A-Za-z0-9_-``). A request
without the header or with another value is refused with 401 before its body is read. Telegram
repeats a delivery answered with anything but 2XX, so a repeated Update lands once (same bytes,
same name). The Update lands as one JSONL line in the telegram_bot channel's format (the Update
object as is: update_id, message.date, message.from.id, ...).

The secret token cannot be the bot token (it holds ``:``, which setWebhook refuses), so
``secret_token_env`` names the variable with the token given to setWebhook; without it, the channel's
own secret (``credentials_env`` / ``credentials_block``) is the token. Telegram refuses getUpdates
while a webhook is set: a channel is either pulled (provider ``telegram``, kind pull) or received.
"""

from flows.extract.webhooks.base import Accepted, Incoming, Refused, Secrets, WebhookOptions, jsonl, parse_json, same
from transforms.channels import Channel

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Options(WebhookOptions):
    secret_token_env: str | None = None  # the setWebhook secret_token; None: the channel's secret


def extra_secret_names(options: Options) -> list[str]:
    return [options.secret_token_env] if options.secret_token_env else []


def _token(secrets: Secrets, options: Options) -> str:
    return secrets.named(options.secret_token_env) if options.secret_token_env else secrets.secret


def check_headers(incoming: Incoming, secrets: Secrets, options: Options) -> None:
    given = incoming.headers.get(SECRET_HEADER)
    if not given:
        raise Refused(401, f"the {SECRET_HEADER} header is missing")
    if not same(given, _token(secrets, options)):
        raise Refused(401, f"the {SECRET_HEADER} header does not match")


def accept(incoming: Incoming, secrets: Secrets, options: Options, channel: Channel) -> Accepted:
    check_headers(incoming, secrets, options)
    update = parse_json(incoming.body)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise Refused(400, "not a Telegram Update: a JSON object with an integer update_id is expected")
    return Accepted(jsonl([update]))
