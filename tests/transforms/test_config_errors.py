"""transforms/config_errors.py: YAML parsed by libyaml gives what yaml.safe_load gives, errors included."""

from pathlib import Path

import pytest
import yaml

from transforms.config_errors import ConfigError, load_yaml, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILES = sorted(
    p for pattern in ("transforms/**/*.yaml", "transforms/**/*.yml") for p in ROOT.glob(pattern) if p.is_file()
)


def test_the_repositorys_configuration_parses_as_yaml_safe_load_parses_it() -> None:
    assert len(CONFIG_FILES) > 30  # the channels, org, SLA policies, ... and every model's spec
    for path in CONFIG_FILES:
        text = path.read_text(encoding="utf-8")
        assert parse_yaml(text) == yaml.safe_load(text), path


def test_libyaml_does_the_parsing_where_pyyaml_has_it() -> None:
    """Where the C parser exists (PyYAML's wheels have it), a valid text never reaches the pure-Python one."""
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    calls = []
    pure = yaml.safe_load
    try:
        yaml.safe_load = lambda text: calls.append(text) or pure(text)
        assert parse_yaml("a: [1, 2]\nb: {c: d}\n") == {"a": [1, 2], "b": {"c": "d"}}
    finally:
        yaml.safe_load = pure
    assert calls == []


def test_a_broken_file_reads_as_pyyaml_words_it() -> None:
    text = "channels:\n  - id: sms\n    format: csv: bad\n"
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as ours:
        parse_yaml(text)
    assert str(ours.value) == str(pure.value)
    with pytest.raises(
        ConfigError, match=r"^channels\.yaml: invalid YAML: line 3, column 16: mapping values are not allowed here$"
    ):
        load_yaml(text, "channels.yaml")


def test_only_plain_data_is_constructed() -> None:
    with pytest.raises(yaml.YAMLError):
        parse_yaml("!!python/object/apply:os.system ['echo unsafe']")
