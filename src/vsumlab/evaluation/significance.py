"""Welch's t-test between repeated cross-validation rounds (visp.txt, section 4.3).

A "round" is one complete k-fold CV run with one seed; its score is the mean over its folds.
Two methods (e.g. CSTA and ViSP+CSTA) run for several seeds give two samples of round scores,
compared with Welch's unequal-variance t-test (``scipy.stats.ttest_ind(equal_var=False)``).

Rows are the ``results.json`` rows written by ``vsumlab cv`` (``folds`` with per-fold metrics and
``seeds`` naming the seed of each fold entry) or any object with ``to_dict()`` giving one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS


@dataclass(frozen=True)
class WelchResult:
    """Welch's t statistic (other minus base), its Welch-Satterthwaite degrees of freedom and
    two-sided p-value, with the sample means and sizes."""

    t: float
    dof: float
    p_value: float
    mean_base: float
    mean_other: float
    n_base: int
    n_other: int

    @property
    def difference(self) -> float:
        return self.mean_other - self.mean_base

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "difference": self.difference}


def welch_t_test(base: Sequence[float], other: Sequence[float]) -> WelchResult:
    """Welch's t-test of ``other`` against ``base`` (each needs at least 2 values)."""
    a = np.asarray(base, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    for name, values in (("base", a), ("other", b)):
        if values.ndim != 1 or values.size < 2:
            raise VsumError(
                f"Welch's t-test: the {name} sample needs at least 2 rounds (seeds), "
                f"got {values.size}; run `vsumlab cv` with --seeds of 2 or more values"
            )
        if not np.all(np.isfinite(values)):
            raise VsumError(f"Welch's t-test: the {name} sample has NaN or infinite values")
    result = stats.ttest_ind(b, a, equal_var=False)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    denom = va**2 / (a.size - 1) + vb**2 / (b.size - 1)
    dof = (va + vb) ** 2 / denom if denom > 0 else math.nan
    return WelchResult(
        t=float(result.statistic),
        dof=float(dof),
        p_value=float(result.pvalue),
        mean_base=float(a.mean()),
        mean_other=float(b.mean()),
        n_base=int(a.size),
        n_other=int(b.size),
    )


def _row_dict(row: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    return row.to_dict() if hasattr(row, "to_dict") else row


def round_scores(row: Mapping[str, Any] | Any, metric: str) -> list[float]:
    """Per-seed means of ``metric`` over a row's folds, in order of first appearance."""
    data = _row_dict(row)
    name = data.get("name", "row")
    if metric not in METRICS:
        raise VsumError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    folds = data.get("folds")
    if not folds:
        raise VsumError(f"results row '{name}': field 'folds' is missing or empty")
    seeds = data.get("seeds") or [None] * len(folds)
    if len(seeds) != len(folds):
        raise VsumError(
            f"results row '{name}': field 'seeds' has {len(seeds)} entries, expected one per "
            f"fold entry ({len(folds)})"
        )
    rounds: dict[Any, list[float]] = {}
    for seed, fold in zip(seeds, folds):
        rounds.setdefault(seed, []).append(float(fold[metric]))
    return [float(np.mean(values)) for values in rounds.values()]


def compare_rounds(
    base: Mapping[str, Any] | Any,
    other: Mapping[str, Any] | Any,
    metrics: Sequence[str] = METRICS,
) -> dict[str, WelchResult]:
    """Welch's t-test per metric between the CV rounds (seeds) of two results rows."""
    return {m: welch_t_test(round_scores(base, m), round_scores(other, m)) for m in metrics}


def format_comparison(base_name: str, other_name: str, results: Mapping[str, WelchResult]) -> str:
    """Markdown table of a comparison (for results.md)."""
    lines = [
        f"Welch's t-test, {other_name} vs {base_name} (one value per CV round / seed)",
        "",
        "| metric | base mean | other mean | difference | t | dof | p |",
        "|---|---|---|---|---|---|---|",
    ]
    for metric, r in results.items():
        lines.append(
            f"| {metric} | {r.mean_base:.4f} (n={r.n_base}) | {r.mean_other:.4f} (n={r.n_other})"
            f" | {r.difference:+.4f} | {r.t:.3f} | {r.dof:.1f} | {r.p_value:.4f} |"
        )
    return "\n".join(lines) + "\n"


def model_row(results: str | os.PathLike) -> Mapping[str, Any]:
    """The first model row of a results folder's ``results.json`` (or of that file)."""
    path = Path(results)
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise VsumError(f"{file}: no results.json (is the run finished?)")
    try:
        rows = json.loads(file.read_text())["rows"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VsumError(f"{file}: not a vsumlab results file ({exc.__class__.__name__})") from exc
    for row in rows:
        if row.get("kind", "model") == "model":
            return row
    raise VsumError(f"{file}: field 'rows' holds no model row")


def compare_results(
    base: str | os.PathLike, other: str | os.PathLike, metrics: Sequence[str] = METRICS
) -> str:
    """Welch's t-test table between the model rows of two results folders (several seeds)."""
    base_row, other_row = model_row(base), model_row(other)
    results = compare_rounds(base_row, other_row, metrics)
    return format_comparison(str(base_row["name"]), str(other_row["name"]), results)
