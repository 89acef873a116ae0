"""`vsumlab cv` from split files of other code bases: the folds it runs are the file's splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsumlab.errors import OutputExistsError
from vsumlab.evaluation.predictions import read_predictions
from vsumlab.training.cv import CVOptions, run_cv

RECIPE = Path(__file__).resolve().parents[2] / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'

pytestmark = pytest.mark.slow


def _run(target: Path, split_file: Path, out: Path, *extra: str) -> dict:
    overrides = [
        f"--data.init_args.dataset={target}",
        f"--data.init_args.split_file={split_file}",
        "--data.init_args.batch_size=1",
        "--model.init_args.input_dim=64",
        f"--model.init_args.summarizer_args={TINY_ARGS}",
        "--trainer.fast_dev_run=true",
        "--trainer.accelerator=cpu",
        *extra,
    ]
    run_cv(CVOptions(recipe=RECIPE, out_dir=out, overrides=overrides, name="tiny",
                     reference_draws=2, quiet=True, wandb_mode="disabled"))
    return json.loads((out / "results.json").read_text())


def _tested(out: Path, fold: int) -> list[str]:
    return sorted(read_predictions(out / "seed_default" / f"fold_{fold}" / "predictions.h5"))


def test_cv_runs_the_folds_of_a_dsnet_augmented_yaml(
    small_summe_h5: Path, small_tvsum_h5: Path, tmp_path: Path
) -> None:
    summe, tvsum = f"../datasets/{small_summe_h5.name}", f"../datasets/{small_tvsum_h5.name}"
    split_file = tmp_path / "summe_aug.yml"
    split_file.write_text(
        f"- test_keys:\n  - {summe}/video_2\n  - {summe}/video_5\n"
        f"  train_keys:\n  - {summe}/video_1\n  - {summe}/video_3\n  - {tvsum}/video_4\n"
        f"- test_keys:\n  - {summe}/video_1\n  - {summe}/video_7\n  - {summe}/video_8\n"
        f"  train_keys:\n  - {summe}/video_2\n  - {tvsum}/video_9\n"
    )
    out = tmp_path / "dsnet"
    results = _run(small_summe_h5, split_file, out, "--data.init_args.setting=augmented",
                   f"--data.init_args.extra_datasets=[{small_tvsum_h5}]")
    assert results["n_folds"] == 2 and results["folds"] == [0, 1]
    assert all(len(row["folds"]) == 2 for row in results["rows"])
    assert _tested(out, 0) == ["synthetic_summe/video_2", "synthetic_summe/video_5"]
    assert _tested(out, 1) == ["synthetic_summe/video_1", "synthetic_summe/video_7",
                               "synthetic_summe/video_8"]


def test_cv_runs_the_folds_of_a_csta_text_file(small_tvsum_h5: Path, tmp_path: Path) -> None:
    split_file = tmp_path / "TVSum_splits.txt"
    split_file.write_text(
        "TVSum/split0/video_1,video_2,video_3,video_4/video_10,video_11,video_12\n"
        "TVSum/split1/video_10,video_11,video_12/video_1,video_5\n"
    )
    out = tmp_path / "csta"
    results = _run(small_tvsum_h5, split_file, out)
    assert results["n_folds"] == 2 and results["folds"] == [0, 1]
    assert all(len(row["folds"]) == 2 for row in results["rows"])
    assert _tested(out, 0) == ["video_10", "video_11", "video_12"]
    assert _tested(out, 1) == ["video_1", "video_5"]
    result = json.loads((out / "seed_default" / "fold_1" / "result.json").read_text())
    assert result["data"]["split_file"] == str(split_file)  # the record names the file
    # the same path with other splits is another run: never resumed with stale folds
    split_file.write_text(split_file.read_text().replace("/video_1,video_5", "/video_1,video_6"))
    with pytest.raises(OutputExistsError, match="another configuration"):
        _run(small_tvsum_h5, split_file, out)
