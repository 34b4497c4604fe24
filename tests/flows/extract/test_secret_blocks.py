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
