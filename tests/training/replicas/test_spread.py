"""With the recipe's dropout (each replica's dropout draws differ from its sequential fold's),
the vectorized mean over 5 folds x 3 seeds lies within the sequential runs' spread."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, stdev

import pytest

from vsumlab.cli.main import main

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "experiments" / "supervised" / "transformer_tvsum.yaml"
NET = '{"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32, "dropout": 0.1}'


@pytest.mark.slow
def test_vectorized_mean_lies_within_the_sequential_spread(small_tvsum_h5, tmp_path) -> None:
    def run(mode: str) -> list[dict]:
        out = tmp_path / mode
        assert main(["cv", "--config", str(RECIPE), "--out", str(out), "--seeds", "0,1,2",
                     "--replicas", mode, "--wandb-mode", "disabled", "--reference-draws", "2",
                     f"--data.init_args.dataset={small_tvsum_h5}",
                     "--data.init_args.batch_size=2", "--model.init_args.input_dim=64",
                     f"--model.init_args.summarizer_args={NET}", "--trainer.accelerator=cpu",
                     "--trainer.max_epochs=4"]) == 0
        return [json.loads(p.read_text())["model"] for p in out.glob("seed_*/fold_*/result.json")]

    sequential, vectorized = run("sequential"), run("vectorized")
    assert len(sequential) == len(vectorized) == 15
    for metric in ("f1", "kendall"):
        values = [r[metric] for r in sequential]
        assert abs(mean(r[metric] for r in vectorized) - mean(values)) <= stdev(values), metric
