"""Every model, layer by layer, in build order (docs/development.md, «The DAG»).

- ``ConfigModel``: a config file written as a table (``transforms/config_tables.py``).
- ``StagedEntity``: raw payloads of every channel of one entity, normalized (``transforms/normalize``).
- ``SqlModel``: ``transforms/sql/<layer>/<name>.sql``, a single pure select. Every such file is a
  model: nothing lists them by hand.
- ``PythonModel``: a pure function of Polars frames read from ``inputs``.

The order comes from the models' references: a SQL model's ``from`` / ``join`` of ``<layer>.<table>``
and a Python model's ``inputs``. Layers are built in order (raw is checked, staging, core, marts), each
checked before the next; within a layer a model follows everything it reads. A model that reads a
later layer, or a cycle, is an error at import.
"""

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

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


@functools.lru_cache(maxsize=2)
def _recorded_model(text: str) -> ClassifierModel:
    """A recorded model artifact, parsed once per process: a replay's build asks for it in two models, and
    parsing the committed one (5.6 MB of JSON) takes about 0.2 s. A model is only read once parsed."""
    return ClassifierModel.from_text(text)


def _classifier(ctx: BuildContext) -> Classifier:
    model = None
    if ctx.classifier_model is not None:
        model = Classifier(ctx.feedback_types, _recorded_model(ctx.classifier_model))
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


SQL_DIR = Path(__file__).resolve().parent / "sql"
LAYER_ORDER = ("raw", "staging", "core", "marts")

# The models that are not SQL files, by layer; the SQL files of transforms/sql/<layer>/ join them.
DECLARED: dict[str, list[Model]] = {
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
        StagedEntity("stg_crm__customer_statuses", "customer_status"),
    ],
    "core": [
        PythonModel(
            "int_feedback_predictions", _predictions, inputs=("staging.stg_channels__feedback",), reads_previous=True
        ),
        PythonModel(
            "int_feedback_classified",
            _classified,
            inputs=("staging.stg_channels__feedback", "raw.manual_labels", "core.int_feedback_predictions"),
        ),
        PythonModel("int_feedback_conversations", _conversations, inputs=("staging.stg_channels__feedback",)),
    ],
    "marts": [],
}

_REFERENCE = re.compile(r"\b(?:from|join)\s+(raw|staging|core|marts|restricted)\.([a-z_0-9]+)", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


def sql_references(layer: str, name: str) -> set[str]:
    """The tables ``transforms/sql/<layer>/<name>.sql`` reads, as ``layer.table``."""
    return references_in((SQL_DIR / layer / f"{name}.sql").read_text(encoding="utf-8"))


def references_in(sql: str) -> set[str]:
    """The tables a select reads (its ``from`` and ``join`` of ``<layer>.<table>``), as ``layer.table``."""
    text = _COMMENT.sub("", sql)
    return {f"{schema.lower()}.{table.lower()}" for schema, table in _REFERENCE.findall(text)}


def model_inputs(layer: str, model: Model) -> set[str]:
    """What a model reads (its own previous table excluded), as ``layer.table``."""
    if isinstance(model, SqlModel):
        found = sql_references(layer, model.name)
    elif isinstance(model, PythonModel):
        found = set(model.inputs)
    else:
        found = set()
    return found - {f"{layer}.{model.name}"}


def _ordered(layer: str, models: Iterable[Model]) -> list[Model]:
    """``models`` so that each follows the models of its layer that it reads (Kahn's algorithm, keeping
    the given order among models that are ready together)."""
    pending = list(models)
    names = {f"{layer}.{m.name}" for m in pending}
    later = set(LAYER_ORDER[LAYER_ORDER.index(layer) + 1 :])
    for model in pending:
        ahead = sorted(ref for ref in model_inputs(layer, model) if ref.split(".")[0] in later)
        if ahead:
            raise ValueError(f"{layer}.{model.name} reads a later layer: {', '.join(ahead)}")
    done: list[Model] = []
    built: set[str] = set()
    while pending:
        ready = next(
            (m for m in pending if (model_inputs(layer, m) & names) <= built),
            None,
        )
        if ready is None:
            cycle = ", ".join(f"{layer}.{m.name}" for m in pending)
            raise ValueError(f"the models of {layer} read each other in a cycle: {cycle}")
        pending.remove(ready)
        done.append(ready)
        built.add(f"{layer}.{ready.name}")
    return done


def build_order() -> dict[str, list[Model]]:
    """Every model of staging, core and marts, layer by layer, each after what it reads."""
    order = {}
    for layer in LAYER_ORDER[1:]:
        sql = [SqlModel(path.stem) for path in sorted((SQL_DIR / layer).glob("*.sql"))]
        order[layer] = _ordered(layer, [*DECLARED.get(layer, []), *sql])
    return order


BUILD_ORDER: dict[str, list[Model]] = build_order()

LAYERS = tuple(BUILD_ORDER)

# Read by the staged entities (warehouse/staging.py) without being named in any reference: a change of
# them reaches every layer, which a partial build does not follow.
STAGED_FROM = frozenset({"raw.channel_payloads", "raw.batches"})


def downstream(tables: Iterable[str]) -> dict[str, list[Model]]:
    """The models that read any of ``tables`` (``layer.table``), directly or through another model: by
    layer, in build order. After only ``tables`` changed, rebuilding these brings every table up to date.

    Raises ValueError for the raw tables the staged entities read (a new batch needs a full build).
    """
    changed = set(tables)
    staged = sorted(changed & STAGED_FROM)
    if staged:
        raise ValueError(f"{', '.join(staged)} feed every staged entity: a change of them needs a full build")
    picked: dict[str, list[Model]] = {}
    for layer, models in BUILD_ORDER.items():
        picked[layer] = []
        for model in models:
            if model_inputs(layer, model) & changed:
                picked[layer].append(model)
                changed.add(f"{layer}.{model.name}")
    return picked
