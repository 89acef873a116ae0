"""Cross-validation results: per-fold rows and the results files (results.json, results.md).

The report the tables show (intervals, PoR, reference rows) is
:mod:`vsumlab.training.result_report`."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import write_json_atomic, write_text_atomic

REFERENCE_ROWS = ("random", "uniform", "human")
#: what write_results adds to each row from the report (recomputed, never read back)
REPORT_FIELDS = ("label", "n", "por", "por_ci95", "por_per_split",
                 *(f"{m}_ci95" for m in METRICS))


@dataclass
class ResultRow:
    """One model or reference: per-fold metrics (F1 in percent) and their mean and spread."""

    name: str
    folds: list[dict[str, float]]
    kind: str = "model"  # model | reference
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self, metric: str) -> list[float]:
        """The metric on every fold result (NaN where an older file lacks it)."""
        return [float(f.get(metric, math.nan)) for f in self.folds]

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values(metric))) if self.folds else float("nan")

    def std(self, metric: str) -> float:
        return float(np.std(self.values(metric))) if self.folds else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for metric in METRICS:
            out[metric] = self.mean(metric)
            out[f"{metric}_std"] = self.std(metric)
        out["folds"] = [{m: float(f.get(m, math.nan)) for m in METRICS} for f in self.folds]
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRow:
        known = {"name", "kind", "folds", "note", *METRICS, *(f"{m}_std" for m in METRICS),
                 *REPORT_FIELDS}
        folds = data["folds"]
        if not isinstance(folds, list) or not all(isinstance(f, Mapping) for f in folds):
            raise TypeError("folds must be a list of metric mappings")
        return cls(
            name=str(data["name"]),
            folds=[dict(f) for f in folds],
            kind=data.get("kind", "model"),
            note=data.get("note", ""),
            extra={k: v for k, v in data.items() if k not in known},
        )


def format_table(rows: Sequence[ResultRow], title: str = "",
                 meta: Mapping[str, Any] | None = None) -> str:
    """The report of one run's rows (:mod:`vsumlab.training.result_report`): mean ± 95%
    interval over replicas, n, PoR, and the run's reference rows."""
    from vsumlab.training.result_report import format_run

    return format_run(rows, title, meta or {})


def ranked_lines(rows: Sequence[ResultRow]) -> list[str]:
    """Which annotations the rank correlations compared with (rows of older results folders
    do not record it: "not recorded")."""
    ranked = {row.name: row.extra.get("ranked_by") or "not recorded" for row in rows}
    if not rows or set(ranked.values()) == {"not recorded"}:
        return []
    if len(set(ranked.values())) == 1:
        return ["", f"Rank correlation against: {next(iter(ranked.values()))}."]
    listed = "; ".join(f"{name}: {value}" for name, value in ranked.items())
    return ["", f"Rank correlation against: {listed}."]


def write_results(
    out_dir: str | os.PathLike, rows: Sequence[ResultRow], meta: Mapping[str, Any], title: str
) -> None:
    """results.json (each row with its report figures added: label, n, intervals, PoR) and
    results.md (the report), both atomically."""
    from vsumlab.training.result_report import report_fields

    out_dir = Path(out_dir)
    figures = report_fields(rows, meta)
    payload = {"title": title, **meta,
               "rows": [{**row.to_dict(), **extra} for row, extra in zip(rows, figures, strict=True)]}
    write_json_atomic(out_dir / "results.json", payload)
    write_text_atomic(out_dir / "results.md", format_table(rows, title, meta))


def read_results(path: str | os.PathLike) -> tuple[str, list[ResultRow], dict[str, Any]]:
    """Rows of a results folder (or its results.json)."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise VsumError(f"{file}: no results.json (is the run finished?)")
    try:
        data = json.loads(file.read_text())
        rows = [ResultRow.from_dict(row) for row in data["rows"]]
    except (ValueError, KeyError, TypeError) as exc:  # ValueError: bad JSON or UTF-8
        raise VsumError(f"{file}: not a vsumlab results file ({exc.__class__.__name__})") from exc
    meta = {k: v for k, v in data.items() if k != "rows"}
    return str(data.get("title", path.name)), rows, meta
