"""The run plan: a recipe parsed once, folds and seeds as typed fields, one build per run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vsumlab.errors import ConfigError
from vsumlab.training.plan import RecipeConfig, RunPlan, build

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'


def _overrides(data: Path, *extra: str) -> tuple[str, ...]:
    return (f"--data.init_args.dataset={data}", "--data.init_args.n_folds=3",
            "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY_ARGS}",
            "--trainer.max_epochs=1", "--trainer.accelerator=cpu", *extra)


def test_the_library_never_imports_the_cli() -> None:
    """Layering: training (and everything below it) is usable without `vsumlab.cli`."""
    offenders = []
    for path in sorted((ROOT / "src" / "vsumlab").rglob("*.py")):
        if "cli" in path.relative_to(ROOT / "src" / "vsumlab").parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("vsumlab.cli")]
    assert offenders == []


def test_recipe_config_reads_folds_selection_and_protocol_without_building(small_tvsum_h5) -> None:
    recipe = RecipeConfig(RECIPE, _overrides(small_tvsum_h5, "--protocol.preset=dsnet"))
    assert recipe.model_selection() == "best_test"  # the preset's, read from the parsed recipe
    assert recipe.protocol().knapsack_values == "int1000"
    assert recipe.max_epochs() == 1
    assert len(recipe.datamodule().splits()) == 3
    config = recipe.resolve(RunPlan(RECIPE, fold=2, seed=5))
    assert config["data.init_args.fold"] == 2 and config["seed_everything"] == 5
    assert config["data.init_args.val_source"] == "test"  # best_test validates on the test fold
    assert recipe.config["data.init_args.fold"] == 0  # the parsed recipe itself is unchanged
    assert RecipeConfig(RECIPE, _overrides(small_tvsum_h5)).model_selection() == "last"


def test_resolve_refuses_a_pretrained_checkpoint_the_model_cannot_take(small_tvsum_h5) -> None:
    recipe = RecipeConfig(RECIPE, _overrides(small_tvsum_h5))
    with pytest.raises(ConfigError, match="no 'captioner' argument"):
        recipe.resolve(RunPlan(RECIPE, pretrained=Path("x.ckpt"), pretrained_into="captioner"))
    with pytest.raises(ConfigError, match="lrr"):
        RecipeConfig(RECIPE, _overrides(small_tvsum_h5, "--model.init_args.lrr=1"))


@pytest.fixture
def cli_parses(monkeypatch) -> list[int]:
    """Grows by one each time a VsumCLI (one recipe parse) is built."""
    from vsumlab.training import lightning_cli

    parses: list[int] = []
    original = lightning_cli.VsumCLI.__init__

    def counting(self, *args, **kwargs):
        parses.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(lightning_cli.VsumCLI, "__init__", counting)
    return parses


def test_build_gives_each_fold_its_model_data_and_trainer_from_one_parse(
    small_tvsum_h5, cli_parses
) -> None:
    recipe = RecipeConfig(RECIPE, _overrides(small_tvsum_h5))
    plan = RunPlan(RECIPE, _overrides(small_tvsum_h5))
    overrides = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False}
    runs = [build(plan.at(fold, seed=3), recipe, trainer_overrides=overrides) for fold in (0, 1)]
    assert len(cli_parses) == 1
    (model0, data0, trainer0), (model1, data1, trainer1) = runs
    assert (data0.fold, data1.fold) == (0, 1) and trainer0 is not trainer1
    assert set(data0.keys["test"]).isdisjoint(data1.keys["test"])
    assert trainer0.max_epochs == 1
    # the same seed gives the same initial weights, whatever the fold
    first, second = model0.state_dict(), model1.state_dict()
    assert all((first[k] == second[k]).all() for k in first)
    model2, _, _ = build(plan.at(0, seed=4), recipe, trainer_overrides=overrides)
    assert any((first[k] != model2.state_dict()[k]).any() for k in first)


@pytest.mark.slow
def test_a_cross_validation_parses_its_recipe_once(small_tvsum_h5, tmp_path, cli_parses) -> None:
    """Before the run plan a 2-fold CV built 1 + 2 x 2 LightningCLIs (a probe to count folds, a
    probe and a run per fold); now one parse serves every fold."""
    from vsumlab.training.cv import CVOptions, run_cv

    overrides = [o.replace("n_folds=3", "n_folds=2") for o in _overrides(small_tvsum_h5)]
    rows = run_cv(CVOptions(recipe=RECIPE, out_dir=tmp_path / "run", overrides=overrides,
                            quiet=True, wandb_mode="disabled", reference_draws=2))
    assert len(rows[0].folds) == 2 and len(cli_parses) == 1
