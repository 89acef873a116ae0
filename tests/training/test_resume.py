"""Resuming a fold: exact (kill -9 and rerun equals one run), never mixing inputs, keeping logs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.errors import OutputExistsError
from vsumlab.training import fingerprints
from vsumlab.training.callbacks import RNGStateCheckpoint
from vsumlab.training.cv import Effective
from vsumlab.training.fingerprints import fingerprint, input_difference, input_files
from vsumlab.training.resume import keep_metrics_until, resume_checkpoint, wandb_run_id

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
TINY_ARGS = '{"d_model": 32, "n_heads": 2, "n_layers": 1, "dim_feedforward": 64, "dropout": 0.1}'


# ----------------------------------------------------------------------------- unit
def test_rng_states_survive_a_weights_only_checkpoint(tmp_path) -> None:
    callback = RNGStateCheckpoint()
    random.seed(1), np.random.seed(2), torch.manual_seed(3)  # noqa: NPY002
    random.random(), np.random.rand(), torch.rand(1)  # noqa: NPY002
    torch.save({"state": callback.state_dict()}, tmp_path / "rng.ckpt")
    expected = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    random.seed(9), np.random.seed(9), torch.manual_seed(9)  # noqa: NPY002
    callback.load_state_dict(torch.load(tmp_path / "rng.ckpt", weights_only=True)["state"])
    again = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert again[0] == expected[0] and again[1] == expected[1]
    assert torch.equal(again[2], expected[2])


def test_input_files_are_the_options_naming_existing_files(tmp_path) -> None:
    data = tmp_path / "a.h5"
    data.write_bytes(b"x")
    config = {"config": [str(data)], "data": {"init_args": {
        "dataset": str(data), "extra_datasets": [str(data), str(tmp_path / "missing.h5")],
        "split_file": None, "cache_dir": str(tmp_path)}}}
    assert input_files(config) == {"data.init_args.dataset": data.resolve(),
                                   "data.init_args.extra_datasets.0": data.resolve()}


def test_fingerprints_rehash_only_changed_files_and_name_the_differing_one(
    tmp_path, monkeypatch
) -> None:
    data = tmp_path / "a.h5"
    data.write_bytes(b"first")
    before = fingerprint(data)
    calls = []
    real = fingerprints.sha256_file
    monkeypatch.setattr(fingerprints, "sha256_file", lambda p: calls.append(p) or real(p))
    assert fingerprint(data, before) == before and calls == []  # same size and time: cached
    data.write_bytes(b"other")  # same size, new content and time
    os.utime(data, ns=(before["mtime_ns"] + 10**9, before["mtime_ns"] + 10**9))
    after = fingerprint(data, before)
    assert calls == [data] and after["sha256"] != before["sha256"]
    message = input_difference({"data.init_args.dataset": before},
                               {"data.init_args.dataset": after})
    assert message.startswith(f"data.init_args.dataset: {data} differs")
    assert input_difference({"x": before}, {"x": dict(before)}) is None
    assert "was not an input" in input_difference({}, {"x": after})


def test_metrics_rows_after_the_resumed_checkpoint_are_dropped(tmp_path) -> None:
    csv_file = tmp_path / "metrics.csv"
    csv_file.write_text("epoch,step,val/f1\n0,1,50\n1,3,51\n2,5,52\n,0,\n")
    keep_metrics_until(csv_file, 1)
    assert csv_file.read_text().splitlines() == ["epoch,step,val/f1", "0,1,50", "1,3,51"]
    keep_metrics_until(csv_file, None)
    assert not csv_file.exists()


def test_truncated_last_checkpoint_falls_back_to_an_earlier_one(tmp_path, capsys) -> None:
    good = tmp_path / "best-epoch=1.ckpt"
    torch.save({"epoch": 1, "loops": {}, "state_dict": {}}, good)
    last = tmp_path / "last.ckpt"
    last.write_bytes(good.read_bytes()[:100])  # a kill while it was written
    assert resume_checkpoint(tmp_path) == (good, 1)
    err = capsys.readouterr().err
    assert f"{last}: not a readable checkpoint" in err and f"earlier checkpoint {good}" in err
    good.write_bytes(b"")
    assert resume_checkpoint(tmp_path) == (None, None)
    assert "the fold restarts from its first epoch" in capsys.readouterr().err


def test_wandb_run_id_is_kept_across_attempts(tmp_path) -> None:
    first = wandb_run_id(tmp_path)
    assert len(first) == 8 and first.isalnum() and wandb_run_id(tmp_path) == first


def test_run_json_of_earlier_versions_is_resumed_and_upgraded(tmp_path) -> None:
    import json

    from vsumlab.training.cv import CVOptions, _identity, prepare_out_dir

    data = tmp_path / "a.h5"
    data.write_bytes(b"x")
    options = CVOptions(recipe=RECIPE, out_dir=tmp_path / "out", overrides=["--a=1"])
    identity = _identity(options, {"model": 1}, effective=Effective({"model": 1, "lr": 5e-4}))
    options.out_dir.mkdir()
    old = {"recipe": str(RECIPE), "config_hash": identity["legacy_config_hash"]}  # no inputs
    (options.out_dir / "run.json").write_text(json.dumps(old))
    prepare_out_dir(options, identity, {"data.init_args.dataset": data})
    upgraded = json.loads((options.out_dir / "run.json").read_text())
    assert upgraded["config_hash"] == identity["config_hash"]
    assert upgraded["inputs"]["data.init_args.dataset"]["sha256"] == fingerprint(data)["sha256"]
    # from now on the effective hash is what counts: the legacy one no longer passes
    upgraded["config_hash"] = "0" * 16
    (options.out_dir / "run.json").write_text(json.dumps(upgraded))
    with pytest.raises(OutputExistsError, match="another configuration"):
        prepare_out_dir(options, identity, {"data.init_args.dataset": data})


# ----------------------------------------------------------------------------- cv runs
def _cv_args(data: Path, out: Path, *extra: str) -> list[str]:
    return ["cv", "--config", str(RECIPE), "--out", str(out), "--folds", "0", "--deterministic",
            "--reference-draws", "2", f"--data.init_args.dataset={data}",
            "--data.init_args.n_folds=2", "--data.init_args.batch_size=2",
            "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={TINY_ARGS}",
            "--trainer.accelerator=cpu", *extra]


@pytest.mark.slow
def test_resume_refuses_changed_inputs_and_accepts_restated_defaults(
    small_tvsum_h5, tmp_path, capsys
) -> None:
    from vsumlab.cli.main import main

    data = tmp_path / "data.h5"
    data.write_bytes(small_tvsum_h5.read_bytes())
    out = tmp_path / "run"
    assert main(_cv_args(data, out, "--trainer.max_epochs=1")) == 0
    # an override restating the default (lr 5e-4) is the same configuration: resumed, not refused
    assert main(_cv_args(data, out, "--trainer.max_epochs=1", "--model.init_args.lr=0.0005")) == 0
    capsys.readouterr()
    # the same path regenerated with other content: refused, naming the option and the file
    (out / "seed_default" / "fold_0" / "result.json").unlink()
    blob = bytearray(data.read_bytes())
    blob[-1] ^= 1
    data.write_bytes(bytes(blob))
    assert main(_cv_args(data, out, "--trainer.max_epochs=1")) == 2
    err = capsys.readouterr().err
    assert f"data.init_args.dataset: {data} differs" in err and len(err.splitlines()) == 1
    assert main(_cv_args(data, out, "--trainer.max_epochs=2")) == 2
    assert "holds a run of another configuration" in capsys.readouterr().err


@pytest.mark.slow
def test_truncated_last_checkpoint_resumes_from_the_previous_one(
    small_tvsum_h5, tmp_path, capsys
) -> None:
    from vsumlab.cli.main import main

    out = tmp_path / "run"
    assert main(_cv_args(small_tvsum_h5, out, "--trainer.max_epochs=2")) == 0
    fold = out / "seed_default" / "fold_0"
    (fold / "result.json").unlink()
    last = fold / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    capsys.readouterr()
    assert main(_cv_args(small_tvsum_h5, out, "--trainer.max_epochs=2")) == 0
    err = capsys.readouterr().err
    assert f"{last}: not a readable checkpoint" in err and "resuming from the earlier" in err
    assert (fold / "result.json").is_file()


@pytest.mark.slow
def test_killed_deterministic_fold_resumes_bit_for_bit(small_tvsum_h5, tmp_path) -> None:
    """kill -9 right after epoch 1's checkpoint, rerun: predictions, metrics.csv and F1 equal
    those of an uninterrupted run, and the fold keeps a single W&B run id."""
    import json

    from vsumlab.evaluation.predictions import read_predictions

    env = {**os.environ, "WANDB_MODE": "offline",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO),
                                          os.environ.get("PYTHONPATH", "")])}
    vsumlab = [sys.executable, "-m", "vsumlab.cli.main"]
    args = lambda out: _cv_args(small_tvsum_h5, out, "--trainer.max_epochs=4")  # noqa: E731
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run([*vsumlab, *args(full)], env=env, check=True, capture_output=True)
    attempt = subprocess.run(
        [sys.executable, str(REPO / "tests" / "training" / "_kill_after_epoch.py"), *args(killed)],
        env={**env, "VSUMLAB_TEST_KILL_EPOCH": "1"}, capture_output=True)
    assert attempt.returncode == -signal.SIGKILL
    fold_killed = killed / "seed_default" / "fold_0"
    assert not (fold_killed / "result.json").exists()
    rows_at_kill = (fold_killed / "csv" / "metrics.csv").read_text().splitlines()
    assert {row.split(",")[0] for row in rows_at_kill[1:]} == {"0", "1"}  # flushed at the kill
    subprocess.run([*vsumlab, *args(killed)], env=env, check=True, capture_output=True)

    fold_full = full / "seed_default" / "fold_0"
    expected, resumed = read_predictions(fold_full / "predictions.h5"), read_predictions(
        fold_killed / "predictions.h5")
    assert sorted(expected) == sorted(resumed)
    for key in expected:
        np.testing.assert_array_equal(resumed[key], expected[key])
    result = lambda d: json.loads((d / "result.json").read_text())["model"]  # noqa: E731
    assert result(fold_killed) == result(fold_full)
    assert ((fold_killed / "csv" / "metrics.csv").read_text()
            == (fold_full / "csv" / "metrics.csv").read_text())
    run_ids = {p.name.rsplit("-", 1)[1] for p in (killed / "wandb").glob("offline-run-*")}
    assert len(list((killed / "wandb").glob("offline-run-*"))) == 2 and len(run_ids) == 1


# ----------------------------------------------------------------------------- foreign state
def _payload(**run) -> dict:  # noqa: ANN003
    identity = {"run": "abc", "fold": 0, "seed": None,
                "model_class": "vsumlab.models.summarizer.SummarizerModule", "feature_dim": 64}
    return {"epoch": 1, "loops": {}, "state_dict": {},
            "vsumlab_class": "vsumlab.models.summarizer.SummarizerModule",
            "hyper_parameters": {"input_dim": 64}, "vsumlab_run": {**identity, **run}}


@pytest.mark.parametrize(("change", "message"), [
    ({}, None),
    ({"vsumlab_class": "vsumlab.models.desumnet.DeSumNet"},
     "its model class is vsumlab.models.desumnet.DeSumNet but this run's is "
     "vsumlab.models.summarizer.SummarizerModule"),
    ({"hyper_parameters": {"input_dim": 1024}}, "its feature width is 1024 but this run's is 64"),
    ({"vsumlab_run": None}, "it records no run identity"),
    ({"run": "zzz"}, "its run configuration (config hash) is zzz but this run's is abc"),
    ({"fold": 1}, "its fold is 1 but this run's is 0"),
    ({"seed": 3}, "its seed is 3 but this run's is None"),
])
def test_a_checkpoint_is_resumed_only_into_its_own_run(tmp_path, change, message) -> None:
    from vsumlab.errors import ConfigError
    from vsumlab.training.resume import identity_mismatch

    expected = _payload()["vsumlab_run"]
    payload = _payload(**{k: v for k, v in change.items() if k in expected})
    payload.update({k: v for k, v in change.items() if k not in expected})
    assert identity_mismatch(payload, expected) == (
        None if message is None else identity_mismatch(payload, expected))
    torch.save(payload, tmp_path / "last.ckpt")
    if message is None:
        assert resume_checkpoint(tmp_path, expected) == (tmp_path / "last.ckpt", 1)
        return
    assert message in identity_mismatch(payload, expected)
    with pytest.raises(ConfigError, match=f"^{tmp_path / 'last.ckpt'}: not a checkpoint of this "
                                          "run: "):
        resume_checkpoint(tmp_path, expected)


def test_run_identity_records_run_fold_seed_class_and_width(tmp_path) -> None:
    import json

    from jsonargparse import Namespace

    from vsumlab.training.resume import run_identity

    (tmp_path / "run.json").write_text(json.dumps({"config_hash": "h1"}))

    def config(class_path: str) -> Namespace:
        return Namespace(model=Namespace(class_path=class_path,
                                         init_args=Namespace(input_dim=64)))

    assert run_identity(config("vsumlab.models.summarizer.SummarizerModule"),
                        tmp_path / "run.json", 2, 7) == {
        "run": "h1", "fold": 2, "seed": 7,
        "model_class": "vsumlab.models.summarizer.SummarizerModule", "feature_dim": 64}
    # a class that cannot be imported here is recorded as named (and compared as named)
    assert run_identity(config("nowhere.Model"), tmp_path / "run.json", 0,
                        None)["model_class"] == "nowhere.Model"


@pytest.mark.parametrize(("text", "message"), [
    ("epoch,step\n0,1\nx,2\n", "line 3 field 'epoch': expected an epoch number, got 'x'"),
    ("epoch,step\n0,1,9\n", "line 2: expected 2 fields as the header has"),
    ("step,loss\n1,2\n", "line 1: expected a header with an 'epoch' column"),
])
def test_a_corrupt_metrics_csv_is_refused_and_left_as_it_is(tmp_path, text, message) -> None:
    from vsumlab.errors import VsumError

    csv_file = tmp_path / "metrics.csv"
    csv_file.write_text(text)
    with pytest.raises(VsumError, match=f"^{csv_file}: {message}"):
        keep_metrics_until(csv_file, 0)
    assert csv_file.read_text() == text
