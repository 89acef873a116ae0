"""Loading a results folder: fold table, markdown, merged predictions, CSV curves."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from vsumlab.analysis.result_tables import (
    fold_curves,
    fold_predictions,
    fold_table,
    load_run,
    markdown_table,
)
from vsumlab.errors import VsumError
from vsumlab.evaluation.predictions import write_predictions
from vsumlab.training.fold_results import ResultRow, write_results


def _fold(out, fold: int, f1: float, val_f1: float, preds: dict) -> None:
    folder = out / "seed_default" / f"fold_{fold}"
    (folder / "csv").mkdir(parents=True)
    result = {
        "fold": fold, "seed": None,
        "model": {"f1": f1, "kendall": 0.1 * fold, "spearman": 0.2},
        "val": {"f1": val_f1, "kendall": 0.05, "spearman": 0.06, "mse": 0.1},
        "references": {"human": {"f1": 60.0, "kendall": 0.18, "spearman": 0.2},
                       "random": {"f1": 40.0, "kendall": 0.0, "spearman": 0.0}},
        "data": {"dataset": "data/x.h5", "n_test": len(preds)},
    }
    (folder / "result.json").write_text(json.dumps(result))
    write_predictions(folder / "predictions.h5", preds)
    (folder / "csv" / "metrics.csv").write_text(
        "epoch,step,train/loss,val/f1\n0,1,0.5,\n0,1,,30.0\n1,3,0.4,\n1,3,,35.5\n"
    )


@pytest.fixture
def run_folder(tmp_path):
    out = tmp_path / "run"
    _fold(out, 0, 50.0, 40.0, {"video_1": np.array([0.1, 0.9], np.float32)})
    _fold(out, 1, 60.0, 44.0, {"video_2": np.array([0.3, 0.2, 0.1], np.float32)})
    rows = [ResultRow("tiny", [{"f1": 50.0, "kendall": 0.0, "spearman": 0.2},
                               {"f1": 60.0, "kendall": 0.1, "spearman": 0.2}],
                      extra={"val_f1": 42.0})]
    write_results(out, rows, {"experiment": "tiny"}, "tiny")
    (out / "config.yaml").write_text(yaml.safe_dump(
        {"model": {"init_args": {"protocol": {"budget": 0.2}}}}))
    return out


def test_load_run_and_fold_table(run_folder) -> None:
    run = load_run(run_folder)
    assert run.title == "tiny" and run.model.extra["val_f1"] == 42.0
    assert run.dataset_path == "data/x.h5" and run.protocol_options == {"budget": 0.2}
    table = fold_table(run)
    assert [r["fold"] for r in table] == [0, 1]
    assert table[1]["test_f1"] == 60.0 and table[1]["val_f1"] == 44.0
    assert table[0]["human_f1"] == 60.0 and table[0]["random_f1"] == 40.0
    assert "val_mse" not in table[0]  # only the protocol's metrics
    text = markdown_table(table, ["fold", "test_f1", "val_f1"], digits=1)
    assert text.splitlines() == [
        "| fold | test_f1 | val_f1 |", "|---|---|---|",
        "| 0 | 50.0 | 40.0 |", "| 1 | 60.0 | 44.0 |",
    ]


def test_predictions_and_curves(run_folder) -> None:
    run = load_run(run_folder)
    preds = fold_predictions(run)
    assert sorted(preds) == ["video_1", "video_2"]
    assert preds["video_2"].tolist() == pytest.approx([0.3, 0.2, 0.1])
    curves = fold_curves(run, "val/f1")
    epochs, values = curves["fold 1"]
    assert epochs.tolist() == [0, 1] and values.tolist() == [30.0, 35.5]


def test_missing_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(VsumError, match="results folder not found"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VsumError, match="no results.json"):
        load_run(tmp_path / "empty")


def test_por_by_split_and_the_spread_over_replicas(run_folder) -> None:
    from vsumlab.analysis.result_tables import por_by_split, replica_spread

    run = load_run(run_folder)
    # each fold's F1 against the random F1 of its own test videos (40 on both): 125, 150
    assert [(r["fold"], r["f1"], r["random_f1"]) for r in por_by_split(run)] == [
        (0, 50.0, 40.0), (1, 60.0, 40.0)]
    assert [r["por"] for r in por_by_split(run)] == pytest.approx([125.0, 150.0])
    spread = replica_spread(run)
    # F1 50, 60: mean 55, s = 7.0711, t(0.975, 1) = 12.7062 -> ± 63.53; PoR 125, 150: s/sqrt(2) = 12.5 -> 137.5 ± 158.83
    assert spread["f1"]["n"] == 2 and spread["f1"]["mean"] == 55.0
    assert spread["f1"]["ci95"] == pytest.approx(63.531024, abs=1e-5)
    assert (spread["f1"]["min"], spread["f1"]["max"]) == (50.0, 60.0)
    assert spread["por"]["mean"] == pytest.approx(137.5)
    assert spread["por"]["ci95"] == pytest.approx(158.827559, abs=1e-4)
