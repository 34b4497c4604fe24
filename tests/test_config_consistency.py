"""The cheapest insurance: configuration, code and deployments agree with each other."""

import importlib
from pathlib import Path

import yaml

from transforms.channels import load_channels
from transforms.dag import BUILD_ORDER, SqlModel
from transforms.incremental import SCOPES
from transforms.model_specs import specified_models
from transforms.readers import READERS
from transforms.schemas import ENTITY_SCHEMAS
from warehouse.sql_models import SQL_DIR

ROOT = Path(__file__).resolve().parent.parent


def _deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_every_schedule_group_has_an_ingest_deployment_and_vice_versa() -> None:
    groups = {c.schedule_group for c in load_channels() if c.enabled}
    deployed = {
        d["parameters"]["schedule_group"]
        for d in _deployments()
        if d["entrypoint"] == "flows/ingest.py:ingest_channels"
    }
    assert groups == deployed


def test_every_deployment_entrypoint_resolves_to_a_flow() -> None:
    for deployment in _deployments():
        module_path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        assert hasattr(getattr(module, name), "fn"), f"{deployment['entrypoint']} is not a Prefect flow"


def test_every_format_in_the_registry_has_a_reader() -> None:
    assert {c.format for c in load_channels()} <= set(READERS)


def test_every_entity_has_a_staging_model_in_the_dag() -> None:
    staged = {f"staging.{m.name}" for m in BUILD_ORDER["staging"]}
    assert {schema.staging_table for schema in ENTITY_SCHEMAS.values()} <= staged


def test_every_sql_file_is_in_the_dag_and_every_sql_model_has_a_file() -> None:
    """Every SQL file is a model of the DAG, or (``transforms/sql/clock/``) the advance of a core model's open
    SLA cycles to a later clock, named after the model whose scope declares it (transforms/incremental.py)."""
    on_disk = {f"{p.parent.name}.{p.stem}" for p in SQL_DIR.glob("*/*.sql") if p.parent.name != "clock"}
    in_dag = {f"{layer}.{m.name}" for layer, models in BUILD_ORDER.items() for m in models if isinstance(m, SqlModel)}
    assert on_disk == in_dag
    advances = {f"core.{p.stem}" for p in (SQL_DIR / "clock").glob("*.sql")}
    assert advances == {table for table, scope in SCOPES.items() if scope.advance is not None}
    assert advances <= in_dag


def test_every_staging_core_and_mart_table_has_a_suite() -> None:
    suites = set()
    for path in (ROOT / "expectations").glob("*/*.py"):
        if path.stem.startswith("_") or path.parent.name == "raw":
            continue
        module = importlib.import_module(f"expectations.{path.parent.name}.{path.stem}")
        if hasattr(module, "TABLE"):
            suites.add(module.TABLE)
    suites |= {f"{layer}.{name}" for layer in ("staging", "core", "marts") for name in specified_models(layer)}
    tables = {f"{layer}.{m.name}" for layer in ("staging", "core", "marts") for m in BUILD_ORDER[layer]}
    tables -= {t for t in tables if ".int_" in t}  # intermediate models are checked through their facts
    tables -= {t for t in tables if ".stg_config__" in t}  # config validated by pydantic at load
    assert tables - suites == set()
