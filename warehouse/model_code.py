"""What the built layers are computed by: a digest of the models' code, so that new code builds them whole.

A scoped build (warehouse/scoped_build.py) rebuilds only the keys whose inputs changed, and keeps every other
row as the last build wrote it. That is right only while the code that wrote those rows is the code that
would write them now: after an upgrade that changes a model (its SQL, a Python model, how scopes are
declared), the rows outside the scope would keep the old definition beside new rows of the new one, and
nothing would tell them apart. The build's state therefore records this digest with its configuration,
and a build whose digest differs builds every model whole, once (staging has its own digest of the
normalization code, warehouse/staging.py, and is not rebuilt by this one).

What the digest covers (``MODEL_CODE``): every ``.py`` and ``.sql`` file of ``transforms/`` (the models, what
they call, and the scope declarations), the modules of ``warehouse/`` that render and run them, and the
versions of DuckDB and Polars, whose functions (hashes, rounding, time zones) the models' results rest on.
A change elsewhere (the flows, the CLI, the docs, the review) does not rebuild anything.
"""

import hashlib
import importlib.metadata
from collections.abc import Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODEL_CODE = ("transforms", "warehouse/build.py", "warehouse/scoped_build.py", "warehouse/sql_models.py")
_SUFFIXES = (".py", ".sql")
_LIBRARIES = ("duckdb", "polars")


def model_code_files(roots: Iterable[str] | None = None, project: Path | None = None) -> list[Path]:
    """The files the digest reads, in a fixed order (paths relative to ``project``, ``PROJECT`` by default)."""
    roots, project = roots or MODEL_CODE, project or PROJECT
    files: set[Path] = set()
    for root in roots:
        path = project / root
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.suffix in _SUFFIXES and "__pycache__" not in p.parts)
        elif path.is_file():
            files.add(path)
    return sorted(p.relative_to(project) for p in files)


def model_code_digest(roots: Iterable[str] | None = None, project: Path | None = None) -> str:
    """sha256 of the libraries' versions and of each file's path and bytes (``model_code_files``)."""
    project = project or PROJECT
    digest = hashlib.sha256()
    for library in _LIBRARIES:
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    for relative in model_code_files(roots, project):
        content = (project / relative).read_bytes()
        digest.update(f"{relative.as_posix()} {len(content)}\n".encode())
        digest.update(content)
    return digest.hexdigest()
