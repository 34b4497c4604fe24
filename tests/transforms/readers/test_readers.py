"""The reader registry (transforms/readers/__init__.py)."""

from typing import get_args

from transforms.channels.registry import Format, load_channels
from transforms.readers import READERS


def test_every_format_has_a_reader() -> None:
    assert set(READERS) == set(get_args(Format))


def test_every_channel_format_is_readable() -> None:
    assert {channel.format for channel in load_channels()} <= set(READERS)
