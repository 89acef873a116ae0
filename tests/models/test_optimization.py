"""Optimizers and LR schedulers chosen in YAML (model.init_args.optimizer / lr_scheduler)."""

from __future__ import annotations

import functools
import inspect

import lightning as L
import pytest
import torch
import yaml

from vsumlab.cli.lightning import make_cli
from vsumlab.errors import ConfigError
from vsumlab.models.cap2sum import Cap2SumModule
from vsumlab.models.clipit import CLIPItModule
from vsumlab.models.desumnet import DeSumNetModule
from vsumlab.models.loading import load_summarizer
from vsumlab.models.optimization import build_lr_scheduler, describe
from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp import ViSPPretrainModule

TINY = {"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.0}


def _tiny(**kwargs) -> SummarizerModule:
    return SummarizerModule(summarizer_args=TINY, input_dim=8, **kwargs)


def test_default_stays_adam_with_the_recipe_lr_and_weight_decay() -> None:
    module = _tiny(lr=2e-3, weight_decay=3e-6)
    optimizer = module.configure_optimizers()
    assert type(optimizer) is torch.optim.Adam and len(optimizer.param_groups) == 1
    group = optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (2e-3, 3e-6)
    assert len(group["params"]) == len(list(module.parameters()))
    assert module.hparams.optimizer is None and module.hparams.lr_scheduler is None


def test_yaml_choice_is_the_optimizer_and_scheduler_the_trainer_uses(small_tvsum_h5, tmp_path):
    recipe = {
        "seed_everything": 0,
        "trainer": {"accelerator": "cpu", "max_epochs": 1, "limit_train_batches": 1,
                    "limit_val_batches": 0, "logger": False, "enable_checkpointing": False,
                    "enable_progress_bar": False, "enable_model_summary": False,
                    "default_root_dir": str(tmp_path)},
        "model": {"class_path": "vsumlab.models.summarizer.SummarizerModule", "init_args": {
            "input_dim": 64, "summarizer_args": TINY,
            "optimizer": {"class_path": "torch.optim.AdamW",
                          "init_args": {"lr": 0.0123, "weight_decay": 0.05}},
            "lr_scheduler": {"class_path": "torch.optim.lr_scheduler.StepLR",
                             "init_args": {"step_size": 3, "gamma": 0.5}},
            "lr_scheduler_config": {"interval": "step"},
        }},
        "data": {"class_path": "vsumlab.data.datamodules.SummarizationDataModule",
                 "init_args": {"dataset": str(small_tvsum_h5), "n_folds": 2}},
    }  # fmt: skip
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    cli = make_cli(["--config", str(path)], run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    (optimizer,) = cli.trainer.optimizers
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.param_groups[0]["initial_lr"] == 0.0123
    assert optimizer.param_groups[0]["weight_decay"] == 0.05
    (config,) = cli.trainer.lr_scheduler_configs
    assert type(config.scheduler) is torch.optim.lr_scheduler.StepLR
    assert (config.scheduler.step_size, config.scheduler.gamma, config.interval) == (3, 0.5, "step")
    # recorded as plain data: the checkpoint loads with weights_only and scores
    assert cli.model.hparams.optimizer["class_path"] == "torch.optim.AdamW"
    ckpt = tmp_path / "model.ckpt"
    cli.trainer.save_checkpoint(ckpt)
    assert load_summarizer(ckpt).optimizer_choice is None  # scoring imports no optimizer


def test_short_class_names_on_the_command_line(small_tvsum_h5, tmp_path):
    cli = make_cli([
        "--model=vsumlab.models.summarizer.SummarizerModule", "--model.init_args.input_dim=64",
        f"--model.init_args.summarizer_args={TINY}", "--model.init_args.optimizer=SGD",
        "--model.init_args.optimizer.lr=0.2", "--model.init_args.optimizer.momentum=0.5",
        "--data=vsumlab.data.datamodules.SummarizationDataModule",
        f"--data.init_args.dataset={small_tvsum_h5}", "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}",
    ], run=False)
    optimizer = cli.model.configure_optimizers()
    assert type(optimizer) is torch.optim.SGD
    assert (optimizer.defaults["lr"], optimizer.defaults["momentum"]) == (0.2, 0.5)


def test_python_choices_are_recorded_as_class_path_dicts() -> None:
    module = _tiny(optimizer=functools.partial(torch.optim.RMSprop, lr=0.01),
                   lr_scheduler="torch.optim.lr_scheduler.ExponentialLR")
    assert module.hparams.optimizer == {"class_path": "torch.optim.rmsprop.RMSprop",
                                        "init_args": {"lr": 0.01}}
    assert module.hparams.lr_scheduler == {
        "class_path": "torch.optim.lr_scheduler.ExponentialLR", "init_args": {}}
    with pytest.raises(ConfigError, match="cannot be recorded in the checkpoint"):
        _tiny(optimizer=lambda params: torch.optim.SGD(params, lr=0.1))


def test_bad_choices_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="lr_scheduler_config is set but model.lr_scheduler"):
        _tiny(lr_scheduler_config={"interval": "step"})
    with pytest.raises(ConfigError, match="model.optimizer: TypeError: .*momentum_typo"):
        _tiny(optimizer={"class_path": "SGD", "init_args": {"lr": 0.1, "momentum_typo": 1}}
              ).configure_optimizers()
    with pytest.raises(ConfigError, match="cannot import 'no_such_pkg'"):
        _tiny(optimizer="no_such_pkg.Opt").configure_optimizers()
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    plateau = {"class_path": "ReduceLROnPlateau", "init_args": {"mode": "max"}}
    with pytest.raises(ConfigError, match="ReduceLROnPlateau needs the metric to watch"):
        build_lr_scheduler(plateau, optimizer)
    config = build_lr_scheduler(plateau, optimizer, {"monitor": "val/f1"})
    assert config["monitor"] == "val/f1" and config["scheduler"].mode == "max"
    with pytest.raises(ConfigError, match="unknown key\\(s\\) every; known: interval"):
        build_lr_scheduler(plateau, optimizer, {"every": 2})
    with pytest.raises(ConfigError, match="unknown key"):
        describe({"class_path": "SGD", "args": {}}, "model.optimizer")


def test_a_recorded_foreign_optimizer_is_never_imported_to_score(tmp_path) -> None:
    module = _tiny(optimizer={"class_path": "no_such_pkg.Opt", "init_args": {"lr": 1.0}})
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        max_epochs=0)  # fmt: skip
    trainer.strategy.connect(module)
    ckpt = tmp_path / "model.ckpt"
    trainer.save_checkpoint(ckpt)
    loaded = load_summarizer(ckpt)  # would fail (cannot import) if the choice were built
    assert loaded.hparams.optimizer is None


@pytest.mark.parametrize("cls", [Cap2SumModule, ViSPPretrainModule, CLIPItModule, DeSumNetModule])
def test_every_method_module_takes_the_choices(cls) -> None:
    params = inspect.signature(cls).parameters
    assert {"optimizer", "lr_scheduler", "lr_scheduler_config"} <= set(params)
    assert params["optimizer"].default is None and params["lr_scheduler"].default is None


def test_visp_passes_the_choice_to_the_harness() -> None:
    module = ViSPPretrainModule(summarizer="transformer", summarizer_args=TINY, input_dim=8,
                                optimizer={"class_path": "torch.optim.AdamW"})
    assert type(module.configure_optimizers()) is torch.optim.AdamW
