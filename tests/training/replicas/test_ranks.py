"""Replicas divided among DDP processes: the division and its record, the resume every process
agrees on, one checkpoint per process, no gradient wrapper; and (slow, 2 gloo processes on CPU
through Lightning's own launcher, and through torchrun) the same predictions as one process and
as the sequential folds, results written once, and an exact resume after every process is
killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.main import main
from vsumlab.errors import ConfigError
from vsumlab.evaluation.predictions import read_predictions
from vsumlab.training.replicas.ranks import (
    ReplicaDDPStrategy,
    agreed_resume,
    plan_division,
    replica_strategy,
)

from ._compare import assert_same_fold_outputs

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
PAIRS = [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1)]


# ----------------------------------------------------------------------------- the division
def test_each_process_trains_every_world_size_th_pair_and_the_division_is_recorded(tmp_path):
    division = plan_division(tmp_path, PAIRS, 2)
    assert division.fresh
    assert division.share(0) == [(0, 0), (2, 0), (1, 1)]
    assert division.share(1) == [(1, 0), (0, 1)]
    assert division.record() == {"pairs": [list(p) for p in PAIRS], "world_size": 2,
                                 "ranks": [[[0, 0], [2, 0], [1, 1]], [[1, 0], [0, 1]]]}


def test_a_rerun_with_as_many_processes_continues_the_recorded_division(tmp_path):
    (tmp_path / "replicas.json").write_text(json.dumps(plan_division(tmp_path, PAIRS, 2)
                                                       .record()))
    # killed while results were written: (0, 0) is done, the others continue with it
    division = plan_division(tmp_path, PAIRS[1:], 2)
    assert not division.fresh and division.pairs == PAIRS
    assert division.share(1) == [(1, 0), (0, 1)]


def test_a_resume_with_another_number_of_processes_is_refused_in_one_line(tmp_path):
    (tmp_path / "replicas.json").write_text(json.dumps(plan_division(tmp_path, PAIRS, 2)
                                                       .record()))
    # nothing saved yet: the run starts afresh with the new division
    assert plan_division(tmp_path, PAIRS, 3).fresh
    saved = tmp_path / "checkpoints" / "rank1" / "last.ckpt"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"state")
    with pytest.raises(ConfigError) as refused:
        plan_division(tmp_path, PAIRS, 1)
    message = str(refused.value)
    assert "\n" not in message and str(tmp_path / "replicas.json") in message
    assert "divided among 2 processes; resume it with 2 devices" in message


def test_more_processes_than_replicas_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="2 replicas cannot be divided among 3 processes"):
        plan_division(tmp_path, PAIRS[:2], 3)


# ----------------------------------------------------------------------------- the resume
def _saved(path: Path, epoch: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "loops": {}}, path)


def test_every_process_resumes_from_the_newest_epoch_all_of_them_saved(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    # rank 0 saved epoch 2 (its file and last.ckpt); rank 1 was killed before it did: epoch 1,
    # and its last.ckpt truncated by the kill
    _saved(checkpoints / "rank0" / "epoch=1-step=4.ckpt", 1)
    _saved(checkpoints / "rank0" / "epoch=2-step=6.ckpt", 2)
    _saved(checkpoints / "rank0" / "last.ckpt", 2)
    _saved(checkpoints / "rank1" / "epoch=1-step=2.ckpt", 1)
    (checkpoints / "rank1" / "last.ckpt").write_bytes(b"trunc")
    assert agreed_resume(checkpoints, 0, 2) == (checkpoints / "rank0" / "epoch=1-step=4.ckpt", 1)
    assert agreed_resume(checkpoints, 1, 2) == (checkpoints / "rank1" / "epoch=1-step=2.ckpt", 1)
    _saved(checkpoints / "rank1" / "last.ckpt", 2)  # both saved epoch 2: last.ckpt first
    assert agreed_resume(checkpoints, 0, 2) == (checkpoints / "rank0" / "last.ckpt", 2)
    assert agreed_resume(checkpoints, 1, 2) == (checkpoints / "rank1" / "last.ckpt", 2)


def test_no_process_resumes_when_one_saved_nothing(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    _saved(checkpoints / "rank0" / "last.ckpt", 0)
    assert agreed_resume(checkpoints, 0, 2) == (None, None)
    assert agreed_resume(checkpoints, 1, 2) == (None, None)


# ----------------------------------------------------------------------------- the strategy
def test_the_strategy_leaves_the_module_unwrapped_and_saves_per_process(tmp_path, monkeypatch):
    import lightning as L
    from lightning.fabric.plugins.environments import LightningEnvironment
    from lightning.fabric.utilities import rank_zero as fabric_rank_zero
    from lightning.pytorch.utilities import rank_zero

    for module in (fabric_rank_zero, rank_zero):  # set_world_ranks sets them: restored after
        monkeypatch.setattr(module.rank_zero_only, "rank", module.rank_zero_only.rank)
    monkeypatch.setenv("LOCAL_RANK", "1")
    strategy = ReplicaDDPStrategy(parallel_devices=[torch.device("cpu")] * 2,
                                  cluster_environment=LightningEnvironment())
    strategy.set_world_ranks()
    assert (strategy.global_rank, strategy.world_size) == (1, 2)
    module = L.LightningModule()
    strategy.model = module
    strategy.configure_ddp()
    assert strategy.model is module  # no DistributedDataParallel: no gradient all-reduce
    target = tmp_path / "checkpoints" / "last.ckpt"
    strategy.save_checkpoint({"epoch": 3}, target)
    own = tmp_path / "checkpoints" / "rank1" / "last.ckpt"
    assert own.is_file() and not target.exists()  # Lightning's own: rank 0 only, at target
    strategy.remove_checkpoint(target)
    assert not own.exists()


@pytest.mark.parametrize(("trainer", "divided"), [
    ({"trainer.strategy": "ddp", "trainer.devices": 1}, True),
    ({"trainer.strategy": "auto", "trainer.devices": 2}, True),
    ({"trainer.strategy": "auto", "trainer.devices": 1}, False),
    ({"trainer.strategy": "auto"}, False),
])
def test_lightnings_ddp_choices_get_the_replica_strategy(trainer, divided):
    assert isinstance(replica_strategy(trainer), ReplicaDDPStrategy) is divided


def test_an_unsupported_strategy_is_named(small_tvsum_h5, tmp_path, capsys):
    out = tmp_path / "vec"
    capsys.readouterr()
    assert main(["cv", "--config", str(RECIPE), "--out", str(out), "--replicas", "vectorized",
                 f"--data.init_args.dataset={small_tvsum_h5}", "--model.init_args.input_dim=64",
                 "--trainer.accelerator=cpu", "--trainer.devices=2",
                 "--trainer.strategy=ddp_spawn"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trainer.strategy='ddp_spawn'" in err[0]
    assert not out.exists()


def test_every_process_takes_the_agreed_number_of_steps():
    from vsumlab.training.replicas.data import ReplicaBatches

    batches = ReplicaBatches([["a1"], ["b1", "b2"]])
    assert list(batches) == [["a1", "b1"], [None, "b2"]]
    batches.steps = 3  # another process's replica has 3 batches
    assert len(batches) == 3
    assert list(batches) == [["a1", "b1"], [None, "b2"], [None, None]]


def test_a_replicas_csv_is_written_by_the_process_that_trains_it(tmp_path, monkeypatch):
    from lightning.fabric.utilities import rank_zero as fabric_rank_zero
    from lightning.pytorch.utilities import rank_zero

    from vsumlab.training.replicas.replica_csv import ReplicaCSVLogger
    from vsumlab.training.resume import ResumableCSVLogger

    for module in (fabric_rank_zero, rank_zero):
        monkeypatch.setattr(module.rank_zero_only, "rank", 1)
    for cls, folder in ((ReplicaCSVLogger, "own"), (ResumableCSVLogger, "lightning")):
        logger = cls(save_dir=str(tmp_path / folder), name="csv", version="")
        logger.log_metrics({"train/loss": 0.5, "epoch": 0}, step=0)
        logger.save()
    assert (tmp_path / "own" / "csv" / "metrics.csv").read_text().splitlines() == [
        "epoch,step,train/loss", "0,0,0.5"]
    assert not (tmp_path / "lightning" / "csv" / "metrics.csv").exists()


# ----------------------------------------------------------------------------- 2 processes
def _args(data: Path, out: Path, dropout: float, *extra: str) -> list[str]:
    net = json.dumps({"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32,
                      "dropout": dropout})
    # 5 folds of 12 videos, folds 0-2: 7, 7 and 8 training videos in batches of 7. Process 0
    # trains folds 0 and 2 (2 steps an epoch, the second of 1 video), process 1 fold 1 (1 step)
    return ["cv", "--config", str(RECIPE), "--out", str(out), "--deterministic",
            "--seeds", "1", "--folds", "0,1,2", "--wandb-mode", "disabled",
            "--reference-draws", "2", f"--data.init_args.dataset={data}",
            "--data.init_args.n_folds=5", "--data.init_args.batch_size=7",
            "--model.init_args.input_dim=64", f"--model.init_args.summarizer_args={net}",
            '--protocol={"model_selection": "best_val"}',
            "--trainer.accelerator=cpu", "--trainer.max_epochs=4", *extra]


DDP = ("--replicas", "vectorized", "--trainer.devices=2", "--trainer.strategy=ddp")


def _env() -> dict[str, str]:
    return {**os.environ, "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO),
                                           os.environ.get("PYTHONPATH", "")])}


def _launch(args: list[str], script: list[str] | None = None) -> subprocess.CompletedProcess:
    """`vsumlab ARGS` in its own session (Lightning's launcher starts rank 1 as its child);
    whatever of that session is left when rank 0 ends is killed."""
    process = subprocess.Popen([sys.executable, *(script or ["-m", "vsumlab.cli.main"]), *args],
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _folds(out: Path) -> list[Path]:
    return sorted(p.relative_to(out) for p in out.glob("seed_*/fold_*"))


@pytest.mark.slow
def test_two_processes_train_each_replica_as_one_process_and_the_sequential_folds_do(
        small_tvsum_h5, tmp_path):
    seq, vec, ddp = tmp_path / "seq", tmp_path / "vec", tmp_path / "ddp"
    assert main(_args(small_tvsum_h5, seq, 0.0, "--replicas", "sequential")) == 0
    assert main(_args(small_tvsum_h5, vec, 0.0, "--replicas", "vectorized")) == 0
    done = _launch(_args(small_tvsum_h5, ddp, 0.0, *DDP))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("| human |") == 1  # one report: rank 0's, once
    record = json.loads((ddp / "replicas" / "replicas.json").read_text())
    assert record["world_size"] == 2 and record["ranks"] == [[[0, 0], [2, 0]], [[1, 0]]]
    for rank, names in enumerate((["fold0_seed0", "fold2_seed0"], ["fold1_seed0"])):
        saved = torch.load(ddp / "replicas" / "checkpoints" / f"rank{rank}" / "last.ckpt",
                           weights_only=True)
        assert saved["replicas"]["names"] == names and saved["epoch"] == 3
    assert not (ddp / "replicas" / "checkpoints" / "last.ckpt").exists()
    assert _folds(ddp) == _folds(seq) == _folds(vec) and len(_folds(ddp)) == 3
    for fold in _folds(ddp):
        got = read_predictions(ddp / fold / "predictions.h5")
        mine = json.loads((ddp / fold / "result.json").read_text())
        for other in (vec, seq):
            expected = read_predictions(other / fold / "predictions.h5")
            assert sorted(got) == sorted(expected)
            for key in expected:
                np.testing.assert_allclose(got[key], expected[key], atol=1e-5, rtol=0)
            theirs = json.loads((other / fold / "result.json").read_text())
            for metric, value in theirs["model"].items():
                assert mine["model"][metric] == pytest.approx(value, abs=1e-6)
            for metric, value in theirs["val"].items():
                assert mine["val"][metric] == pytest.approx(value, abs=1e-5)
            assert Path(mine["checkpoint"]).name == Path(theirs["checkpoint"]).name
        # the replica's rows, every epoch, also when process 1 trained it
        rows = (ddp / fold / "csv" / "metrics.csv").read_text().splitlines()
        assert rows[0].startswith("epoch,")
        epochs = {line.split(",")[0] for line in rows[1:]} - {""}  # "": the test row
        assert epochs == {"0", "1", "2", "3"}
    # torchrun starting both processes (Lightning joins them): the same replicas
    started = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "vsumlab.cli.main", *_args(small_tvsum_h5, tmp_path / "torchrun", 0.0, *DDP)],
        env=_env(), capture_output=True, text=True, timeout=600)
    assert started.returncode == 0, started.stderr[-3000:]
    for fold in _folds(ddp):
        got = read_predictions(tmp_path / "torchrun" / fold / "predictions.h5")
        for key, value in read_predictions(ddp / fold / "predictions.h5").items():
            np.testing.assert_allclose(got[key], value, atol=1e-5, rtol=0)
    want, got = ([r for r in json.loads((d / "results.json").read_text())["rows"]]
                 for d in (vec, ddp))
    assert [r["name"] for r in got] == [r["name"] for r in want]
    for row_got, row_want in zip(got, want):
        assert len(row_got["folds"]) == len(row_want["folds"]) == 3
        for fold_got, fold_want in zip(row_got["folds"], row_want["folds"]):
            assert fold_got == pytest.approx(fold_want, abs=1e-6)


@pytest.mark.slow
def test_two_processes_killed_after_an_epoch_resume_exactly(small_tvsum_h5, tmp_path):
    """With dropout (each process's random number generator state is part of its checkpoint)."""
    full, killed = tmp_path / "full", tmp_path / "killed"
    done = _launch(_args(small_tvsum_h5, full, 0.1, *DDP))
    assert done.returncode == 0, done.stderr[-3000:]
    os.environ["VSUMLAB_TEST_KILL_EPOCH"] = "1"  # read by both processes of the killed run
    try:
        attempt = _launch(_args(small_tvsum_h5, killed, 0.1, *DDP),
                          [str(REPO / "tests" / "training" / "_kill_after_epoch.py")])
    finally:
        del os.environ["VSUMLAB_TEST_KILL_EPOCH"]
    assert attempt.returncode == -signal.SIGKILL, attempt.stderr[-3000:]
    for rank in (0, 1):
        assert (killed / "replicas" / "checkpoints" / f"rank{rank}" / "last.ckpt").is_file()
    assert not list(killed.glob("seed_*/fold_*/result.json"))
    resumed = _launch(_args(small_tvsum_h5, killed, 0.1, *DDP))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _folds(killed) == _folds(full) and len(_folds(full)) == 3
    assert_same_fold_outputs(full, killed, _folds(full))
