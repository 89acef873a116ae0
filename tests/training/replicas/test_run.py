"""A vectorized `vsumlab cv` run: the sequential run's results folder and numbers, checkpoints
that load as any fold's, and the --replicas choice (auto falls back with one line, an explicit
choice that cannot be honoured is one error line with nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.main import main
from vsumlab.evaluation.predictions import read_predictions

REPO = Path(__file__).resolve().parents[3]
RECIPES = {name: REPO / "experiments" / "supervised" / f"{name}_tvsum.yaml"
           for name in ("transformer", "csta")}
NETS = {"transformer": '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, '
                       '"dropout": 0.0}',
        "csta": '{"embed_dim": 16, "trunk_channels": 4, "trunk_layers": 2, "head_hidden": 16, '
                '"dropout": 0.0}'}


def _args(name: str, data: Path, out: Path, *extra: str) -> list[str]:
    return ["cv", "--config", str(RECIPES[name]), "--out", str(out), "--deterministic",
            "--seeds", "0,1", "--wandb-mode", "disabled", "--reference-draws", "2",
            f"--data.init_args.dataset={data}", "--data.init_args.n_folds=2",
            "--data.init_args.batch_size=2", "--model.init_args.input_dim=64",
            f"--model.init_args.summarizer_args={NETS[name]}", "--trainer.accelerator=cpu",
            "--trainer.max_epochs=3", *extra]


def _folds(out: Path) -> list[Path]:
    return sorted(out.glob("seed_*/fold_*"))


@pytest.mark.parametrize(("name", "selection"), [("transformer", "last"), ("csta", "best_val")])
def test_vectorized_replicas_equal_the_sequential_folds(small_tvsum_h5, tmp_path, name,
                                                        selection) -> None:
    """2 folds x 2 seeds (6 training videos in batches of 2: the last batch holds 1, so
    replicas of different batch sizes share steps); dropout 0, deterministic."""
    protocol = f'--protocol={{"model_selection": "{selection}"}}'
    seq, vec = tmp_path / "seq", tmp_path / "vec"
    assert main(_args(name, small_tvsum_h5, seq, protocol, "--replicas", "sequential")) == 0
    assert main(_args(name, small_tvsum_h5, vec, protocol, "--replicas", "vectorized")) == 0
    assert (vec / "replicas" / "checkpoints" / "last.ckpt").is_file()
    assert [p.relative_to(vec) for p in _folds(vec)] == [p.relative_to(seq) for p in _folds(seq)]
    for fold_seq in _folds(seq):
        fold_vec = vec / fold_seq.relative_to(seq)
        expected, got = (read_predictions(f / "predictions.h5") for f in (fold_seq, fold_vec))
        assert sorted(got) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], atol=1e-5, rtol=0)
        a, b = (json.loads((f / "result.json").read_text()) for f in (fold_seq, fold_vec))
        assert set(a) == set(b)
        for metric, value in a["model"].items():
            assert b["model"][metric] == pytest.approx(value, abs=1e-6)
        for metric, value in a["val"].items():
            assert b["val"][metric] == pytest.approx(value, abs=1e-5)
        assert Path(b["checkpoint"]).name == Path(a["checkpoint"]).name  # same selected epoch
        assert b["references"] == a["references"] and b["data"] == a["data"]
        assert (fold_vec / "csv" / "metrics.csv").is_file()
    rows = [json.loads((d / "results.json").read_text())["rows"] for d in (seq, vec)]
    assert [r["name"] for r in rows[0]] == [r["name"] for r in rows[1]]


def test_replica_checkpoint_loads_as_a_fold_checkpoint(small_tvsum_h5, tmp_path) -> None:
    """summarize/eval load it (load_summarizer) and --model.init_args.pretrained takes its
    summarizer weights: it holds that replica's weights only."""
    from vsumlab.data.schema import read_dataset
    from vsumlab.models.loading import load_summarizer
    from vsumlab.models.summarizer import SummarizerModule, load_summarizer_weights

    out = tmp_path / "vec"
    assert main(_args("transformer", small_tvsum_h5, out, "--replicas", "vectorized")) == 0
    fold = out / "seed_1" / "fold_1"
    result = json.loads((fold / "result.json").read_text())
    module = load_summarizer(result["checkpoint"])
    predictions = read_predictions(fold / "predictions.h5")
    data = read_dataset(small_tvsum_h5)
    for key, expected in predictions.items():
        np.testing.assert_allclose(module.score_video(data[key].features), expected, atol=1e-6)
    fresh = SummarizerModule(summarizer_args=json.loads(NETS["transformer"]), input_dim=64)
    load_summarizer_weights(fresh.summarizer, result["checkpoint"])
    for key, value in module.summarizer.state_dict().items():
        assert torch.equal(fresh.summarizer.state_dict()[key], value)


NET = '''
from torch import nn


class ItemNet(nn.Module):
    """A valid summarizer whose forward reads a tensor's value: vmap refuses it."""

    def __init__(self, input_dim):
        super().__init__()
        self.score = nn.Linear(input_dim, 1)

    def forward(self, features, mask):
        longest = int(mask.sum(1).max())
        return self.score(features).squeeze(-1).masked_fill(~mask, 0.0) * (longest > 0)
'''


def _user_net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "item_net.py").write_text(NET)
    monkeypatch.syspath_prepend(str(code))
    return ["--model.init_args.summarizer=item_net.ItemNet",
            "--model.init_args.summarizer_args=null"]


def test_explicit_vectorized_refuses_a_network_vmap_cannot_run(small_tvsum_h5, tmp_path,
                                                               monkeypatch, capsys) -> None:
    out = tmp_path / "vec"
    args = _args("transformer", small_tvsum_h5, out, *_user_net(tmp_path, monkeypatch))
    capsys.readouterr()
    assert main([*args, "--replicas", "vectorized"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vsumlab: error: --replicas vectorized")
    assert "ItemNet" in err[0] and "vmap" in err[0]
    assert not out.exists()


def test_auto_trains_a_network_vmap_cannot_run_sequentially_saying_why_once(
        small_tvsum_h5, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "auto"
    args = _args("transformer", small_tvsum_h5, out, *_user_net(tmp_path, monkeypatch),
                 "--trainer.max_epochs=1")
    assert main(args) == 0
    notes = [line for line in capsys.readouterr().err.splitlines()
             if "--replicas auto" in line]
    assert len(notes) == 1 and notes[0].startswith("vsumlab: note:") and "ItemNet" in notes[0]
    assert len(_folds(out)) == 4 and not (out / "replicas").exists()


def test_unsupported_trainer_settings_are_named(small_tvsum_h5, tmp_path, capsys) -> None:
    out = tmp_path / "vec"
    args = _args("transformer", small_tvsum_h5, out, "--trainer.accumulate_grad_batches=2",
                 "--replicas", "vectorized")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trainer.accumulate_grad_batches=2" in err[0]
    assert not out.exists()


def test_a_rerun_reads_finished_replicas_and_says_they_were_skipped(small_tvsum_h5, tmp_path,
                                                                    capsys) -> None:
    """As a sequential rerun does: every finished (fold, seed) gets its line, marked skipped,
    and nothing trains again (the results are the first run's)."""
    out = tmp_path / "vec"
    args = _args("transformer", small_tvsum_h5, out, "--replicas", "vectorized",
                 "--trainer.max_epochs=1")
    assert main(args) == 0
    first = (out / "results.json").read_text()
    capsys.readouterr()
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines()
             if line.startswith("fold ")]
    assert len(lines) == 4 and all(line.endswith("(finished earlier: skipped)") for line in lines)
    assert (out / "results.json").read_text() == first
