"""Checkpoints of a model whose summarizer network is a user class: recorded, and imported only
when the user trusts the class by name."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.loading import hparam_classes, load_summarizer
from vsumlab.models.summarizer import SUMMARIZER_CLASS_KEY, SummarizerModule
from vsumlab.training.lightning_cli import _check_checkpoint_file

USER_NET = '''
from torch import nn


class MeanNet(nn.Module):
    def __init__(self, input_dim, hidden=4):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, features, mask):
        return self.body(features).squeeze(-1).masked_fill(~mask, 0.0)
'''
# a module whose import has a visible side effect: it must never be imported untrusted
TRAP = '''
from pathlib import Path
Path(__file__).with_name("imported.flag").write_text("imported")
from torch import nn


class Net(nn.Module):
    pass
'''


@pytest.fixture
def user_code(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / "mine.py").write_text(USER_NET)
    (folder / "trap.py").write_text(TRAP)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _save(module: L.LightningModule, path: Path) -> Path:
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        max_epochs=0)  # fmt: skip
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return path


def _forge(tmp_path: Path, **hparams) -> Path:
    """A checkpoint of the harness whose hyper-parameters name other classes."""
    source = tmp_path / "source.ckpt"
    _save(SummarizerModule(summarizer_args={"d_model": 8, "n_heads": 1, "n_layers": 1},
                           input_dim=4), source)  # fmt: skip
    payload = torch.load(source, weights_only=True)
    payload["hyper_parameters"].update(hparams)
    forged = tmp_path / "forged.ckpt"
    torch.save(payload, forged)
    return forged


def test_user_summarizer_checkpoint_needs_trust_by_name(user_code, tmp_path) -> None:
    torch.manual_seed(0)
    module = SummarizerModule(summarizer="mine.MeanNet", summarizer_args={"hidden": 3},
                              input_dim=4)  # fmt: skip
    ckpt = _save(module, tmp_path / "mine.ckpt")
    payload = torch.load(ckpt, weights_only=True)
    assert payload[SUMMARIZER_CLASS_KEY] == "mine.MeanNet"
    assert payload["hyper_parameters"]["summarizer"] == "mine.MeanNet"
    with pytest.raises(ConfigError, match="its summarizer network is mine.MeanNet, not a vsumlab "
                                          "model; pass --trust-class mine.MeanNet"):
        load_summarizer(ckpt)
    loaded = load_summarizer(ckpt, trusted_classes=["mine.MeanNet"])
    assert type(loaded.summarizer).__name__ == "MeanNet"
    features = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded.score_video(features), module.score_video(features))


def test_built_in_summarizers_record_their_class_and_load_untrusted(tmp_path) -> None:
    module = SummarizerModule(summarizer={"class_path": "csta", "init_args": {"trunk": "small"}},
                              input_dim=4)  # fmt: skip
    ckpt = _save(module, tmp_path / "csta.ckpt")
    payload = torch.load(ckpt, weights_only=True)
    assert payload[SUMMARIZER_CLASS_KEY] == "vsumlab.models.components.csta.CSTA"
    assert type(load_summarizer(ckpt).summarizer).__name__ == "CSTA"


def test_untrusted_summarizer_is_refused_before_any_import(user_code, tmp_path) -> None:
    forged = _forge(tmp_path, summarizer={"class_path": "trap.Net", "init_args": {}})
    with pytest.raises(ConfigError, match="pass --trust-class trap.Net"):
        load_summarizer(forged)
    with pytest.raises(ConfigError, match="names the class 'trap.Net'"):
        _check_checkpoint_file(str(forged), "vsumlab.models.summarizer.SummarizerModule",
                               {"summarizer": "transformer"})  # fmt: skip
    assert not (user_code / "imported.flag").exists()
    # --ckpt_path with a recipe that names the class itself: the user chose it
    _check_checkpoint_file(str(forged), "vsumlab.models.summarizer.SummarizerModule",
                           {"summarizer": "trap.Net"})  # fmt: skip


def test_ckpt_path_refuses_an_optimizer_outside_torch_the_recipe_does_not_name(tmp_path) -> None:
    forged = _forge(tmp_path, optimizer={"class_path": "trap.Opt", "init_args": {}},
                    lr_scheduler={"class_path": "torch.optim.lr_scheduler.StepLR"})
    with pytest.raises(ConfigError, match="names the class 'trap.Opt'"):
        _check_checkpoint_file(str(forged), None, {"optimizer": None})
    assert hparam_classes({"optimizer": {"class_path": "AdamW"}, "summarizer": "csta",
                           "lr_scheduler": "torch.optim.lr_scheduler.StepLR"}) == []


def test_summarize_command_takes_the_trust_flag(user_code, tmp_path, capsys) -> None:
    from vsumlab.cli.main import main

    ckpt = _save(SummarizerModule(summarizer="mine.MeanNet", input_dim=4), tmp_path / "m.ckpt")
    args = ["summarize", str(tmp_path / "no_video.mp4"), "--checkpoint", str(ckpt), "--out",
            str(tmp_path / "out"), "--device", "cpu"]  # fmt: skip
    assert main(args) == 2
    assert "pass --trust-class mine.MeanNet" in capsys.readouterr().err
    # trusted, the checkpoint loads and the command goes on to choosing the feature encoder
    assert main([*args, "--trust-class", "mine.MeanNet"]) == 2
    err = capsys.readouterr().err
    assert "pass --trust-class" not in err and "records no feature encoder" in err
