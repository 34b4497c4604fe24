"""A clone stands on its own: no file of the repository points at material outside it.

The team's working notes lived in a folder beside the checkout; a user's clone has no such folder,
so a path into it, or a reference to one of its documents, is a dangling link in the docs or a test
that cannot run. What the project needs from there is copied in with its licence
(tests/fixtures/real, datasets/) or written down in docs/ (metrics.md, development.md).
"""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Built from parts so that this file does not match itself.
OUTSIDE = (
    "../" + "shared",
    "OTKLIK_" + "SHARED_DIR",
    # the documents of that folder, by name
    "MISSION" + ".md",
    "STACK" + ".md",
    "STYLE" + ".md",
    "anchors" + ".md",
    "ducklake-scaleout" + ".md",
)
# What a checkout makes and git ignores (the venv, caches, the demo's data): not the repository.
NOT_THE_REPOSITORY = {".git", ".venv", ".tools", ".prefect", ".otklik", "data", "reports", "__pycache__"}


def repository_files() -> list[Path]:
    """Every file git tracks or would add (untracked but not ignored); the tree without git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file() and not NOT_THE_REPOSITORY.intersection(path.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listed.decode("utf-8").split("\0") if name and (ROOT / name).is_file()]


def test_no_file_refers_to_material_outside_the_repository() -> None:
    files = repository_files()
    assert len(files) > 100, "the scan found the repository's files"
    found = []
    for path in files:
        data = path.read_bytes()
        for pattern in OUTSIDE:
            if pattern.encode() in data:
                line = data[: data.index(pattern.encode())].count(b"\n") + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {pattern}")
    assert found == [], "files refer to material outside the repository:\n" + "\n".join(found)


def test_the_scan_would_see_a_reference() -> None:
    """The needle is found where it is planted (the scan reads bytes, any encoding or file type)."""
    planted = b"see " + OUTSIDE[0].encode() + b"/formats for the payload"
    assert any(pattern.encode() in planted for pattern in OUTSIDE)
