"""Every model, layer by layer, in build order (docs/development.md, «The DAG»). One screen shows the whole DAG.

- ``ConfigModel``: a config file written as a table (``transforms/config_tables.py``).
- ``StagedEntity``: raw payloads of every channel of one entity, normalized (``transforms/normalize``).
- ``SqlModel``: ``transforms/sql/<layer>/<name>.sql``, a single pure select.
- ``PythonModel``: a pure function of Polars frames read from ``inputs``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from transforms import config_tables
from transforms.channels import Channel
from transforms.classify import Classifier, classifier_for, classify, latest_manual_labels
from transforms.classify.model import Model as ClassifierModel
from transforms.classify.predictions import predictions
from transforms.conversations import DEFAULT_WINDOW, conversations
from transforms.costs import ChannelCost, channel_costs_frame, load_channel_costs
from transforms.org import Org
from transforms.sla import (
    Calendar,
    Policy,
    calendar_days_frame,
    calendar_hours_frame,
    calendars_frame,
    load_calendars,
    policies_frame,
    targets_frame,
)
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
    # SLA calendars (policies.yaml); the shipped ones unless a replay passes its recorded configuration
    sla_calendars: tuple[Calendar, ...] = field(default_factory=load_calendars)
    # transforms/costs/channel_costs.yaml; None reads the file on disk (recorded by warehouse/runs.py)
    channel_costs: tuple[ChannelCost, ...] | None = None
    # the classifier's model artifact text (transforms/classify/models/default.json); None reads the file on disk
    classifier_model: str | None = None


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
    # Also pass the model's own table as the last build left it (None when there is none), for a model
    # that reuses rows whose inputs did not change. Its result must equal a build from nothing.
    reads_previous: bool = False


Model = ConfigModel | StagedEntity | SqlModel | PythonModel


def _classifier(ctx: BuildContext) -> Classifier:
    model = None
    if ctx.classifier_model is not None:
        model = Classifier(ctx.feedback_types, ClassifierModel.from_text(ctx.classifier_model))
    return classifier_for(ctx.feedback_types, model)


def _predictions(inputs: dict[str, pl.LazyFrame | None], ctx: BuildContext) -> pl.LazyFrame:
    previous = inputs.get("core.int_feedback_predictions")
    staged = inputs["staging.stg_channels__feedback"].collect()
    return predictions(staged, _classifier(ctx), None if previous is None else previous.collect()).lazy()


def _classified(inputs: dict[str, pl.LazyFrame], ctx: BuildContext) -> pl.LazyFrame:
    return classify(
        inputs["staging.stg_channels__feedback"],
        types=ctx.feedback_types,
        org=ctx.org,
        channels=ctx.channels,
        classifier=_classifier(ctx),
        manual_labels=latest_manual_labels(inputs["raw.manual_labels"]),
        predicted=inputs["core.int_feedback_predictions"].collect(),
    )


def _conversations(inputs: dict[str, pl.LazyFrame], ctx: BuildContext) -> pl.LazyFrame:
    window = timedelta(hours=ctx.conversation_window_hours)
    return conversations(inputs["staging.stg_channels__feedback"], window=window)


def _sla_calendar_days(ctx: BuildContext) -> pl.DataFrame:
    # holidays from the earliest rule's year to two years past as_of, the horizon of any due time
    first = min((r.valid_from.year for p in ctx.sla_policies for r in p.rules), default=ctx.as_of.year)
    return calendar_days_frame(ctx.sla_calendars, range(min(first, ctx.as_of.year), ctx.as_of.year + 3))


BUILD_ORDER: dict[str, list[Model]] = {
    "staging": [
        ConfigModel("stg_config__channels", lambda ctx: config_tables.channels_frame(ctx.channels)),
        ConfigModel("stg_config__directorates", lambda ctx: config_tables.directorates_frame(ctx.org)),
        ConfigModel("stg_config__departments", lambda ctx: config_tables.departments_frame(ctx.org)),
        ConfigModel("stg_config__managers", lambda ctx: config_tables.managers_frame(ctx.org)),
        ConfigModel("stg_config__stores", lambda ctx: config_tables.stores_frame(ctx.org)),
        ConfigModel("stg_config__feedback_types", lambda ctx: config_tables.feedback_types_frame(ctx.feedback_types)),
        ConfigModel("stg_config__sla_policies", lambda ctx: policies_frame(ctx.sla_policies)),
        ConfigModel("stg_config__sla_targets", lambda ctx: targets_frame(ctx.sla_policies)),
        ConfigModel("stg_config__sla_calendars", lambda ctx: calendars_frame(ctx.sla_calendars)),
        ConfigModel("stg_config__sla_calendar_hours", lambda ctx: calendar_hours_frame(ctx.sla_calendars)),
        ConfigModel("stg_config__sla_calendar_days", _sla_calendar_days),
        ConfigModel(
            "stg_config__channel_costs",
            lambda ctx: channel_costs_frame(load_channel_costs() if ctx.channel_costs is None else ctx.channel_costs),
        ),
        StagedEntity("stg_channels__feedback", "feedback"),
        StagedEntity("stg_crm__case_events", "case_event"),
        StagedEntity("stg_erp__orders_monthly", "order_count"),
    ],
    "core": [
        SqlModel("dim_channels"),
        SqlModel("dim_directorates"),
        SqlModel("dim_feedback_types"),
        PythonModel(
            "int_feedback_predictions", _predictions, inputs=("staging.stg_channels__feedback",), reads_previous=True
        ),
        PythonModel(
            "int_feedback_classified",
            _classified,
            inputs=("staging.stg_channels__feedback", "raw.manual_labels", "core.int_feedback_predictions"),
        ),
        PythonModel("int_feedback_conversations", _conversations, inputs=("staging.stg_channels__feedback",)),
        SqlModel("fct_feedback"),
        SqlModel("fct_qa_checks"),
        SqlModel("fct_cases"),
        SqlModel("int_sla_calendar_intervals"),
        SqlModel("int_sla_clocks"),
        SqlModel("int_sla_clock_marks"),
        SqlModel("fct_case_sla"),
        SqlModel("fct_sla_events"),
        SqlModel("fct_orders_monthly"),
        SqlModel("fct_contact_requests"),
    ],
    "marts": [
        SqlModel("management_monthly"),
        SqlModel("channel_freshness"),
        SqlModel("sla_compliance_monthly"),
        SqlModel("owner_monthly"),
        SqlModel("store_monthly"),
        SqlModel("channel_monthly"),
        SqlModel("feedback_type_monthly"),
        SqlModel("close_the_loop_monthly"),
        SqlModel("qa_results_monthly"),
    ],
}

LAYERS = tuple(BUILD_ORDER)
