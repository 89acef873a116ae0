"""`vsumlab cv`: folds, results files, skipping, resuming, refusing, W&B offline runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from vsumlab.errors import ConfigError, OutputExistsError
from vsumlab.training.cv import CVOptions, run_cv

RECIPE = Path(__file__).resolve().parents[2] / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'

pytestmark = pytest.mark.slow


def _options(data: Path, out: Path, *extra: str, **kwargs) -> CVOptions:
    overrides = [
        f"--data.init_args.dataset={data}",
        "--data.init_args.n_folds=2",
        "--model.init_args.input_dim=64",
        f"--model.init_args.summarizer_args={TINY_ARGS}",
        "--trainer.max_epochs=2",
        "--trainer.accelerator=cpu",
        *extra,
    ]
    return CVOptions(recipe=RECIPE, out_dir=out, overrides=overrides, name="tiny",
                     reference_draws=3, quiet=True, wandb_mode="offline", **kwargs)


def test_cv_writes_results_skips_finished_and_resumes(small_tvsum_h5, tmp_path, caplog) -> None:
    out = tmp_path / "run"
    rows = run_cv(_options(small_tvsum_h5, out))
    data = json.loads((out / "results.json").read_text())
    assert [row["name"] for row in data["rows"]] == ["tiny", "random", "uniform", "human"]
    for row in data["rows"]:
        assert len(row["folds"]) == 2
        assert 0.0 <= row["f1"] <= 100.0 and -1.0 <= row["kendall"] <= 1.0
        assert set(row["folds"][0]) == {"f1", "kendall", "spearman"}
    assert rows[0].mean("f1") == pytest.approx(data["rows"][0]["f1"])
    # the row is named by what ran (recorded in results.json), with n, interval and PoR
    label = "Transformer · synthetic_tvsum · canonical · 2 folds, split seed 0"
    assert data["comparison"]["label"] == label and data["rows"][0]["label"] == label
    assert data["comparison"]["dataset_path"] == str(small_tvsum_h5)
    assert data["rows"][1]["fold_ids"] == [0, 1]  # each reference value's split
    model_line = next(line for line in (out / "results.md").read_text().splitlines()
                      if line.startswith(f"| {label} |"))
    assert model_line.endswith(" | 2 |") and data["rows"][0]["n"] == 2
    assert data["rows"][0]["por"] == pytest.approx(
        sum(100 * m["f1"] / r["f1"] for m, r in zip(data["rows"][0]["folds"],
                                                     data["rows"][1]["folds"])) / 2)
    for fold in (0, 1):
        fold_dir = out / "seed_default" / f"fold_{fold}"
        assert (fold_dir / "checkpoints" / "last.ckpt").is_file()
        assert (fold_dir / "predictions.h5").is_file()
        assert (fold_dir / "csv" / "metrics.csv").is_file()
    env = json.loads((out / "environment.json").read_text())
    assert env["packages"]["torch"] and "config.yaml" in {p.name for p in out.iterdir()}

    # W&B: one offline run per fold, all in the experiment's group
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 2

    # A rerun skips finished folds: nothing is trained or rewritten.
    last = out / "seed_default" / "fold_1" / "checkpoints" / "last.ckpt"
    stamp = last.stat().st_mtime_ns
    again = run_cv(_options(small_tvsum_h5, out))
    assert again[0].folds == rows[0].folds and last.stat().st_mtime_ns == stamp

    # An interrupted fold (checkpoint, no result) resumes from its last checkpoint.
    (out / "seed_default" / "fold_1" / "result.json").unlink()
    with caplog.at_level(logging.INFO):
        resumed = run_cv(_options(small_tvsum_h5, out))
    assert "Restored all states from the checkpoint" in caplog.text
    assert resumed[0].folds == rows[0].folds


def test_cv_refuses_another_configuration_without_force(small_tvsum_h5, tmp_path) -> None:
    out = tmp_path / "run"
    run_cv(_options(small_tvsum_h5, out, folds=[0]))
    with pytest.raises(OutputExistsError, match="another configuration"):
        run_cv(_options(small_tvsum_h5, out, "--model.init_args.lr=0.01", folds=[0]))
    rows = run_cv(_options(small_tvsum_h5, out, "--model.init_args.lr=0.01", folds=[0], force=True))
    assert len(rows[0].folds) == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not a vsumlab cv folder"):
        run_cv(_options(small_tvsum_h5, tmp_path / "other"))


def test_cv_fast_dev_run_still_scores_every_test_video(small_tvsum_h5, tmp_path) -> None:
    """`make finetune-* ARGS=--trainer.fast_dev_run=true`: one batch of training and validation,
    but the whole test fold is predicted (one video per batch here), so the fold is scored."""
    from vsumlab.evaluation.predictions import read_predictions

    out = tmp_path / "run"
    run_cv(_options(small_tvsum_h5, out, "--trainer.fast_dev_run=true",
                    "--data.init_args.batch_size=1", folds=[0]))  # fmt: skip
    fold = out / "seed_default" / "fold_0"
    assert len(read_predictions(fold / "predictions.h5")) == 6  # 12 videos, 2 folds
    assert json.loads((fold / "result.json").read_text())["model"]["f1"] > 0


def test_cv_rejects_config_typos_with_the_key(small_tvsum_h5, tmp_path) -> None:
    with pytest.raises(ConfigError, match="lrr"):
        run_cv(_options(small_tvsum_h5, tmp_path / "typo", "--model.init_args.lrr=0.1"))
    with pytest.raises(ConfigError, match="fold 5 out of range"):
        run_cv(_options(small_tvsum_h5, tmp_path / "folds", folds=[5]))


def test_cv_preset_sets_protocol_and_best_test_selects_on_test_labelled(small_tvsum_h5,
                                                                        tmp_path, capsys) -> None:
    """`vsumlab cv --preset dsnet`: the folds use DSNet's protocol, its "best test epoch"
    validates on the test videos, and the results row says both."""
    from vsumlab.cli.main import main

    out = tmp_path / "run"
    args = _options(small_tvsum_h5, out).overrides
    code = main(["cv", "--config", str(RECIPE), "--out", str(out), "--name", "tiny",
                 "--folds", "0", "--reference-draws", "2", "--wandb-mode", "disabled",
                 "--preset", "dsnet", *args])
    assert code == 0
    result = json.loads((out / "seed_default" / "fold_0" / "result.json").read_text())
    assert result["protocol"]["preset"] == "dsnet"
    assert result["protocol"]["knapsack_values"] == "int1000"
    assert result["model_selection"] == "best_test" and result["data"]["val_source"] == "test"
    row = json.loads((out / "results.json").read_text())["rows"][0]
    assert row["note"] == "protocol preset dsnet; best test epoch: not comparable"
    capsys.readouterr()
    code = main(["cv", "--config", str(RECIPE), "--out", str(tmp_path / "x"), "--preset", "dsn"])
    err = capsys.readouterr().err
    assert code == 2 and "known presets: vsumlab, dsnet, pglsum, csta" in err
    assert err.count("\n") == 1 and not (tmp_path / "x").exists()
