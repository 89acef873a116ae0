"""YAML files the project reads: a repeated key is refused with its line (yaml keeps the last)."""

from __future__ import annotations

import pytest

from vsumlab.errors import ConfigError
from vsumlab.yamlfile import load_yaml_text, read_yaml


def test_a_repeated_key_is_refused_with_its_line_and_column(tmp_path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  init_args:\n    lr: 0.1\n    lr: 0.001\n")
    with pytest.raises(ConfigError, match=f"^{recipe}: not valid YAML: line 4, column 5: while "
                                          "constructing a mapping found key 'lr' twice"):
        read_yaml(recipe, "recipe")


def test_merge_keys_may_be_overridden_and_equal_keys_elsewhere_are_fine() -> None:
    text = "base: &b {lr: 1, epochs: 2}\nrun:\n  <<: *b\n  lr: 3\nother: {lr: 4}\n"
    assert load_yaml_text(text) == {"base": {"lr": 1, "epochs": 2},
                                    "run": {"lr": 3, "epochs": 2}, "other": {"lr": 4}}
