"""Made-up cv results folders for the table tests (hand-chosen values, no training)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

PROTOCOL = {"budget": 0.15, "capacity_from": "n_frames", "knapsack_values": "exact",
            "tie_break": "exclude", "length_mismatch": "n_frames", "f1_reduction": "auto",
            "rank_rate": "full", "rank_stride": 15, "rank_annotations": "auto",
            "model_selection": "last", "preset": None}


def comparison(method: str, dataset: str, setting: str = "canonical",
               split: str = "2 folds, split seed 0", **extra: Any) -> dict[str, Any]:
    return {"method": method, "dataset": dataset, "dataset_path": f"data/{dataset}.h5",
            "setting": setting, "split_source": split, "protocol": PROTOCOL, **extra}


def _folds(f1: Sequence[float]) -> list[dict[str, float]]:
    return [{"f1": v, "kendall": 0.1, "spearman": 0.2} for v in f1]


def write_run(folder: Path, f1: Sequence[float], random: Sequence[float], *,
              name: str = "exp", compared: dict[str, Any] | None = None,
              fold_ids: Sequence[int] | None = None, seeds: Sequence[Any] | None = None,
              human: float = 70.0) -> Path:
    """results.json of a run: a model row and its random, uniform and human rows."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = list(fold_ids) if fold_ids is not None else list(range(len(f1)))
    extra = {"fold_ids": ids, "seeds": list(seeds) if seeds is not None else [None] * len(f1)}
    rows = [{"name": name, "kind": "model", "folds": _folds(f1), **extra},
            {"name": "random", "kind": "reference", "folds": _folds(random)},
            {"name": "uniform", "kind": "reference", "folds": _folds([50.0] * len(f1))},
            {"name": "human", "kind": "reference", "folds": _folds([human] * len(f1))}]
    payload: dict[str, Any] = {"title": name, "experiment": name, "rows": rows}
    if compared is not None:
        payload["comparison"] = compared
    (folder / "results.json").write_text(json.dumps(payload))
    return folder


def write_old_run(folder: Path, f1: Sequence[float], random: Sequence[float], *,
                  name: str, model: dict[str, Any], data: dict[str, Any],
                  in_fold_results: bool = True) -> Path:
    """A folder written before results.json recorded the run's description: its config.yaml
    and (unless ``in_fold_results`` is False: older still) each fold's result.json."""
    write_run(folder, f1, random, name=name)
    payload = json.loads((folder / "results.json").read_text())
    for row in payload["rows"]:
        row.pop("fold_ids", None)  # older rows did not record their splits
    (folder / "results.json").write_text(json.dumps(payload))
    init = {"dataset": data["dataset"], "setting": data.get("setting", "canonical"),
            "n_folds": data.get("n_folds", 2), "split_seed": 0,
            "split_file": data.get("split_file"), "extra_datasets": None}
    model = {**model, "init_args": {"protocol": None, **model.get("init_args", {})}}
    config = {"model": model, "data": {"class_path": "SummarizationDataModule",
                                       "init_args": init}}
    (folder / "config.yaml").write_text("# vsumlab cv\n" + yaml.safe_dump(config))
    if in_fold_results:
        for fold, (a, b) in enumerate(zip(f1, random, strict=True)):
            fold_dir = folder / "seed_default" / f"fold_{fold}"
            fold_dir.mkdir(parents=True)
            result = {"fold": fold, "seed": None, "model": _folds([a])[0],
                      "references": {"random": _folds([b])[0]}, "protocol": PROTOCOL,
                      "seeds": {"seed_everything": 0, "split_seed": 0},
                      "data": {"dataset": init["dataset"], "setting": init["setting"],
                               "split_file": init["split_file"], "fold": fold}}
            (fold_dir / "result.json").write_text(json.dumps(result))
    return folder
