"""Resolve a channel's secret from where channels.yaml says it lives (STYLE B10: by name only).

Order: the environment variable ``credentials_env``, then the Prefect Secret block
``credentials_block``. A channel that names neither has no secret (None). A channel that names one
that holds nothing is an error naming the variable or block, never showing a value.
"""

import json
import os
from collections.abc import Callable, Mapping

from transforms.channels import Channel


class MissingSecretError(LookupError):
    """The channel names a secret that is not there."""


def _load_block(name: str) -> str | None:
    from prefect.blocks.system import Secret  # Prefect only when a block is actually named

    try:
        value = Secret.load(name).get()
    except ValueError:  # Prefect's "Unable to find block document named ..."
        return None
    # Secret.get() parses a JSON value (a service-account key file); the channel gets it back as the
    # JSON text it was saved as, which the provider that expects a key file parses again.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def resolve_secret(
    channel: Channel,
    environ: Mapping[str, str] | None = None,
    load_block: Callable[[str], str | None] = _load_block,
) -> str | None:
    """The secret of ``channel``, or None when it names none; MissingSecretError when it is absent."""
    environ = os.environ if environ is None else environ
    if channel.credentials_env and environ.get(channel.credentials_env):
        return environ[channel.credentials_env]
    if channel.credentials_block:
        value = load_block(channel.credentials_block)
        if value:
            return value
    places = [f"environment variable {channel.credentials_env}"] if channel.credentials_env else []
    places += [f"Prefect Secret block {channel.credentials_block!r}"] if channel.credentials_block else []
    if places:
        raise MissingSecretError(f"{channel.id}: no secret in {' or '.join(places)}")
    return None
