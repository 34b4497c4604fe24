"""Channel costs for "cost per contact": channel_costs.yaml, validated at load, and its seed rows.

An entry says what one channel costs per month from ``valid_from`` (the first day of a month)
until the same channel's next entry. ``marts.channel_monthly`` divides the cost in force in a month
by the channel's items of that month.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CHANNEL_COSTS_PATH = Path(__file__).with_name("channel_costs.yaml")

CHANNEL_COST_COLUMNS: dict[str, pl.DataType] = {
    "channel_id": pl.String(),
    "valid_from": pl.Date(),  # first day of the first month the cost applies to
    "valid_to": pl.Date(),  # exclusive: the channel's next entry, null for the entry in force
    "monthly_cost_rub": pl.Decimal(18, 2),
    "note": pl.String(),
}


class ChannelCost(BaseModel):
    """What one channel costs per month, from ``valid_from`` until its next entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_id: str
    valid_from: date
    monthly_cost_rub: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    note: str | None = None  # where the figure comes from (a budget line, a contract)

    @field_validator("valid_from")
    @classmethod
    def _first_of_month(cls, value: date) -> date:
        if value.day != 1:
            raise ValueError(f"valid_from must be the first day of a month, got {value}")
        return value


class ChannelCostsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Literal["RUB"]  # the marts' money columns are *_rub
    costs: list[ChannelCost]


def parse_channel_costs(
    text: str, channel_ids: Iterable[str], source: str = "channel_costs.yaml"
) -> tuple[ChannelCost, ...]:
    """Validate the cost file's text against the channel registry; raise ValueError naming the problem."""
    from transforms.config_errors import load_yaml, validation_error

    data = load_yaml(text, source)
    try:
        costs = ChannelCostsFile.model_validate(data).costs
    except ValidationError as exc:  # one line per problem, naming the file and the field
        raise validation_error(exc, source, data) from None
    known = set(channel_ids)
    unknown = sorted({c.channel_id for c in costs} - known)
    if unknown:
        raise ValueError(f"{source}: unknown channel ids {unknown} (not in channels.yaml)")
    twice = sorted(
        f"{ch} {day}" for (ch, day), n in Counter((c.channel_id, c.valid_from) for c in costs).items() if n > 1
    )
    if twice:
        raise ValueError(f"{source}: two entries for the same channel and month: {twice}")
    return tuple(sorted(costs, key=lambda c: (c.channel_id, c.valid_from)))


@cache
def load_channel_costs(path: Path = CHANNEL_COSTS_PATH) -> tuple[ChannelCost, ...]:
    from transforms.channels import load_channels
    from transforms.config_errors import display_path

    channel_ids = [c.id for c in load_channels()]
    return parse_channel_costs(path.read_text(encoding="utf-8"), channel_ids, source=display_path(path))


def channel_costs_frame(costs: Iterable[ChannelCost]) -> pl.DataFrame:
    """``staging.stg_config__channel_costs``: one row per entry, with the exclusive ``valid_to``."""
    ordered = sorted(costs, key=lambda c: (c.channel_id, c.valid_from))
    rows = []
    for i, cost in enumerate(ordered):
        after = ordered[i + 1] if i + 1 < len(ordered) else None
        rows.append(
            {
                "channel_id": cost.channel_id,
                "valid_from": cost.valid_from,
                "valid_to": after.valid_from if after and after.channel_id == cost.channel_id else None,
                "monthly_cost_rub": cost.monthly_cost_rub,
                "note": cost.note,
            }
        )
    return pl.DataFrame(rows, schema=CHANNEL_COST_COLUMNS)
