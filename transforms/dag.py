"""Every model, layer by layer, in build order (STYLE.md B6). One screen shows the whole DAG.

- ``ConfigModel``: a config file written as a table (``transforms/config_tables.py``).
- ``StagedEntity``: raw payloads of every channel of one entity, normalized (``transforms/normalize``).
- ``SqlModel``: ``transforms/sql/<layer>/<name>.sql``, a single pure select.
- ``PythonModel``: a pure function of Polars frames read from ``inputs``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from transforms import config_tables
from transforms.channels import Channel
from transforms.classify import classify
from transforms.conversations import DEFAULT_WINDOW, conversations
from transforms.org import Org
from transforms.sla import Policy, policies_frame
from transforms.taxonomy import FeedbackType


@dataclass(frozen=True)
class BuildContext:
    """Everything a build depends on besides the raw data; recorded in the run ledger."""

    as_of: datetime  # the clock open SLAs are judged against
    reporting_timezone: str
    channels: tuple[Channel, ...]
    org: Org
    feedback_types: tuple[FeedbackType, ...]
    sla_policies: tuple[Policy, ...]
    pii_key: bytes
    # how far apart one customer's items on two channels may be and still be one conversation
    conversation_window_hours: float = DEFAULT_WINDOW.total_seconds() / 3600


@dataclass(frozen=True)
class ConfigModel:
    name: str
    frame: Callable[[BuildContext], pl.DataFrame]


@dataclass(frozen=True)
class StagedEntity:
    name: str
    entity: str


@dataclass(frozen=True)
class SqlModel:
    name: str


@dataclass(frozen=True)
class PythonModel:
    name: str
    fn: Callable[[dict[str, pl.LazyFrame], BuildContext], pl.LazyFrame]
    inputs: tuple[str, ...]


Model = ConfigModel | StagedEntity | SqlModel | PythonModel


def _classified(inputs: dict[str, pl.LazyFrame], ctx: BuildContext) -> pl.LazyFrame:
    return classify(
        inputs["staging.stg_channels__feedback"],
        types=ctx.feedback_types,
        org=ctx.org,
        channels=ctx.channels,
    )


def _conversations(inputs: dict[str, pl.LazyFrame], ctx: BuildContext) -> pl.LazyFrame:
    window = timedelta(hours=ctx.conversation_window_hours)
    return conversations(inputs["staging.stg_channels__feedback"], window=window)


BUILD_ORDER: dict[str, list[Model]] = {
    "staging": [
        ConfigModel("stg_config__channels", lambda ctx: config_tables.channels_frame(ctx.channels)),
        ConfigModel("stg_config__directorates", lambda ctx: config_tables.directorates_frame(ctx.org)),
        ConfigModel("stg_config__departments", lambda ctx: config_tables.departments_frame(ctx.org)),
        ConfigModel("stg_config__managers", lambda ctx: config_tables.managers_frame(ctx.org)),
        ConfigModel("stg_config__stores", lambda ctx: config_tables.stores_frame(ctx.org)),
        ConfigModel("stg_config__feedback_types", lambda ctx: config_tables.feedback_types_frame(ctx.feedback_types)),
        ConfigModel("stg_config__sla_policies", lambda ctx: policies_frame(ctx.sla_policies)),
        StagedEntity("stg_channels__feedback", "feedback"),
        StagedEntity("stg_crm__case_events", "case_event"),
        StagedEntity("stg_erp__orders_monthly", "order_count"),
    ],
    "core": [
        SqlModel("dim_channels"),
        SqlModel("dim_directorates"),
        SqlModel("dim_feedback_types"),
        PythonModel("int_feedback_classified", _classified, inputs=("staging.stg_channels__feedback",)),
        PythonModel("int_feedback_conversations", _conversations, inputs=("staging.stg_channels__feedback",)),
        SqlModel("fct_feedback"),
        SqlModel("fct_cases"),
        SqlModel("fct_case_sla"),
        SqlModel("fct_orders_monthly"),
    ],
    "marts": [
        SqlModel("management_monthly"),
        SqlModel("channel_freshness"),
    ],
}

LAYERS = tuple(BUILD_ORDER)
