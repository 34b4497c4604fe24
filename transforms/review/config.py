"""Review settings (review.yaml), validated at load."""

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

REVIEW_CONFIG_PATH = Path(__file__).with_name("review.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonthlySettings(_Frozen):
    trend_months: int = Field(ge=2, le=60)
    marts: tuple[str, ...]
    top_types: int = Field(ge=1, le=50)
    verbatims: int = Field(ge=0, le=20)


class WeeklySettings(_Frozen):
    top_types: int = Field(ge=1, le=100)
    systemic_min_complaints: int = Field(ge=1)
    systemic_min_customers: int = Field(ge=1)


class DrillSettings(_Frozen):
    html_items_per_figure: int = Field(ge=1)
    xlsx_items_per_figure: int = Field(default=1000, ge=1)


class ReviewSettings(_Frozen):
    monthly: MonthlySettings
    weekly: WeeklySettings
    drill: DrillSettings


def parse_review_settings(text: str) -> ReviewSettings:
    return ReviewSettings.model_validate(yaml.safe_load(text))


@cache
def load_review_settings(path: Path = REVIEW_CONFIG_PATH) -> ReviewSettings:
    from transforms.config_errors import config_errors

    text = path.read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the field
        return parse_review_settings(text)
