"""`vsumlab cv` records what ran and says little: effective configs on disk and in W&B, a
quiet console (header, a line per fold with its scores, the table)."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vsumlab.analysis.wandb_runs import find_offline_runs, read_offline_run

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.0}'

pytestmark = pytest.mark.slow


def _cv(out: Path, data: Path, *extra: str,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           **(env_extra or {})}
    command = [sys.executable, "-m", "vsumlab.cli.main", "cv", "--config", str(RECIPE),
               "--out", str(out), "--name", "tiny", "--reference-draws", "2",
               f"--data.init_args.dataset={data}", "--data.init_args.n_folds=2",
               "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY_ARGS}",
               "--trainer.max_epochs=2", "--trainer.accelerator=cpu",
               "--replicas", "sequential", *extra]  # records of one W&B run per fold
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def test_cv_prints_a_header_a_line_per_fold_and_the_table_and_records_the_effective_config(
    small_tvsum_h5: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    done = _cv(out, small_tvsum_h5)
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= 30, "\n".join(lines)
    assert not any(line.startswith("wandb:") for line in lines), "\n".join(lines)
    assert not any("GPU available" in line or "Tip:" in line for line in lines)
    assert not any("Warning" in line or "warn" in line.lower() for line in lines), lines
    assert lines[0].startswith("vsumlab cv tiny:") and "2 of 2 folds" in lines[0]
    fold_lines = [line for line in lines if line.startswith("fold ")]
    assert len(fold_lines) == 2
    pattern = r"fold (\d): F1 (\d+\.\d\d)  tau (-?\d\.\d{3})  rho (-?\d\.\d{3})"
    for fold, line in enumerate(fold_lines):
        match = re.fullmatch(pattern, line)
        assert match, line
        result = json.loads((out / "seed_default" / f"fold_{fold}" / "result.json").read_text())
        assert int(match[1]) == fold
        assert float(match[2]) == pytest.approx(result["model"]["f1"], abs=0.005)
        assert float(match[3]) == pytest.approx(result["model"]["kendall"], abs=0.0005)
    # the table names the run by method, dataset, setting and split source
    assert "| Transformer · synthetic_tvsum · canonical · 2 folds, split seed 0 |" in done.stdout

    # The recorded configuration is the effective one: overrides applied, not the recipe's
    # max_epochs 20 and synthetic dataset; each fold's records its fold and seed.
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["trainer"]["max_epochs"] == 2
    assert config["data"]["init_args"]["dataset"] == str(small_tvsum_h5)
    assert config["model"]["init_args"]["input_dim"] == 64
    assert "git commit: " in (out / "config.yaml").read_text()
    for fold in (0, 1):
        fold_config = yaml.safe_load(
            (out / "seed_default" / f"fold_{fold}" / "config.yaml").read_text())
        assert fold_config["data"]["init_args"]["fold"] == fold
        assert fold_config["trainer"]["max_epochs"] == 2
        assert fold_config["seed_everything"] == 0  # the recipe's seed

    # W&B: each fold's run holds the effective configuration with fold, seed and commit, and the
    # fold's selected checkpoint (model selection last: the last epoch's, epoch=1.ckpt),
    # predictions and result.json as an artifact
    commit = json.loads((out / "environment.json").read_text())["git_commit"]
    runs = [read_offline_run(path) for path in find_offline_runs(out / "wandb")]
    assert sorted(run.config["vsumlab"]["fold"] for run in runs) == [0, 1]
    for run in runs:
        assert run.config["trainer"]["max_epochs"] == 2
        assert run.config["data"]["init_args"]["dataset"] == str(small_tvsum_h5)
        assert run.config["data"]["init_args"]["fold"] == run.config["vsumlab"]["fold"]
        assert run.config["vsumlab"]["seed"] is None  # the recipe's seed: seed_everything
        assert run.config["seed_everything"] == 0
        assert run.config["vsumlab"]["git_commit"] == commit
    for run in runs:
        fold = run.config["vsumlab"]["fold"]
        files = run.artifacts[f"tiny-fold{fold}"]
        assert sorted(files) == ["epoch=1.ckpt", "predictions.h5", "result.json"]


def test_cv_verbose_keeps_lightning_and_wandb_messages(small_tvsum_h5: Path,
                                                       tmp_path: Path) -> None:
    done = _cv(tmp_path / "run", small_tvsum_h5, "--folds", "0", "--verbose")
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    assert "GPU available" in text and "wandb:" in text


def test_a_rerun_says_which_folds_it_skipped_and_runs_leave_nothing_outside_the_folder(
    small_tvsum_h5: Path, tmp_path: Path
) -> None:
    """Model selection last: the fold's checkpoints are last.ckpt and the last epoch's
    epoch=1.ckpt (none named best-...: no epoch was compared with another);
    the learning curve has one validation point per epoch (the selected model's extra
    validation pass is not logged); W&B's artifact references the fold's files and stages
    nothing under the user's home; a rerun says the finished fold was skipped."""
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "run"
    first = _cv(out, small_tvsum_h5, "--folds", "0", env_extra={"HOME": str(home)})
    assert first.returncode == 0, first.stderr
    assert "skipped" not in first.stdout
    fold = out / "seed_default" / "fold_0"
    assert sorted(p.name for p in (fold / "checkpoints").iterdir()) == ["epoch=1.ckpt",
                                                                       "last.ckpt"]
    result = json.loads((fold / "result.json").read_text())
    assert result["checkpoint"].endswith("epoch=1.ckpt")
    with (fold / "csv" / "metrics.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("val/f1")]
    assert [row["epoch"] for row in rows] == ["0", "1"]  # max_epochs=2: one point each
    staged = list((home / ".local" / "share" / "wandb").rglob("*"))
    assert [p for p in staged if p.is_file()] == []
    runs = [read_offline_run(path) for path in find_offline_runs(out / "wandb")]
    assert sorted(runs[0].artifacts["tiny-fold0"]) == ["epoch=1.ckpt", "predictions.h5",
                                                       "result.json"]

    again = _cv(out, small_tvsum_h5, "--folds", "0", env_extra={"HOME": str(home)})
    assert again.returncode == 0, again.stderr
    line = next(line for line in again.stdout.splitlines() if line.startswith("fold 0:"))
    assert line.endswith("(finished earlier: skipped)")
