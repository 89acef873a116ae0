"""A user's own parts through `vsumlab cv`: a summarizer class outside the package (a module on
PYTHONPATH, no edit of src/), an optimizer and an LR scheduler, all chosen in the user's recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from vsumlab.data.schema import read_dataset
from vsumlab.errors import ConfigError
from vsumlab.evaluation.predictions import read_predictions
from vsumlab.models.loading import load_summarizer

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "experiments" / "supervised" / "transformer_tvsum.yaml"

USER_NETS = '''
import torch
from torch import nn


class TinyScorer(nn.Module):
    """forward(features (B, T, D), mask (B, T)) -> logits (B, T)"""

    def __init__(self, input_dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.body(features).squeeze(-1).masked_fill(~mask, 0.0)
'''

pytestmark = pytest.mark.slow


def test_user_summarizer_optimizer_and_scheduler_train_through_cv(small_tvsum_h5, tmp_path,
                                                                  monkeypatch) -> None:
    code = tmp_path / "user_code"
    code.mkdir()
    (code / "my_nets.py").write_text(USER_NETS)
    recipe = tmp_path / "my_recipe.yaml"
    recipe.write_text(yaml.safe_dump({
        "defaults": [str(RECIPE)],
        "model": {"init_args": {
            "input_dim": 64,
            "summarizer": {"class_path": "my_nets.TinyScorer", "init_args": {"hidden": 8}},
            "summarizer_args": None,  # the base recipe's transformer sizes do not apply
            "optimizer": {"class_path": "torch.optim.AdamW", "init_args": {"lr": 0.003}},
            "lr_scheduler": {"class_path": "torch.optim.lr_scheduler.CosineAnnealingLR",
                             "init_args": {"T_max": 4}},
        }},
        "data": {"init_args": {"dataset": str(small_tvsum_h5), "n_folds": 2}},
        "trainer": {"max_epochs": 1, "accelerator": "cpu"},
    }))  # fmt: skip
    out = tmp_path / "run"
    pythonpath = os.pathsep.join([str(code), *sys.path])
    env = {**os.environ, "PYTHONPATH": pythonpath, "WANDB_MODE": "disabled",
           "PYTHONWARNINGS": "ignore"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "vsumlab.cli.main", "cv", "--config", str(recipe), "--out",
         str(out), "--name", "mine", "--wandb-mode", "disabled", "--reference-draws", "2",
         "--replicas", "sequential"],  # reads a fold's last.ckpt (optimizer state)
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    # every test video of both folds is predicted by the user's network
    keys = set(read_dataset(small_tvsum_h5).records)
    predicted: set[str] = set()
    for fold in (0, 1):
        fold_dir = out / "seed_default" / f"fold_{fold}"
        predicted |= set(read_predictions(fold_dir / "predictions.h5"))
    assert predicted == keys
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert rows[0]["name"] == "mine" and len(rows[0]["folds"]) == 2

    # the checkpoint records the class path, the optimizer and scheduler the Trainer ran
    ckpt = out / "seed_default" / "fold_0" / "checkpoints" / "last.ckpt"
    payload = torch.load(ckpt, weights_only=True)
    assert payload["vsumlab_summarizer_class"] == "my_nets.TinyScorer"
    hparams = payload["hyper_parameters"]
    assert hparams["optimizer"]["class_path"] == "torch.optim.AdamW"
    (group,) = payload["optimizer_states"][0]["param_groups"]
    assert group["initial_lr"] == 0.003 and group["decoupled_weight_decay"] is True  # AdamW's
    (scheduler,) = payload["lr_schedulers"]
    assert scheduler["T_max"] == 4 and scheduler["last_epoch"] == 1

    # scoring with it imports the user's class only when trusted by name
    monkeypatch.syspath_prepend(str(code))
    with pytest.raises(ConfigError, match="--trust-class my_nets.TinyScorer"):
        load_summarizer(ckpt)
    module = load_summarizer(ckpt, trusted_classes=["my_nets.TinyScorer"])
    assert type(module.summarizer).__name__ == "TinyScorer"


def test_unset_optimizer_choices_keep_a_results_folder_identity() -> None:
    from vsumlab.training.cv import identity_config

    def effective(init_args: dict) -> dict:
        return identity_config({"model": {"init_args": dict(init_args)}}, {}, [])["model"][
            "init_args"]

    before = {"lr": 5e-4, "pretrained": None}  # what folders written before the choices hold
    unset = {**before, "optimizer": None, "lr_scheduler": None, "lr_scheduler_config": None}
    assert effective(unset) == before
    chosen = {**before, "optimizer": {"class_path": "torch.optim.AdamW", "init_args": {}}}
    assert effective(chosen) == chosen
