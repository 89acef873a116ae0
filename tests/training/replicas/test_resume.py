"""A vectorized run killed with SIGKILL right after an epoch's checkpoint resumes exactly: its
predictions, metrics and per-fold metrics.csv equal those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vsumlab.evaluation.predictions import read_predictions

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
NET = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.1}'


def _args(data: Path, out: Path) -> list[str]:
    return ["cv", "--config", str(RECIPE), "--out", str(out), "--deterministic",
            "--seeds", "0,1", "--replicas", "vectorized", "--reference-draws", "2",
            f"--data.init_args.dataset={data}", "--data.init_args.n_folds=2",
            "--data.init_args.batch_size=2", "--model.init_args.input_dim=64",
            f"--model.init_args.summarizer_args={NET}", "--trainer.accelerator=cpu",
            "--trainer.max_epochs=4", '--protocol={"model_selection": "best_val"}']


@pytest.mark.slow
def test_killed_vectorized_run_resumes_exactly(small_tvsum_h5, tmp_path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO),
                                          os.environ.get("PYTHONPATH", "")])}
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run([sys.executable, "-m", "vsumlab.cli.main", *_args(small_tvsum_h5, full)],
                   env=env, check=True, capture_output=True)
    attempt = subprocess.run(
        [sys.executable, str(REPO / "tests" / "training" / "_kill_after_epoch.py"),
         *_args(small_tvsum_h5, killed)],
        env={**env, "VSUMLAB_TEST_KILL_EPOCH": "1"}, capture_output=True)
    assert attempt.returncode == -signal.SIGKILL
    assert (killed / "replicas" / "checkpoints" / "last.ckpt").is_file()
    assert not list(killed.glob("seed_*/fold_*/result.json"))
    subprocess.run([sys.executable, "-m", "vsumlab.cli.main", *_args(small_tvsum_h5, killed)],
                   env=env, check=True, capture_output=True)
    folds = sorted(p.relative_to(full) for p in full.glob("seed_*/fold_*"))
    assert len(folds) == 4
    for fold in folds:
        expected = read_predictions(full / fold / "predictions.h5")
        resumed = read_predictions(killed / fold / "predictions.h5")
        for key in expected:
            np.testing.assert_array_equal(resumed[key], expected[key])
        result = lambda d, f=fold: json.loads((d / f / "result.json").read_text())  # noqa: E731
        assert result(killed)["model"] == result(full)["model"]
        assert result(killed)["val"] == result(full)["val"]
        assert ((killed / fold / "csv" / "metrics.csv").read_text()
                == (full / fold / "csv" / "metrics.csv").read_text())
