"""`vsumlab sweep`: a sweep file's trials without a W&B server (random search, local)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from vsumlab.cli.main import main
from vsumlab.errors import ConfigError
from vsumlab.training.sweeps import load_sweep, run_local_sweep, sample_values

ROOT = Path(__file__).resolve().parents[2]

PARAMETERS = {
    "a": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2},
    "b": {"distribution": "int_uniform", "min": 2, "max": 4},
    "c": {"distribution": "uniform", "min": -1.0, "max": 1.0},
    "d": {"values": [16, 32]},
    "e": {"value": 7},
    "f": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25},
}


def test_draws_stay_in_range_and_follow_the_distribution() -> None:
    rng = np.random.default_rng(0)
    draws = [sample_values(PARAMETERS, rng) for _ in range(400)]
    a = np.array([d["a"] for d in draws])
    assert a.min() >= 1e-5 and a.max() <= 1e-2
    # log-uniform: about half the draws below the geometric middle 10^-3.5
    assert 0.4 < np.mean(a < 10**-3.5) < 0.6
    assert {d["b"] for d in draws} == {2, 3, 4}
    assert all(isinstance(d["b"], int) for d in draws)
    assert all(-1.0 <= d["c"] <= 1.0 for d in draws)
    assert {d["d"] for d in draws} == {16, 32} and {d["e"] for d in draws} == {7}
    assert {d["f"] for d in draws} <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_draws_repeat_for_a_seed() -> None:
    first = [sample_values(PARAMETERS, np.random.default_rng(3)) for _ in range(2)]
    again = [sample_values(PARAMETERS, np.random.default_rng(3)) for _ in range(2)]
    assert first == again


@pytest.mark.parametrize("path", sorted((ROOT / "experiments" / "sweeps").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_sweep_file_loads_and_draws(path: Path) -> None:
    sweep = load_sweep(path)
    values = sample_values(sweep["parameters"], np.random.default_rng(0))
    assert set(values) == set(sweep["parameters"])
    for name, spec in sweep["parameters"].items():
        if "min" in spec:
            assert spec["min"] <= values[name] <= spec["max"] or math.isclose(
                values[name], spec["max"]
            )


def test_an_installed_sweep_file_is_found_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside a checkout
    by_name = load_sweep("sweeps/transformer")
    assert by_name == load_sweep("experiments/sweeps/transformer.yaml")
    assert by_name == yaml.safe_load((ROOT / "experiments/sweeps/transformer.yaml").read_text())


def test_bad_sweep_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweep file not found"):
        load_sweep(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"command": ["x"], "metric": {"name": "m"},
                                   "parameters": {"lr": {"distribution": "gauss", "min": 0,
                                                         "max": 1}}}))
    with pytest.raises(ConfigError, match=r"parameters.lr.distribution='gauss'"):
        load_sweep(bad)
    bad.write_text(yaml.safe_dump({"command": ["x"], "parameters": {}}))
    with pytest.raises(ConfigError, match="has no 'metric'"):
        load_sweep(bad)
    # the dataset comes from ${envvar:TVSUM_H5}: unset, the run stops before any trial
    with pytest.raises(ConfigError, match="environment variable.*TVSUM_H5"):
        run_local_sweep(ROOT / "experiments" / "sweeps" / "transformer.yaml", trials=1,
                        environ={}, cwd=tmp_path)
    assert not (tmp_path / "runs").exists()
    # DeSumNet's sweep trials are `vsumlab fit` runs: a W&B agent's job, said in one line
    with pytest.raises(ConfigError, match="not a `vsumlab cv` run"):
        run_local_sweep(ROOT / "experiments" / "sweeps" / "desumnet.yaml", trials=1)


@pytest.mark.slow
def test_local_sweep_runs_trials_and_ranks_them(small_tvsum_h5: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # trials run in a checkout
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TVSUM_H5", str(small_tvsum_h5))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    tiny = ["--trainer.max_epochs=1", "--trainer.accelerator=cpu", "--data.init_args.n_folds=2",
            "--model.init_args.input_dim=64"]
    code = main(["sweep", "experiments/sweeps/transformer.yaml", "--trials", "2", "--id", "t",
                 *tiny])
    assert code == 0
    folder = tmp_path / "runs" / "sweeps" / "t"
    board = json.loads((folder / "leaderboard.json").read_text())
    assert board["metric"] == "val_f1" and board["goal"] == "maximize"
    trials = board["trials"]
    assert sorted(t["run_id"] for t in trials) == ["t-trial0", "t-trial1"]  # unique per sweep
    assert trials[0]["metric"] >= trials[1]["metric"]  # best first
    for trial in trials:
        results = json.loads((folder / trial["run_id"] / "results.json").read_text())
        assert results["sweep"] == {"sweep_id": "t", "run_id": trial["run_id"]}
        assert results["rows"][0]["val_f1"] == pytest.approx(trial["metric"])
        run = json.loads((folder / trial["run_id"] / "run.json").read_text())
        assert f"--model.init_args.lr={trial['values']['model.init_args.lr']}" in run["overrides"]
    assert trials[0]["values"] != trials[1]["values"]
    assert "| trial" in (folder / "leaderboard.md").read_text()
    assert os.environ.get("WANDB_SWEEP_ID") is None  # the agent's variables stay in the trials
