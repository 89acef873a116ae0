"""`--splits` / `data.splits`: canonical, random:N[:SEED] or a split file (data.split_choices)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.data.split_choices import SplitChoice, normal_spec, parse_split_choice
from vsumlab.errors import ConfigError


def test_the_three_choices(tmp_path: Path) -> None:
    assert parse_split_choice("canonical", "--splits") == SplitChoice("canonical")
    assert parse_split_choice("random:10", "--splits") == SplitChoice("random", 10, 0)
    assert parse_split_choice("random:10:3", "--splits") == SplitChoice("random", 10, 3)
    assert parse_split_choice("random:10", "--splits").spec() == "random:10:0"
    file = tmp_path / "splits.json"
    file.write_text("[]")
    choice = parse_split_choice(str(file), "--splits")
    assert choice.kind == "file" and choice.path == file and choice.spec() == str(file)


@pytest.mark.parametrize(("text", "message"), [
    ("random:0", "--splits random:0: expected at least 1 random split, got 0"),
    ("random:x", "--splits random:x: expected random:N\\[:SEED\\]"),
    ("random", "--splits random: expected random:N\\[:SEED\\]"),
    ("random:5:-1", "--splits random:5:-1: expected random:N\\[:SEED\\]"),
    ("random:5:1:2", "--splits random:5:1:2: expected random:N\\[:SEED\\]"),
    ("missing.json", "--splits missing.json: no such split file \\(expected canonical, random"),
    ("", "--splits: expected canonical, random:N\\[:SEED\\] or a split file, got an empty"),
])
def test_bad_choices_name_the_option_and_what_was_expected(text, message, tmp_path,
                                                          monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        parse_split_choice(text, "--splits")


def test_the_data_module_argument_takes_no_file(tmp_path: Path) -> None:
    file = tmp_path / "splits.json"
    file.write_text("[]")
    with pytest.raises(ConfigError, match="data.splits=.*a split file goes to data.split_file"):
        parse_split_choice(str(file), "data.splits", files=False)
    with pytest.raises(ConfigError, match="^data.splits=random:0: expected at least 1"):
        parse_split_choice("random:0", "data.splits", files=False)


def test_normal_spec_is_what_a_run_identity_holds() -> None:
    assert normal_spec(None) is None and normal_spec("canonical") is None
    assert normal_spec("random:5") == normal_spec("random:5:0") == "random:5:0"
    assert normal_spec("random:5:1") != normal_spec("random:5:0")
    assert normal_spec("nonsense") == "nonsense"  # refused by the data module, not here
