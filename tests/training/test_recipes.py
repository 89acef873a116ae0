"""Recipe composition: shared pieces, overrides, interpolation, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vsumlab.errors import ConfigError
from vsumlab.training.recipes import compose_recipe

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_pieces_merge_in_order_and_recipe_wins(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("trainer: {max_epochs: 3, devices: 1}\nname: a\n")
    (tmp_path / "b.yaml").write_text("defaults: [a.yaml]\ntrainer: {max_epochs: 5}\n")
    (tmp_path / "r.yaml").write_text(
        "defaults: [b.yaml]\ntrainer: {devices: 2}\nmodel: {lr: '${trainer.max_epochs}'}\n"
    )
    composed = compose_recipe(tmp_path / "r.yaml")
    assert composed["trainer"] == {"max_epochs": 5, "devices": 2}
    assert composed["model"]["lr"] == 5
    assert composed["name"] == "a" and "defaults" not in composed


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.yaml: recipe not found"):
        compose_recipe(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        compose_recipe(tmp_path / "bad.yaml")
    (tmp_path / "loop.yaml").write_text("defaults: [loop.yaml]\n")
    with pytest.raises(ConfigError, match="cycle"):
        compose_recipe(tmp_path / "loop.yaml")
    (tmp_path / "interp.yaml").write_text("a: ${nowhere}\n")
    with pytest.raises(ConfigError, match="interp.yaml"):
        compose_recipe(tmp_path / "interp.yaml")


# Pieces, overlays (layered with several --config) and recipes must all compose. Published
# figures and W&B sweep specs (top-level `method` and `parameters`) are not configs.
def _is_sweep_spec(path: Path) -> bool:
    data = yaml.safe_load(path.read_text()) or {}
    return isinstance(data, dict) and "method" in data and "parameters" in data


YAMLS = sorted(
    p for p in EXPERIMENTS.glob("*/*.yaml")
    if p.parent.name not in ("sweeps", "published") and not _is_sweep_spec(p)
)
SUPERVISED = sorted((EXPERIMENTS / "supervised").glob("*.yaml"))


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_experiment_yaml_composes(path: Path) -> None:
    assert isinstance(compose_recipe(path), dict)


@pytest.mark.parametrize("recipe", SUPERVISED, ids=lambda p: p.name)
def test_supervised_recipes_are_whole_lightning_configs(recipe: Path) -> None:
    composed = compose_recipe(recipe)
    assert "class_path" in composed["model"] and "class_path" in composed["data"]
    assert composed["trainer"]["max_epochs"] > 0
