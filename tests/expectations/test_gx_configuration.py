"""expectations/gx_configuration.py: an expectation's kwargs as GX gives them, its configuration built once.

If ``test_every_suite_expectation_gets_the_kwargs_gx_gives_it`` fails after a GX upgrade, the methods the
patch wraps changed: read them again before keeping the patch.
"""

from typing import Any

import pytest

from expectations import gx_configuration
from expectations.validate import suite_modules

gx = pytest.importorskip("great_expectations")
from great_expectations.expectations.expectation import Expectation  # noqa: E402

LAYERS = ("raw", "staging", "core", "marts")


def _suite_expectations() -> list[Any]:
    return [e for layer in LAYERS for module in suite_modules(layer) for e in module.build_suite().expectations]


def _kwargs(expectation: Any) -> tuple[dict, dict, dict, dict]:
    return (
        expectation._get_domain_kwargs(),
        expectation._get_success_kwargs(),
        expectation._get_runtime_kwargs(),
        expectation._get_runtime_kwargs({"result_format": "COMPLETE"}),
    )


def test_the_patch_is_idempotent() -> None:
    gx_configuration.configuration_once_per_call()
    patched = {name: getattr(Expectation, name) for name in (*gx_configuration.READ_ONLY_METHODS, "configuration")}
    gx_configuration.configuration_once_per_call()
    assert {name: getattr(Expectation, name) for name in patched} == patched
    assert set(gx_configuration.ORIGINALS) == set(patched)


def test_every_suite_expectation_gets_the_kwargs_gx_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    gx_configuration.configuration_once_per_call()
    expectations = _suite_expectations()
    assert len(expectations) > 200  # every layer's suites, the declared ones included (264 today)
    patched = [_kwargs(e) for e in expectations]
    for name, original in gx_configuration.ORIGINALS.items():
        monkeypatch.setattr(Expectation, name, original)
    assert [_kwargs(e) for e in expectations] == patched


def test_the_configuration_is_built_once_per_call_and_anew_outside_one(monkeypatch: pytest.MonkeyPatch) -> None:
    gx_configuration.configuration_once_per_call()
    built: list[Any] = []
    build = gx_configuration.ORIGINALS["configuration"].fget
    # GX's own property, counted: the patched one builds through it
    monkeypatch.setitem(
        gx_configuration.ORIGINALS, "configuration", property(lambda self: built.append(self) or build(self))
    )
    expectation = gx.expectations.ExpectColumnValuesToBeBetween(column="score_10", min_value=0, max_value=10)
    first, second = expectation.configuration, expectation.configuration
    assert first is not second and first == second  # outside the wrapped methods: GX's own, a new one each read
    built.clear()
    expectation._get_runtime_kwargs()
    assert built == [expectation]  # GX 1.24's own methods build it 11 times in this one call
