"""Secrets named by a Prefect Secret block, read through the test harness's Prefect API."""

import pytest
from prefect.blocks.system import Secret

from flows.extract import MissingSecretError, resolve_secret
from tests.flows.extract.fake_apis import make_channel

pytestmark = pytest.mark.flows


def test_a_secret_block_is_read_by_name_and_a_missing_one_is_named() -> None:
    Secret(value="blk-token-123").save("otklik-test-api", overwrite=True)
    channel = make_channel("zendesk", {"credentials_block": "otklik-test-api"}, auth="bearer")
    assert resolve_secret(channel, {}) == "blk-token-123"

    missing = make_channel("zendesk", {"credentials_block": "otklik-no-such-block"}, auth="bearer")
    with pytest.raises(MissingSecretError, match="no secret in Prefect Secret block 'otklik-no-such-block'"):
        resolve_secret(missing, {})


def test_a_block_holding_a_json_key_file_gives_the_provider_its_json_text() -> None:
    """A Google service-account key saved as JSON: Secret.get() parses it, the channel gets the text back."""
    import json

    key = {"type": "service_account", "client_email": "otklik@example.iam.gserviceaccount.com", "private_key": "-"}
    Secret(value=key).save("otklik-test-json-key", overwrite=True)
    channel = make_channel("zendesk", {"credentials_block": "otklik-test-json-key"}, auth="bearer")
    assert json.loads(resolve_secret(channel, {})) == key
