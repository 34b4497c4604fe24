"""transforms/costs: the channel cost table is validated at load and written effective-dated."""

from datetime import date
from decimal import Decimal

import pytest

from transforms.channels import load_channels
from transforms.costs import CHANNEL_COSTS_PATH, channel_costs_frame, load_channel_costs, parse_channel_costs
from warehouse.runs import CONFIG_FILES

CHANNELS = ("web_form", "website_chat")
GOOD = """
currency: RUB
costs:
  - {channel_id: website_chat, valid_from: 2026-01-01, monthly_cost_rub: 420000}
  - {channel_id: web_form, valid_from: 2026-01-01, monthly_cost_rub: 20000.50, note: hosting}
  - {channel_id: website_chat, valid_from: 2026-07-01, monthly_cost_rub: 380000}
"""


def test_the_repository_file_is_valid_and_recorded_with_every_run() -> None:
    costs = load_channel_costs()
    assert costs and {c.channel_id for c in costs} <= {c.id for c in load_channels()}
    assert CHANNEL_COSTS_PATH.relative_to(CHANNEL_COSTS_PATH.parents[2]).as_posix() in CONFIG_FILES


def test_entries_are_in_force_until_the_channels_next_entry() -> None:
    frame = channel_costs_frame(parse_channel_costs(GOOD, CHANNELS))
    assert frame.rows() == [
        ("web_form", date(2026, 1, 1), None, Decimal("20000.50"), "hosting"),
        ("website_chat", date(2026, 1, 1), date(2026, 7, 1), Decimal("420000.00"), None),
        ("website_chat", date(2026, 7, 1), None, Decimal("380000.00"), None),
    ]


def test_no_costs_is_an_empty_table_with_its_columns() -> None:
    frame = channel_costs_frame(parse_channel_costs("currency: RUB\ncosts: []\n", CHANNELS))
    assert frame.height == 0 and frame.columns == ["channel_id", "valid_from", "valid_to", "monthly_cost_rub", "note"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(GOOD.replace("web_form,", "fax_machine,"), "unknown channel ids ['fax_machine']", id="unknown"),
        pytest.param(GOOD.replace("2026-07-01", "2026-07-15"), "first day of a month", id="mid-month"),
        pytest.param(GOOD.replace("380000", "-1"), "greater than or equal to 0", id="negative"),
        pytest.param(GOOD.replace("2026-07-01", "2026-01-01"), "website_chat 2026-01-01", id="twice"),
        pytest.param(GOOD.replace("note: hosting", "notes: hosting"), "costs.1.notes", id="typo"),
        pytest.param(GOOD.replace("RUB", "USD"), "currency", id="currency"),
    ],
)
def test_a_bad_cost_file_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"channel_costs\.yaml") as caught:
        parse_channel_costs(text, CHANNELS)
    assert message in str(caught.value) and "\n" not in str(caught.value)
