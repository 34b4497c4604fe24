"""Review settings (review.yaml), validated at load."""

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from transforms.config_errors import parse_yaml

REVIEW_CONFIG_PATH = Path(__file__).with_name("review.yaml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Kpi(_Frozen):
    """One headline figure of the review: a column of a monthly mart, its n and which way is better."""

    label: str = Field(min_length=1)
    column: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    mart: str = Field(default="management_monthly", pattern=r"^[a-z][a-z0-9_]*$")
    n: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")  # the column holding the figure's n
    better: Literal["higher", "lower"] | None = None  # None: neither way is better
    # Extra row selectors of the mart beyond (report_month, directorate_id), e.g. a policy or manager 'all'
    where: dict[str, str] = Field(default_factory=dict)
    company_only: bool = False  # e.g. eNPS: the survey is anonymous, read it on the company row
    unit: str = ""  # shown after the value, e.g. ₽


class MonthlySettings(_Frozen):
    trend_months: int = Field(ge=2, le=60)
    marts: tuple[str, ...]
    top_types: int = Field(ge=1, le=50)
    verbatims: int = Field(ge=0, le=20)
    kpis: tuple[Kpi, ...] = Field(min_length=1)


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
    return ReviewSettings.model_validate(parse_yaml(text))


@cache
def load_review_settings(path: Path = REVIEW_CONFIG_PATH) -> ReviewSettings:
    from transforms.config_errors import config_errors

    text = path.read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the field
        return parse_review_settings(text)
