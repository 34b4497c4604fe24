"""GX's expectation kwargs without rebuilding the expectation's configuration once per key.

GX 1.24 reads an expectation's kwargs through ``Expectation.configuration``, a property that builds a new
``ExpectationConfiguration`` from the model's fields (a pydantic ``dict()``) at every read. Its
``_get_domain_kwargs`` and ``_get_success_kwargs`` read it once per key of a dict comprehension, and
``_get_runtime_kwargs`` (which calls both) twice more per runtime key: 23,150 configurations, 0.74 s, in one
golden build (``record_build`` of ``tests/warehouse/test_replay.py``; a timer around the property), 20,272 in a
+1,000 run at 100k. With the patch: 5,554 and 4,972 (BENCHMARKS.md, the entry «2026-12-07 (thirteenth)»).

``configuration_once_per_call()`` makes those four methods build it once per outermost call: while one of them
runs, ``configuration`` returns the one it built first for the same expectation. They only read it (a
``get`` or an ``in`` of its kwargs), and the expectation does not change while they run, so each returns what
it returned before: tests/expectations/test_gx_configuration.py compares them, patched and not, for every
expectation of every suite. Outside those calls ``configuration`` is GX's own, a new object at every read.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any

# the methods during which an expectation's configuration is built once (GX 1.24,
# great_expectations/expectations/expectation.py): each reads its kwargs and changes nothing
READ_ONLY_METHODS = ("_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs", "_get_success_kwarg")
_BUILT: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("otklik_gx_configurations", default=None)
_MARK = "_otklik_configuration_once"
ORIGINALS: dict[str, Any] = {}  # GX's own attributes of ``Expectation`` that the patch replaced, by name


def configuration_once_per_call() -> None:
    """Patch GX's ``Expectation`` as the module docstring says (idempotent)."""
    from great_expectations.expectations.expectation import Expectation

    if getattr(Expectation, _MARK, False):
        return

    def configuration(self: Any) -> Any:
        build = ORIGINALS["configuration"].fget
        built = _BUILT.get()
        if built is None:  # not inside one of READ_ONLY_METHODS: GX's own property
            return build(self)
        found = built.get(id(self))
        if found is None or found[0] is not self:
            found = built[id(self)] = (self, build(self))
        return found[1]

    for name in READ_ONLY_METHODS:
        ORIGINALS[name] = getattr(Expectation, name)
        setattr(Expectation, name, _building_once(ORIGINALS[name]))
    ORIGINALS["configuration"] = Expectation.configuration
    Expectation.configuration = property(configuration, doc=Expectation.configuration.__doc__)
    setattr(Expectation, _MARK, True)


def _building_once(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _BUILT.get() is not None:  # an outer call's configurations serve this one
            return method(self, *args, **kwargs)
        token = _BUILT.set({})
        try:
            return method(self, *args, **kwargs)
        finally:
            _BUILT.reset(token)

    return wrapper
