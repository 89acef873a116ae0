"""Cross-validation results: per-fold rows and the results files (results.json, results.md).

The report the tables show (intervals, PoR, reference rows) is
:mod:`vsumlab.training.result_report`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vsumlab.errors import ConfigError, VsumError, printable
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import parse_json, read_json, write_json_atomic, write_text_atomic

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
        data = parse_json(file.read_text(encoding="utf-8"), file)
        rows = [ResultRow.from_dict(row) for row in data["rows"]]
    except ConfigError as exc:  # not JSON, or a key twice
        raise VsumError(f"{file}: not a vsumlab results file: "
                        f"{str(exc).removeprefix(f'{file}: ')}") from exc
    except (ValueError, KeyError, TypeError) as exc:  # ValueError: UTF-8
        raise VsumError(f"{file}: not a vsumlab results file ({exc.__class__.__name__})") from exc
    meta = {k: v for k, v in data.items() if k != "rows"}
    return str(data.get("title", path.name)), rows, meta


#: what a refused fold result.json's message tells the user to do
FOLD_RESULT_HINT = ("it records a finished fold: remove it to run the fold again, or pass --force "
                    "to start the run afresh")


def read_fold_result(path: str | os.PathLike) -> dict[str, Any]:
    """A finished fold's ``result.json`` (written by ``vsumlab cv``), checked for what the run's
    results are computed from: ``fold`` an integer, ``model`` and each of ``references`` a
    mapping of every metric to a number. A truncated, empty or edited file is refused with one
    line naming the file and key (it would otherwise fail as a KeyError after every fold ran)."""
    path = Path(path)
    where = printable(path)
    try:
        data = read_json(path, "fold result")
    except ConfigError as exc:
        raise VsumError(f"{exc}; {FOLD_RESULT_HINT}") from exc
    if not isinstance(data, dict):
        raise VsumError(f"{where}: expected a JSON object, got {type(data).__name__}; "
                        f"{FOLD_RESULT_HINT}")

    def fail(key: str, expected: str) -> VsumError:
        got = data.get(key, "nothing") if "." not in key else "another value"
        return VsumError(f"{where}: key '{key}': expected {expected}, got {str(got)[:40]}; "
                         f"{FOLD_RESULT_HINT}")

    if not isinstance(data.get("fold"), int) or isinstance(data.get("fold"), bool):
        raise fail("fold", "the fold's number")
    if data.get("seed") is not None and not isinstance(data.get("seed"), int):
        raise fail("seed", "the seed (an integer) or null")
    if not isinstance(data.get("model_selection"), str):
        raise fail("model_selection", "how the model was selected (text)")

    def metrics(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(value.get(m), int | float) and not isinstance(value.get(m), bool)
            for m in METRICS)

    wanted = f"a mapping of {', '.join(METRICS)} to numbers"
    if not metrics(data.get("model")):
        raise fail("model", wanted)
    references = data.get("references")
    if not isinstance(references, dict):
        raise fail("references", f"a mapping of reference names to {wanted}")
    for name, value in references.items():
        if not metrics(value):
            raise fail(f"references.{name}", wanted)
    return data
