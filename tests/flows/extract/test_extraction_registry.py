"""The registry's extractions hold together: every provider exists, its options validate, every
channel with an interface is extracted through it, and each of those is tested as shipped."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.extract.providers import options_of, puller_for
from transforms.channels import load_channels
from transforms.channels.registry import PULLED_KINDS

TESTS = Path(__file__).resolve().parent
INTERFACE_KINDS = (*PULLED_KINDS, "webhook")


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Overrides tests/flows/conftest.py for this module: nothing here needs Prefect."""
    yield


def test_every_pulled_channel_has_a_puller_whose_options_validate() -> None:
    for channel in load_channels():
        if channel.how_extracted.kind in PULLED_KINDS:
            module = puller_for(channel)
            assert callable(module.pull), channel.id
            options_of(channel)  # raises naming the channel when an option is wrong


def test_every_webhook_channel_has_a_verification_rule_and_a_secret() -> None:
    from flows.extract import webhooks

    for channel in load_channels():
        if channel.how_extracted.kind == "webhook":
            webhooks.options_of(channel)  # the rule exists and its options fit the channel's format
            assert channel.credentials_env or channel.credentials_block, channel.id


def test_channels_with_an_interface_are_extracted_through_it() -> None:
    feedback = [c for c in load_channels() if c.entity == "feedback" and c.enabled]
    extracted = [c.id for c in feedback if c.how_extracted.kind in INTERFACE_KINDS]
    assert len(extracted) >= 22, f"only {len(extracted)} of {len(feedback)} feedback channels: {extracted}"
    for channel in load_channels():
        if channel.how_extracted.kind == "file":
            assert channel.extraction is not None and channel.extraction.why, f"{channel.id}: say why it is a file drop"


def test_every_extracted_channel_is_tested_as_shipped() -> None:
    """A test that pulls (or delivers to) the channel by its own id, not a made-up channel."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py"))
    untested = [c.id for c in load_channels() if c.how_extracted.kind in INTERFACE_KINDS and f'"{c.id}"' not in sources]
    assert not untested, f"no test under tests/flows/extract names these channels: {untested}"
