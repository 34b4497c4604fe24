"""docs/marts.md is what the specs say, and every model's spec is well formed."""

import pytest

from transforms.dag import BUILD_ORDER, SqlModel
from transforms.model_docs import MARTS_DOC, marts_reference
from transforms.model_specs import ModelSpec, ModelSpecError, load_spec, specified_models


def test_the_committed_marts_reference_is_the_generated_one() -> None:
    assert MARTS_DOC.read_text(encoding="utf-8") == marts_reference(), "run `otklik docs` and commit docs/marts.md"


def test_every_mart_has_a_spec_and_every_spec_a_model() -> None:
    marts = {m.name for m in BUILD_ORDER["marts"] if isinstance(m, SqlModel)}
    assert set(specified_models("marts")) == marts
    core = {m.name for m in BUILD_ORDER["core"] if isinstance(m, SqlModel)}
    assert set(specified_models("core")) <= core


def test_a_spec_names_its_grain_among_its_columns_and_knows_its_checks() -> None:
    columns = {"a": {"description": "the a", "checks": ["not_null"]}}
    with pytest.raises(ValueError, match="grain columns not among the columns"):
        ModelSpec.model_validate(
            {"description": "a model of a", "grain": ["b"], "rows": "every a there is", "columns": columns}
        )
    with pytest.raises(ValueError, match="unknown check 'positive'"):
        ModelSpec.model_validate(
            {"description": "a model of a", "grain": ["a"], "rows": "every a there is",
             "columns": {"a": {"description": "the a", "checks": ["positive"]}}}
        )  # fmt: skip
    with pytest.raises(ValueError, match="at_most names an unknown column"):
        ModelSpec.model_validate(
            {"description": "a model of a", "grain": ["a"], "rows": "every a there is",
             "columns": {"a": {"description": "the a", "checks": [{"at_most": "b"}]}}}
        )  # fmt: skip


def test_a_run_local_column_says_why_and_is_not_in_the_grain() -> None:
    spec = {"description": "a model of a", "grain": ["a"], "rows": "every a there is"}
    loaded = {"description": "when it was loaded", "run_local": "the time this warehouse loaded it"}
    parsed = ModelSpec.model_validate({**spec, "columns": {"a": {"description": "the a"}, "loaded_at": loaded}})
    assert parsed.columns["loaded_at"].run_local == "the time this warehouse loaded it"
    assert parsed.columns["a"].run_local is None
    with pytest.raises(ValueError, match="at least 10 characters"):
        ModelSpec.model_validate({**spec, "columns": {"a": {"description": "the a", "run_local": "yes"}}})
    with pytest.raises(ValueError, match=r"grain columns cannot be run_local: \['a'\]"):
        ModelSpec.model_validate(
            {**spec, "columns": {"a": {"description": "the a", "run_local": "the time this warehouse loaded it"}}}
        )


def test_a_broken_spec_file_names_itself(tmp_path, monkeypatch) -> None:
    import transforms.model_specs as specs

    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "broken.yml").write_text("description: [unclosed", encoding="utf-8")
    monkeypatch.setattr(specs, "SQL_DIR", tmp_path)
    load_spec.cache_clear()
    try:
        with pytest.raises(ModelSpecError, match=r"broken\.yml"):
            load_spec("marts", "broken")
    finally:
        load_spec.cache_clear()
