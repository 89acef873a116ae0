"""Cross-validation results: per-fold rows, means, spreads, and the markdown/JSON tables."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import write_json_atomic, write_text_atomic

REFERENCE_ROWS = ("random", "uniform", "human")


@dataclass
class ResultRow:
    """One model or reference: per-fold metrics (F1 in percent) and their mean and spread."""

    name: str
    folds: list[dict[str, float]]
    kind: str = "model"  # model | reference
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        return float(np.mean([f[metric] for f in self.folds])) if self.folds else float("nan")

    def std(self, metric: str) -> float:
        return float(np.std([f[metric] for f in self.folds])) if self.folds else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for metric in METRICS:
            out[metric] = self.mean(metric)
            out[f"{metric}_std"] = self.std(metric)
        out["folds"] = [{m: float(f[m]) for m in METRICS} for f in self.folds]
        if self.note:
            out["note"] = self.note
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRow:
        known = {"name", "kind", "folds", "note", *METRICS, *(f"{m}_std" for m in METRICS)}
        return cls(
            name=data["name"],
            folds=[dict(f) for f in data["folds"]],
            kind=data.get("kind", "model"),
            note=data.get("note", ""),
            extra={k: v for k, v in data.items() if k not in known},
        )


def format_table(rows: Sequence[ResultRow], title: str = "") -> str:
    """Markdown table: mean +- std over folds for each metric, and the fold count."""
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += [
        "| method | F1 (%) | Kendall tau | Spearman rho | folds |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        name = row.name + (f" ({row.note})" if row.note else "")
        cells = [
            f"{row.mean('f1'):.2f} ± {row.std('f1'):.2f}",
            f"{row.mean('kendall'):.3f} ± {row.std('kendall'):.3f}",
            f"{row.mean('spearman'):.3f} ± {row.std('spearman'):.3f}",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {len(row.folds)} |")
    lines += _ranked_lines(rows)
    return "\n".join(lines) + "\n"


def _ranked_lines(rows: Sequence[ResultRow]) -> list[str]:
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
    out_dir = Path(out_dir)
    payload = {"title": title, **meta, "rows": [row.to_dict() for row in rows]}
    write_json_atomic(out_dir / "results.json", payload)
    write_text_atomic(out_dir / "results.md", format_table(rows, title))


def read_results(path: str | os.PathLike) -> tuple[str, list[ResultRow], dict[str, Any]]:
    """Rows of a results folder (or its results.json)."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise VsumError(f"{file}: no results.json (is the run finished?)")
    try:
        data = json.loads(file.read_text())
        rows = [ResultRow.from_dict(row) for row in data["rows"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VsumError(f"{file}: not a vsumlab results file ({exc.__class__.__name__})") from exc
    meta = {k: v for k, v in data.items() if k != "rows"}
    return str(data.get("title", path.name)), rows, meta


def merge_rows(results: Iterable[list[ResultRow]]) -> list[ResultRow]:
    """Model rows of every results folder, then the reference rows of the first one."""
    results = list(results)
    models = [row for rows in results for row in rows if row.kind == "model"]
    references = [row for row in (results[0] if results else []) if row.kind == "reference"]
    return models + references
