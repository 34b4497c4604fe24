"""One line per problem when a YAML configuration file does not load.

pydantic names a problem by the model and a list position (``channels.0.format``); an operator needs
the file and the entity's id::

    transforms/channels/channels.yaml: channel vk_messages: format: Input should be 'csv', ... (got 'xml')

Every config loader wraps its parse-and-validate call in ``config_errors(path, text)``, which turns a
``yaml.YAMLError`` (file, line, column, the YAML problem) or a ``pydantic.ValidationError`` into a
``ConfigError`` with such lines. The raw YAML data maps a list position to the id of that entry.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_VALUE_PREFIXES = ("Value error, ", "Assertion failed, ")


class ConfigError(ValueError):
    """A configuration file cannot be used: one line per problem, each naming the file."""

    # How several problems are joined; a subclass whose callers expect a single line (RoutingError)
    # sets "; " and names the file once.
    separator: ClassVar[str] = "\n"

    @property
    def problems(self) -> list[str]:
        return str(self).splitlines()


def display_path(path: Path | str) -> str:
    """The file as an operator finds it: relative to the project when inside it, else as given."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@contextmanager
def config_errors(
    path: Path | str, text: str | None = None, *, error: type[ConfigError] = ConfigError
) -> Iterator[None]:
    """Re-raise a YAML or validation error of ``path`` (whose content is ``text``) as ``error``."""
    try:
        yield
    except yaml.YAMLError as exc:
        raise error(f"{display_path(path)}: {yaml_problem(exc)}") from exc
    except ValidationError as exc:
        raise validation_error(exc, display_path(path), _raw(text), error=error) from exc


# libyaml's parser when PyYAML was built with it (its wheels are): the same data as yaml.safe_load, and
# 20-35 times faster; loading the models' specs and the configuration took about a second at every start
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, parsed by libyaml. A text libyaml refuses is parsed again by PyYAML's own
    parser, so that the error an operator reads (its problem, line and column) is PyYAML's, whichever parser
    this machine has."""
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def load_yaml(text: str, source: str) -> Any:
    """``parse_yaml`` that names ``source`` in a ConfigError instead of raising a YAMLError."""
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {yaml_problem(exc)}") from exc


def validation_error(
    exc: ValidationError, source: str, data: Any, *, error: type[ConfigError] = ConfigError
) -> ConfigError:
    """A ConfigError with one line per pydantic problem: the file, the entity id, the field, the message."""
    problems = validation_problems(exc, data)
    if error.separator == "\n":
        return error("\n".join(f"{source}: {line}" for line in problems))
    return error(f"{source}: {error.separator.join(problems)}")


def yaml_problem(exc: yaml.YAMLError) -> str:
    """``line 4, column 7: mapping values are not allowed here`` (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem is None:
        return "invalid YAML: " + " ".join(str(exc).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context:
        at = f" at line {context_mark.line + 1}, column {context_mark.column + 1}" if context_mark else ""
        problem = f"{problem} ({context}{at})"
    return f"invalid YAML: {where}{problem}"


def validation_problems(exc: ValidationError, data: Any) -> list[str]:
    """``channel vk_messages: format: Input should be ... (got 'xml')``, one per pydantic error."""
    lines = []
    for problem in exc.errors(include_url=False):
        parts = _located(problem["loc"], data)
        message = str(problem["msg"])
        for prefix in _VALUE_PREFIXES:
            message = message.removeprefix(prefix)
        if not problem["loc"] and problem.get("input") is None:
            message = "the file is empty or only comments (expected the settings as a YAML mapping)"
        if parts and (message.startswith(f"{parts[-1]}:") or message.startswith(f"{parts[-1]} ")):
            parts = parts[:-1]  # the validator already names the entity
        value = problem.get("input")
        if problem["type"] != "missing" and isinstance(value, str | int | float | date) and repr(value) not in message:
            shown = repr(value if not isinstance(value, str) or len(value) <= 60 else value[:57] + "...")
            message = f"{message} (got {shown})"
        lines.append(": ".join([*parts, message]))
    return lines


def _located(loc: tuple[int | str, ...], data: Any) -> list[str]:
    """``("channels", 0, "format")`` -> ``["channel vk_messages", "format"]`` using the raw data.

    In a list of entries named by id, one that has none is ``channel #2 (no id)``, never ``channels.1``.
    """
    parts: list[str] = []
    path: list[str] = []
    node = data
    for key in loc:
        child = _child(node, key)
        entity_id = child.get("id") if isinstance(child, dict) else None
        named = isinstance(entity_id, str | int) or (isinstance(child, dict) and _entries_have_ids(node))
        if isinstance(node, list) and isinstance(key, int) and named and path:
            kind = _singular(path.pop())
            if path:
                parts.append(".".join(path))
            # an entry without a usable id is named by its place, counted from 1 as in the file
            parts.append(f"{kind} {entity_id}" if isinstance(entity_id, str | int) else f"{kind} #{key + 1} (no id)")
            path = []
        else:
            path.append(str(key))
        node = child
    if path:
        parts.append(".".join(path))
    return parts


def _entries_have_ids(node: Any) -> bool:
    """A list whose entries are named by ``id`` (the channels), so that one without it is named by place."""
    return isinstance(node, list) and any(isinstance(entry, dict) and "id" in entry for entry in node)


def _child(node: Any, key: int | str) -> Any:
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    if isinstance(node, dict):
        return node.get(key)
    return None


def _singular(plural: str) -> str:
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") and not plural.endswith("ss") else plural


def _raw(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse_yaml(text)
    except yaml.YAMLError:
        return None
