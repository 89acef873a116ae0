"""`vsumlab cv --splits/--seeds`: the choice is part of the run's identity, each fold records its
split, and two runs on the same splits and seeds are compared pair by pair."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from vsumlab.data.splits import random_splits, split_digest
from vsumlab.training.cv import CVOptions, Effective, _identity, _probe, splits_overrides

RECIPE = Path(__file__).resolve().parents[2] / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'


def _overrides(data: Path) -> list[str]:
    return [f"--data.init_args.dataset={data}", "--model.init_args.input_dim=64",
            f"--model.init_args.summarizer_args={TINY_ARGS}", "--trainer.accelerator=cpu"]


def _identity_of(data: Path, splits: str | None, *extra: str) -> tuple[dict, dict]:
    """(run identity, effective configuration) as `vsumlab cv` computes them; nothing runs."""
    from vsumlab.training.plan import RecipeConfig

    options = CVOptions(recipe=RECIPE, out_dir=Path("unused"),
                        overrides=[*_overrides(data), *extra])
    if splits is not None:
        options = replace(options, overrides=[*splits_overrides(splits), *options.overrides])
    recipe = RecipeConfig(options.recipe, options.overrides)
    _, config, pinned = _probe(recipe, options, recipe.composed)
    return _identity(options, recipe.composed, None, Effective(config), pinned), config


def test_the_split_choice_is_the_run_identity(small_tvsum_h5) -> None:
    plain, config = _identity_of(small_tvsum_h5, None)
    # without --splits the identity holds no new key: folders of earlier versions resume
    assert "splits" not in config["data"]["init_args"]
    assert _identity_of(small_tvsum_h5, "canonical")[0]["config_hash"] == plain["config_hash"]
    random, config = _identity_of(small_tvsum_h5, "random:3")
    assert config["data"]["init_args"]["splits"] == "random:3:0"
    assert random["config_hash"] != plain["config_hash"]
    # the same choice, spelled in full or set through the recipe's argument: the same run
    assert _identity_of(small_tvsum_h5, "random:3:0")[0]["config_hash"] == random["config_hash"]
    recipe_set = _identity_of(small_tvsum_h5, None, "--data.init_args.splits=random:3")[0]
    assert recipe_set["config_hash"] == random["config_hash"]
    # another count or seed: another run
    for other in ("random:4", "random:3:1"):
        assert _identity_of(small_tvsum_h5, other)[0]["config_hash"] != random["config_hash"]


def _cv(data: Path, out: Path, *extra: str) -> list[str]:
    return ["cv", "--config", str(RECIPE), "--out", str(out), "--name", out.name,
            "--wandb-mode", "disabled", "--reference-draws", "2", "--folds", "0,1",
            "--trainer.fast_dev_run=true", "--data.init_args.batch_size=2",
            *_overrides(data), *extra]


@pytest.mark.slow
def test_random_splits_run_record_their_split_and_pair(small_tvsum_h5, tmp_path, capsys) -> None:
    from vsumlab.cli.main import main
    from vsumlab.data.schema import read_dataset

    base, other = tmp_path / "base", tmp_path / "other"
    argv = _cv(small_tvsum_h5, base, "--splits", "random:3:1", "--seeds", "5,")
    assert main(argv) == 0
    drawn = random_splits(read_dataset(small_tvsum_h5).keys, 3, seed=1)
    for fold in (0, 1):
        result = json.loads((base / "seed_5" / f"fold_{fold}" / "result.json").read_text())
        assert result["split"] == {"source": "random", "choice": "random:3:1",
                                   "setting": "canonical", "index": fold, "of": 3,
                                   "digest": split_digest(drawn[fold])}
    config = yaml.safe_load((base / "config.yaml").read_text())
    assert config["data"]["init_args"]["splits"] == "random:3:1"
    assert json.loads((base / "results.json").read_text())["n_folds"] == 3

    # the same command resumes (finished folds are kept); another draw is another run
    stamp = (base / "seed_5" / "fold_1" / "result.json").stat().st_mtime_ns
    assert main(argv) == 0
    assert (base / "seed_5" / "fold_1" / "result.json").stat().st_mtime_ns == stamp
    capsys.readouterr()
    assert main(_cv(small_tvsum_h5, base, "--splits", "random:3:2", "--seeds", "5,")) == 2
    assert "holds a run of another configuration" in capsys.readouterr().err

    # another model on the same splits and seed: compared replica by replica
    assert main(_cv(small_tvsum_h5, other, "--splits", "random:3:1", "--seeds", "5,",
                    "--model.init_args.lr=0.01")) == 0
    capsys.readouterr()
    assert main(["results", str(base), str(other)]) == 0
    out = capsys.readouterr().out
    assert "Paired t-test (scipy.stats.ttest_rel), other vs base over 2 (split, seed)" in out
