"""A cv results folder as the notebooks see it: rows, per-fold results, PoR per split, the
spread over replicas, predictions, curves."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import read_json
from vsumlab.training.fold_results import ResultRow, read_results


@dataclass
class RunView:
    """Everything `vsumlab cv` wrote into one results folder."""

    folder: Path
    title: str
    rows: list[ResultRow]
    meta: dict[str, Any]
    folds: list[dict[str, Any]]  # each fold's result.json, plus "dir"
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> ResultRow:
        return next(row for row in self.rows if row.kind == "model")

    @property
    def dataset_path(self) -> str | None:
        for fold in self.folds:
            path = (fold.get("data") or {}).get("dataset")
            if path:
                return str(path)
        return self.config.get("data", {}).get("init_args", {}).get("dataset")

    @property
    def protocol_options(self) -> dict[str, Any] | None:
        return self.config.get("model", {}).get("init_args", {}).get("protocol")


def load_run(folder: str | os.PathLike) -> RunView:
    """Read a results folder (results.json, config.yaml, environment.json, fold results)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VsumError(f"{folder}: results folder not found (run `vsumlab cv` first)")
    title, rows, meta = read_results(folder)
    folds = []
    for result in sorted(folder.glob("seed_*/fold_*/result.json")):
        data = read_json(result, "fold result")
        data["dir"] = str(result.parent)
        folds.append(data)
    folds.sort(key=lambda f: (str(f.get("seed")), int(f["fold"])))
    config_file, env_file = folder / "config.yaml", folder / "environment.json"
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    environment = read_json(env_file, "environment record") if env_file.is_file() else {}
    return RunView(folder, title, rows, meta, folds, config or {}, environment)


def fold_table(run: RunView) -> list[dict[str, Any]]:
    """One row per fold (and seed): test metrics, validation metrics, reference F1s."""
    table = []
    for fold in run.folds:
        row: dict[str, Any] = {"seed": fold.get("seed"), "fold": fold["fold"]}
        row.update({f"test_{m}": fold["model"][m] for m in METRICS})
        for metric, value in (fold.get("val") or {}).items():
            if metric in METRICS:
                row[f"val_{metric}"] = value
        for name, ref in fold.get("references", {}).items():
            row[f"{name}_f1"] = ref["f1"]
        row["n_test"] = (fold.get("data") or {}).get("n_test")
        table.append(row)
    return table


def por_by_split(run: RunView) -> list[dict[str, Any]]:
    """The Performance-over-Random picture: per replica (split and seed), the model's F1, the
    random summarizer's expected F1 on the same test videos, and their ratio (PoR, percent)."""
    from vsumlab.evaluation.over_random import performance_over_random

    table = []
    for fold in run.folds:
        f1 = float(fold["model"]["f1"])
        random_f1 = float(((fold.get("references") or {}).get("random") or {}).get("f1", math.nan))
        table.append({"seed": fold.get("seed"), "fold": fold["fold"], "f1": f1,
                      "random_f1": random_f1, "por": performance_over_random(f1, random_f1)})
    return table


def replica_spread(run: RunView) -> dict[str, dict[str, float]]:
    """Per metric (and PoR), the spread over the replicas (one per split and seed): mean, the
    95% Student-t interval (half-width, low, high), standard deviation, min, max and n."""
    from vsumlab.evaluation.intervals import t_interval

    columns: dict[str, list[float]] = {m: [float(f["model"][m]) for f in run.folds]
                                       for m in METRICS}
    columns["por"] = [row["por"] for row in por_by_split(run)]
    spread = {}
    for name, values in columns.items():
        interval = t_interval(values)
        finite = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
        spread[name] = {
            "mean": interval.mean, "ci95": interval.half_width, "low": interval.low,
            "high": interval.high, "n": interval.n,
            "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
            "min": float(finite.min()) if finite.size else math.nan,
            "max": float(finite.max()) if finite.size else math.nan,
        }
    return spread


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return "" if value is None else str(value)


def markdown_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, digits: int = 3
) -> str:
    """A markdown table of dict rows (columns: the union of keys in first-seen order)."""
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c), digits) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def fold_predictions(run: RunView, seed: Any = "first") -> dict[str, np.ndarray]:
    """Test-fold step scores of every video (each is tested once per seed): key -> scores."""
    from vsumlab.evaluation.predictions import read_predictions

    seeds = [f.get("seed") for f in run.folds]
    chosen = seeds[0] if seed == "first" and seeds else seed
    merged: dict[str, np.ndarray] = {}
    for fold in run.folds:
        if fold.get("seed") != chosen:
            continue
        path = Path(fold["dir"]) / "predictions.h5"
        if path.is_file():
            merged.update(read_predictions(path))
    return merged


def fold_curves(run: RunView, metric: str = "val/f1") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per fold, (epochs, values) of a metric from the fold's CSV log (csv/metrics.csv)."""
    curves = {}
    for fold in run.folds:
        path = Path(fold["dir"]) / "csv" / "metrics.csv"
        if not path.is_file():
            continue
        epochs, values = [], []
        with path.open() as handle:
            for row in csv.DictReader(handle):
                if row.get(metric) not in (None, "") and row.get("epoch") not in (None, ""):
                    epochs.append(int(float(row["epoch"])))
                    values.append(float(row[metric]))
        label = f"fold {fold['fold']}" + (f" seed {fold['seed']}" if fold.get("seed") else "")
        curves[label] = (np.asarray(epochs), np.asarray(values))
    return curves
