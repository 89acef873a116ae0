"""Recipe composition: shared pieces, overrides, interpolation, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vsumlab.errors import ConfigError
from vsumlab.training.recipes import (
    INSTALLED_RECIPES,
    compose_recipe,
    installed_recipe_names,
    resolve_recipe,
)

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


def test_the_installed_recipes_are_the_repository_experiments() -> None:
    """One source: the package's recipes folder holds exactly experiments/ (the checkout links
    it; a wheel copies it)."""
    files = sorted(p.relative_to(EXPERIMENTS) for p in EXPERIMENTS.rglob("*.yaml"))
    assert installed_recipe_names() == sorted(f.with_suffix("").as_posix() for f in files)
    assert all((INSTALLED_RECIPES / f).read_bytes() == (EXPERIMENTS / f).read_bytes()
               for f in files)


@pytest.mark.parametrize("spelling", [
    "supervised/transformer_tvsum", "supervised/transformer_tvsum.yaml",
    "experiments/supervised/transformer_tvsum.yaml", "experiments/supervised/transformer_tvsum",
])  # fmt: skip
def test_a_recipe_is_found_by_name_outside_a_checkout(
    spelling: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # a piece of the same relative name here must not leak in: pieces come from the recipe's copy
    (tmp_path / "_base").mkdir()
    (tmp_path / "_base" / "trainer.yaml").write_text("trainer: {max_epochs: 999}\n")
    assert resolve_recipe(spelling) == INSTALLED_RECIPES / "supervised" / "transformer_tvsum.yaml"
    composed = compose_recipe(spelling)
    assert composed == compose_recipe(EXPERIMENTS / "supervised" / "transformer_tvsum.yaml")
    assert composed["trainer"]["max_epochs"] == 20
    # data paths stay relative: they name files under the user's current folder
    assert composed["data"]["init_args"]["dataset"] == "data/generated/synthetic_tvsum.h5"


def test_an_existing_path_wins_over_an_installed_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "experiments" / "supervised" / "transformer_tvsum.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("trainer: {max_epochs: 3}\n")
    assert compose_recipe("experiments/supervised/transformer_tvsum.yaml") == {
        "trainer": {"max_epochs": 3}}
    assert resolve_recipe("experiments/supervised/transformer_tvsum.yaml") == Path(
        "experiments/supervised/transformer_tvsum.yaml")
    # the bare name is no path here: it names the installed recipe
    assert resolve_recipe("supervised/transformer_tvsum").parent.parent == INSTALLED_RECIPES


def test_folders_resolve_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_recipe("experiments/published") == INSTALLED_RECIPES / "published"
    assert resolve_recipe("sweeps/transformer") == INSTALLED_RECIPES / "sweeps" / "transformer.yaml"


def test_an_unknown_name_is_one_line_with_close_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^supervised/transformer_tvsun: recipe not found .*"
                       r"did you mean supervised/transformer_tvsum"):
        compose_recipe("supervised/transformer_tvsun")
    # names stay inside the recipes folder (one level up: the checkout, or the installed package)
    for outside in ("../pyproject.toml", "../__init__.py"):
        with pytest.raises(ConfigError, match="recipe not found"):
            resolve_recipe(outside)
