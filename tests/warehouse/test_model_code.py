"""New model code builds every model whole once: a scoped build would otherwise keep the rows the old code
wrote beside the rows the new code writes (warehouse/model_code.py)."""

import inspect
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.golden import golden_context
from transforms.dag import BUILD_ORDER, ConfigModel, PythonModel, SqlModel
from warehouse import connect_memory, model_code, scoped_build

CLOCK = datetime(2026, 10, 1, 6, tzinfo=UTC)


def test_the_digest_reads_every_model_and_the_scope_declarations() -> None:
    files = {p.as_posix() for p in model_code.model_code_files()}
    expected = {"transforms/incremental.py", "transforms/dag.py", "warehouse/scoped_build.py", "warehouse/build.py"}
    for layer, models in BUILD_ORDER.items():
        for model in models:
            if isinstance(model, SqlModel):
                expected.add(f"transforms/sql/{layer}/{model.name}.sql")
            elif isinstance(model, PythonModel | ConfigModel):
                function = model.fn if isinstance(model, PythonModel) else model.frame
                expected.add(Path(inspect.getsourcefile(function)).relative_to(model_code.PROJECT).as_posix())
    assert expected <= files, sorted(expected - files)
    assert not any(name.startswith(("flows/", "docs/", "tests/")) for name in files)


def _copy_of_model_code(root: Path) -> Path:
    for part in model_code.MODEL_CODE:
        source = model_code.PROJECT / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / part)
    return root


def test_a_change_of_any_model_file_changes_the_digest_and_nothing_else_does(tmp_path: Path) -> None:
    project = _copy_of_model_code(tmp_path / "project")
    same = model_code.model_code_digest(project=project)
    assert same == model_code.model_code_digest()  # the copy digests as the project does
    (project / "flows").mkdir()
    (project / "flows" / "build.py").write_text("# a flow is not a model\n")
    (project / "transforms" / "sql" / "core" / "notes.txt").write_text("not code\n")
    assert model_code.model_code_digest(project=project) == same
    sql = project / "transforms" / "sql" / "core" / "fct_case_sla.sql"
    sql.write_text(sql.read_text() + "\n-- an edit\n")
    edited = model_code.model_code_digest(project=project)
    assert edited != same
    (project / "transforms" / "sla" / "extra.py").write_text("")  # a new module
    assert model_code.model_code_digest(project=project) not in (same, edited)


def test_a_build_after_the_models_code_changed_is_not_scoped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = connect_memory()
    assert scoped_build.begin(con, golden_context(CLOCK)) is False  # the first build
    scoped_build.finish(con)
    assert scoped_build.begin(con, golden_context(CLOCK + timedelta(hours=1))) is True
    scoped_build.finish(con)
    project = _copy_of_model_code(tmp_path / "project")
    monkeypatch.setattr(model_code, "PROJECT", project)
    assert scoped_build.begin(con, golden_context(CLOCK + timedelta(hours=2))) is True  # the same code, copied
    scoped_build.finish(con)
    model = project / "transforms" / "sql" / "marts" / "management_monthly.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert scoped_build.begin(con, golden_context(CLOCK + timedelta(hours=3))) is False
    scoped_build.finish(con)
    assert scoped_build.begin(con, golden_context(CLOCK + timedelta(hours=4))) is True  # built whole once
