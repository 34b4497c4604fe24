"""expectations/gx_templates.py: Data Docs compile each GX template once per process, not once per page."""

from pathlib import Path

import duckdb
import jinja2
import pytest
from good_tables import AS_OF
from great_expectations.render.view.view import DefaultJinjaView

from expectations import validate_layer
from expectations.core.fct_feedback import TABLE as FCT_FEEDBACK
from expectations.gx_templates import SHARED_CACHE, share_template_bytecode

BUILT = {FCT_FEEDBACK, "marts.management_monthly"}


def test_the_patch_is_idempotent_and_gives_every_view_the_shared_cache() -> None:
    share_template_bytecode()
    patched = DefaultJinjaView.__init__
    share_template_bytecode()
    assert DefaultJinjaView.__init__ is patched
    assert DefaultJinjaView().env.bytecode_cache is SHARED_CACHE


def test_a_second_docs_build_compiles_no_template(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SHARED_CACHE.clear()
    validate_layer(warehouse, "core", run_id="run-1", as_of=AS_OF, docs_dir=tmp_path / "one", tables=BUILT)
    assert len(SHARED_CACHE) > 10  # the validation page, the index and their partials

    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: object, **kw: object):
        compiled.append(name or "<string>")
        return original(self, source, name, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    validate_layer(warehouse, "core", run_id="run-2", as_of=AS_OF, docs_dir=tmp_path / "two", tables=BUILT)

    assert [name for name in compiled if name.endswith(".j2")] == []
    [page] = (tmp_path / "two").glob("validations/core/fct_feedback/run-2/*/*.html")
    assert "otklik offline css" in page.read_text(encoding="utf-8")


def test_a_template_loaded_from_the_cache_renders_as_a_freshly_compiled_one(monkeypatch: pytest.MonkeyPatch) -> None:
    SHARED_CACHE.clear()
    loader = jinja2.DictLoader({"list.j2": "{% for x in items %}<li>{{ x }}</li>{% endfor %}"})
    fresh = jinja2.Environment(loader=loader, autoescape=True).get_template("list.j2").render(items=["<a>", 1])
    jinja2.Environment(loader=loader, autoescape=True, bytecode_cache=SHARED_CACHE).get_template("list.j2")
    monkeypatch.setattr(jinja2.Environment, "compile", lambda *a, **k: pytest.fail("compiled again"))

    second = jinja2.Environment(loader=loader, autoescape=True, bytecode_cache=SHARED_CACHE)

    assert second.get_template("list.j2").render(items=["<a>", 1]) == fresh == "<li>&lt;a&gt;</li><li>1</li>"
