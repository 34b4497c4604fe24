"""Data Docs without recompiling GX's templates for every page it renders.

GX 1.24 renders each Data Docs page through a new ``DefaultJinjaView``, and each view makes a new jinja
``Environment``, whose template cache dies with it: the four layers' docs of one build compiled the same
few dozen templates hundreds of times (cProfile). Jinja's documented remedy is a bytecode cache shared by
the environments: ``share_template_bytecode()`` gives every view one in-memory cache, so that a template
is compiled once per process. On the 25k demo month the docs then add ~0.5 s to the checks instead of
~1.5 s (BENCHMARKS.md, "Checks"); tests/expectations/test_gx_templates.py checks that a
second build compiles nothing and that a cached template renders as a fresh one.
"""

from __future__ import annotations

from typing import Any

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates by jinja's bucket key (template name and source checksum), for this process."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._code.clear()

    def __len__(self) -> int:
        return len(self._code)


SHARED_CACHE = MemoryBytecodeCache()


def share_template_bytecode() -> None:
    """Give every GX jinja view the shared bytecode cache (idempotent)."""
    from great_expectations.render.view.view import DefaultJinjaView

    if getattr(DefaultJinjaView.__init__, "_otklik_shared_cache", False):
        return
    original = DefaultJinjaView.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.env.bytecode_cache = SHARED_CACHE

    __init__._otklik_shared_cache = True  # type: ignore[attr-defined]
    DefaultJinjaView.__init__ = __init__
