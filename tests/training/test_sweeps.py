"""W&B sweep files: valid against the CLI, and one trial through the agent's exact command line.

A sweep needs a W&B server, so the agent is imitated: its command is built from the sweep file
with wandb's own helpers (``create_sweep_command``, ``create_sweep_command_args``) and the macro
expansion of ``wandb.wandb_agent.Agent._command_run``, then run in a subprocess with the
environment the agent sets (WANDB_SWEEP_ID, WANDB_RUN_ID) and WANDB_MODE=offline.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vsumlab.analysis.wandb_runs import find_offline_runs, read_offline_run
from vsumlab.cli.cv import default_out_dir, split_overrides
from vsumlab.errors import ConfigError
from vsumlab.training.cv import sweep_context
from vsumlab.training.sweeps import agent_command

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = sorted((ROOT / "experiments" / "sweeps").glob("*.yaml"))
DISTRIBUTIONS = {"uniform", "log_uniform_values", "int_uniform", "q_uniform",
                 "q_log_uniform_values", "categorical", "constant"}
NO_TRAINER = {"logger": False, "callbacks": [], "enable_checkpointing": False}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def candidates(spec: dict[str, Any]) -> list[Any]:
    """The values a sweep can give a parameter: its list, its constant, or both range ends."""
    if "values" in spec:
        return list(spec["values"])
    if "value" in spec:
        return [spec["value"]]
    return [spec["min"], spec["max"]]


def vsumlab_argv(command: list[str]) -> list[str]:
    """The `vsumlab` arguments of an agent command (from the sub-command on)."""
    return command[command.index("vsumlab.cli.main") + 1:]


def lookup(config: Any, dotted: str) -> Any:
    """A dotted key of a parsed LightningCLI config (Namespaces, then plain dicts)."""
    node = config
    for part in dotted.split("."):
        if hasattr(node, "__contains__") and part in node:
            node = node[part]
        else:
            raise KeyError(dotted)
    return node


def _cli_for(argv: list[str], tmp_path: Path) -> tuple[Any, Any]:
    """Fold and pretraining CLIs (run=False) as `vsumlab cv` builds them from its arguments."""
    from vsumlab.cli.lightning import expand_recipes, make_cli
    from vsumlab.cli.main import build_parser
    from vsumlab.training.recipes import write_composed

    if argv[0] == "fit":  # a plain LightningCLI trial (DeSumNet): its arguments as they are
        expanded = expand_recipes(argv[1:], tmp_path)
        return make_cli(expanded, run=False, trainer_overrides={"logger": False}), None
    args, unknown = build_parser().parse_known_args(argv)
    overrides, pretrain_overrides = split_overrides(unknown)
    recipe = write_composed(args.config, tmp_path / "recipe.yaml")
    fold = make_cli(["--config", str(recipe), *overrides], run=False, trainer_overrides=NO_TRAINER)
    pretrain = None
    if args.pretrain is not None:
        composed = write_composed(args.pretrain, tmp_path / "pretrain.yaml")
        pretrain = make_cli(["--config", str(composed), *pretrain_overrides], run=False,
                            trainer_overrides=NO_TRAINER)
    elif pretrain_overrides:
        raise AssertionError("--pretrain.* parameters without --pretrain in the command")
    return fold, pretrain


def _same(applied: Any, wanted: Any) -> bool:
    if isinstance(wanted, float) or isinstance(applied, float):
        return math.isclose(float(applied), float(wanted), rel_tol=1e-9)
    return applied == wanted


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_sweep_file_structure(path: Path) -> None:
    sweep = _load(path)
    assert sweep["method"] in ("grid", "random", "bayes")
    assert sweep["metric"]["goal"] == "maximize"
    command = [str(c) for c in sweep["command"]]
    assert command[-1] == "${args}" and command[0] == "${env}"
    subcommand = vsumlab_argv(command)[0]
    assert command[command.index("vsumlab.cli.main") - 1] == "-m"
    if subcommand == "cv":  # the mean over folds of a validation metric on cv's model row
        assert re.fullmatch(r"val_[a-z_0-9]+", sweep["metric"]["name"])
    else:  # a metric the LightningModule logs on validation
        assert subcommand == "fit" and sweep["metric"]["name"].startswith("val/")
    recipe = command[command.index("--config") + 1]
    assert (ROOT / recipe).is_file(), recipe
    for name, spec in sweep["parameters"].items():
        kinds = [k for k in ("values", "value", "min") if k in spec]
        assert len(kinds) == 1, f"{name}: give exactly one of values / value / min+max"
        if "min" in spec:
            assert "max" in spec and spec["min"] < spec["max"], name
        assert spec.get("distribution", "constant") in DISTRIBUTIONS, name


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_every_swept_value_parses_and_reaches_the_config(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_tvsum_h5: Path,
    small_summe_h5: Path,
) -> None:
    monkeypatch.chdir(ROOT)  # recipes in sweep commands are relative to the repository
    monkeypatch.setenv("TVSUM_H5", str(small_tvsum_h5))
    monkeypatch.setenv("SUMME_H5", str(small_summe_h5))
    sweep = _load(path)
    options = {name: candidates(spec) for name, spec in sweep["parameters"].items()}
    # trial i gives every parameter its i-th candidate (cycling), so all values are covered
    for i in range(max(len(v) for v in options.values())):
        values = {name: opts[i % len(opts)] for name, opts in options.items()}
        fold, pretrain = _cli_for(vsumlab_argv(agent_command(sweep, values)), tmp_path)
        for name, wanted in values.items():
            cli, key = (pretrain, name[len("pretrain."):]) if name.startswith("pretrain.") else (
                fold, name)
            try:
                applied = lookup(cli.config, key)
            except KeyError:
                pytest.fail(f"{path.name}: parameter {name} is not in the parsed config")
            assert _same(applied, wanted), f"{path.name}: {name}={wanted!r} parsed as {applied!r}"


def test_sweep_context_and_trial_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_SWEEP_ID", raising=False)
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    assert sweep_context() is None and default_out_dir("exp") == Path("runs/exp")
    monkeypatch.setenv("WANDB_RUN_ID", "r1")
    assert sweep_context() is None  # a plain resumed run is not a sweep
    monkeypatch.setenv("WANDB_SWEEP_ID", "s9")
    assert sweep_context().run_id == "r1"
    assert default_out_dir("exp") == Path("runs/sweeps/s9/r1")


def test_pretrain_overrides_are_routed() -> None:
    folds, pretrain = split_overrides(
        ["--model.init_args.lr=0.1", "--pretrain.model.init_args.beta_size=10"]
    )
    assert folds == ["--model.init_args.lr=0.1"]
    assert pretrain == ["--model.init_args.beta_size=10"]
    with pytest.raises(ConfigError, match="overrides look like --key=value"):
        split_overrides(["stray"])


def test_agent_command_matches_wandb_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TVSUM_H5", "/data/t.h5")
    sweep = {"command": ["${env}", "${interpreter}", "-m", "vsumlab.cli.main", "cv",
                         "--data.init_args.dataset=${envvar:TVSUM_H5}", "${args}"]}
    command = agent_command(sweep, {"model.init_args.lr": 1e-05, "trainer.max_epochs": 3})
    assert command == ["/usr/bin/env", "python", "-m", "vsumlab.cli.main", "cv",
                       "--data.init_args.dataset=/data/t.h5", "--model.init_args.lr=1e-05",
                       "--trainer.max_epochs=3"]


# constants a trial adds to the sweep's own parameters (as `value:` entries would): tiny sizes
TINY = {
    "trainer.max_epochs": 1,
    "trainer.accelerator": "cpu",
    "data.init_args.n_folds": 2,
    "model.init_args.input_dim": 64,
}
TINY_PRETRAIN = {
    "pretrain.trainer.max_epochs": 1,
    "pretrain.trainer.accelerator": "cpu",
    "pretrain.model.init_args.input_dim": 64,
    "pretrain.data.init_args.batch_size": 4,
}


@pytest.mark.slow
@pytest.mark.parametrize(("sweep_name", "extra"), [("transformer", {}), ("visp", TINY_PRETRAIN)])
def test_one_trial_through_the_agent_command(
    sweep_name: str, extra: dict[str, Any], small_tvsum_h5: Path, small_summe_h5: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sweep = _load(ROOT / "experiments" / "sweeps" / f"{sweep_name}.yaml")
    values = {name: candidates(spec)[0] for name, spec in sweep["parameters"].items()}
    values.update(TINY, **extra)
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SWEEP_ID": "sweeptest",
        "WANDB_RUN_ID": "trial0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONWARNINGS": "ignore",
    }
    monkeypatch.setenv("TVSUM_H5", str(small_tvsum_h5))  # the agent fills ${envvar:...}
    monkeypatch.setenv("SUMME_H5", str(small_summe_h5))
    command = agent_command(sweep, values)
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # the agent runs in a checkout
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    out = tmp_path / "runs" / "sweeps" / "sweeptest" / "trial0"
    results = json.loads((out / "results.json").read_text())
    model = results["rows"][0]
    assert results["sweep"] == {"sweep_id": "sweeptest", "run_id": "trial0"}
    metric = sweep["metric"]["name"]  # val_f1 or val_kendall
    assert len(model["val_folds"]) == 2
    folds = [f[metric.removeprefix("val_")] for f in model["val_folds"]]
    assert model[metric] == pytest.approx(sum(folds) / 2)
    run_json = json.loads((out / "run.json").read_text())
    first = next(iter(sweep["parameters"]))
    swept = f"--{first.removeprefix('pretrain.')}={values[first]}"
    used = run_json["pretrain"]["overrides"] if first.startswith("pretrain.") else run_json["overrides"]
    assert swept in used  # the swept value reached the run

    # exactly one W&B run: the agent's, holding both folds and the means
    runs = find_offline_runs(out)
    assert len(runs) == 1
    run = read_offline_run(runs[0])
    assert run.run_id == "trial0" and run.finished
    assert run.summary[metric] == pytest.approx(model[metric])
    assert run.summary["test_f1"] == pytest.approx(model["f1"])
    assert sorted(run.series("fold")) == [0, 1]
    assert run.series(f"fold/{metric}") == pytest.approx(folds)
    assert any(key.startswith("fold1-val/") for row in run.history for key in row)  # curves

    if extra:  # the pretraining stage ran once and every fold fine-tuned from its checkpoint
        import torch

        checkpoint = Path(results["pretrained"])
        assert checkpoint == (out / "pretrain" / "checkpoints" / "last.ckpt").resolve()
        assert checkpoint.is_file()
        for fold in (0, 1):
            last = out / "seed_default" / f"fold_{fold}" / "checkpoints" / "last.ckpt"
            hparams = torch.load(last, map_location="cpu", weights_only=False)["hyper_parameters"]
            assert hparams["pretrained"] == str(checkpoint)
        assert any(key.startswith("pretrain-") for row in run.history for key in row)
