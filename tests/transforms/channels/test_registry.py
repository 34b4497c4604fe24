import pytest
from pydantic import ValidationError

from transforms.channels import get_channel, load_channels, parse_channels

MINIMAL = """
channels:
  - id: shop_chat
    display_name: Chat
    format: jsonl
    fields: {source_item_id: id, received_at: ts}
"""


def test_registry_loads_and_ids_are_unique() -> None:
    ids = [c.id for c in load_channels()]
    assert len(ids) == len(set(ids))
    assert get_channel("web_form").timezone == "Europe/Moscow"


def test_a_minimal_entry_is_enough_to_add_a_channel() -> None:
    (channel,) = parse_channels(MINIMAL)
    assert channel.entity == "feedback" and channel.enabled and channel.schedule_group == "daily"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("format: jsonl", "format: jsonl\n    colour: red"), "Extra inputs are not permitted"),
        (("format: jsonl", "format: parquet"), "format"),
        (("fields: {source_item_id: id, received_at: ts}", "fields: {source_item_id: id}"), "received_at"),
        (
            (
                "fields: {source_item_id: id, received_at: ts}",
                "fields: {source_item_id: id, received_at: ts, x: y}",
            ),
            "x",
        ),
        (("display_name: Chat", "display_name: Chat\n    timezone: Mars/Olympus"), "unknown timezone"),
        (("id: shop_chat", "id: Shop Chat"), "pattern"),
    ],
    ids=[
        "unknown-key",
        "unknown-format",
        "missing-required-field",
        "unmappable-field",
        "bad-timezone",
        "bad-id",
    ],
)
def test_a_broken_entry_fails_at_load_naming_the_problem(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_channels(MINIMAL.replace(*change))


def test_duplicate_ids_are_rejected() -> None:
    entry = MINIMAL.split("channels:\n", 1)[1]
    with pytest.raises(ValueError, match="duplicate channel ids"):
        parse_channels("channels:\n" + entry + entry)


def test_unknown_channel_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="web_form"):
        get_channel("fax")
