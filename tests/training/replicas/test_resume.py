"""A vectorized run killed with SIGKILL right after an epoch's checkpoint resumes exactly: its
predictions, metrics and per-fold metrics.csv equal those of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ._compare import assert_same_fold_outputs

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
    assert_same_fold_outputs(full, killed, folds)
