"""Comparing two methods: a paired t-test over shared replicas, else Welch's t-test over rounds.

A *replica* is one fold entry of a results row: one train/test split trained with one seed.
When two runs hold the same (split, seed) replicas (their folds record identical train/test
videos, :class:`Replicas`), each replica gives a pair of scores and :func:`compare_models` runs
the paired t-test (``scipy.stats.ttest_rel``) over the differences: the split's difficulty,
shared by both methods, cancels out. Otherwise the runs' replicas cannot be paired and it falls
back to Welch's unequal-variance t-test (``scipy.stats.ttest_ind(equal_var=False)``) between
their *rounds* (visp.txt, section 4.3): a round is one complete CV with one seed, scored by the
mean over its folds; every result names the test that ran and, for Welch, why it was not paired
(docs/EVALUATION.md, "Comparing two methods").

Rows are the ``results.json`` rows written by ``vsumlab cv`` (``folds`` with per-fold metrics and
``seeds`` naming the seed of each fold entry) or any object with ``to_dict()`` giving one.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import parse_json

WELCH = "Welch's t-test"
PAIRED = "paired t-test"


@dataclass(frozen=True)
class WelchResult:
    """A t-test of other minus base: t, degrees of freedom, two-sided p-value, the sample means
    and sizes; ``test`` names it (Welch's: Welch-Satterthwaite dof; paired: n_pairs - 1, with
    ``n_base == n_other`` the number of pairs) and ``note`` says why a Welch test is unpaired."""

    t: float
    dof: float
    p_value: float
    mean_base: float
    mean_other: float
    n_base: int
    n_other: int
    test: str = WELCH
    note: str = ""

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


def paired_t_test(base: Sequence[float], other: Sequence[float]) -> WelchResult:
    """Paired t-test of ``other`` against ``base``, pair i being (base[i], other[i]): t is the
    mean difference over its standard error, ``n - 1`` degrees of freedom (at least 2 pairs)."""
    a = np.asarray(base, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise VsumError(f"paired t-test: expected two samples of equal length, got {a.size} and "
                        f"{b.size} values")
    if a.size < 2:
        raise VsumError(f"paired t-test: needs at least 2 pairs (replicas), got {a.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise VsumError("paired t-test: a sample has NaN or infinite values")
    result = stats.ttest_rel(b, a)
    return WelchResult(t=float(result.statistic), dof=float(a.size - 1),
                       p_value=float(result.pvalue), mean_base=float(a.mean()),
                       mean_other=float(b.mean()), n_base=int(a.size), n_other=int(b.size),
                       test=PAIRED)


@dataclass(frozen=True)
class Replicas:
    """What each fold entry of a results row is, in the row's order: a key naming its split and
    seed (e.g. ``(split digest, seed)``), or None with the reason it is not known."""

    keys: tuple[Hashable, ...] | None
    missing: str = ""


def replica_pairs(base: Replicas, other: Replicas) -> tuple[list[tuple[int, int]] | None, str]:
    """Index pairs (base fold entry, other fold entry) of identical replicas when both runs hold
    the same replicas (a key repeated within a run pairs in order of appearance); else None and
    why they cannot be paired."""
    for name, replicas in (("base", base), ("other", other)):
        if replicas.keys is None:
            return None, f"the {name} run's splits are not known ({replicas.missing})"
    assert base.keys is not None and other.keys is not None
    if Counter(base.keys) != Counter(other.keys):
        shared = sum((Counter(base.keys) & Counter(other.keys)).values())
        return None, (f"the runs do not share their (split, seed) replicas ({shared} of "
                      f"{len(base.keys)} and {len(other.keys)} in common)")
    positions: dict[Hashable, list[int]] = {}
    for index, key in enumerate(other.keys):
        positions.setdefault(key, []).append(index)
    return [(index, positions[key].pop(0)) for index, key in enumerate(base.keys)], ""


def compare_models(
    base: Mapping[str, Any] | Any,
    other: Mapping[str, Any] | Any,
    base_replicas: Replicas,
    other_replicas: Replicas,
    metrics: Sequence[str] = METRICS,
) -> dict[str, WelchResult] | None:
    """Per metric: the paired t-test over the replicas both runs share (all of them, at least
    2), else Welch's t-test over their rounds (at least 2 seeds each), noting why it is not
    paired; None when neither can run."""
    pairs, reason = replica_pairs(base_replicas, other_replicas)
    if pairs is not None and len(pairs) < 2:
        pairs, reason = None, f"only {len(pairs)} shared replica"
    if pairs is not None:
        a, b = _row_dict(base)["folds"], _row_dict(other)["folds"]
        if len(a) != len(base_replicas.keys or ()) or len(b) != len(other_replicas.keys or ()):
            raise VsumError("compare_models: each fold entry needs one replica key")
        return {m: paired_t_test([float(a[i][m]) for i, _ in pairs],
                                 [float(b[j][m]) for _, j in pairs]) for m in metrics}
    if len(round_scores(base, metrics[0])) < 2 or len(round_scores(other, metrics[0])) < 2:
        return None
    return {m: _noted(r, reason) for m, r in compare_rounds(base, other, metrics).items()}


def _noted(result: WelchResult, note: str) -> WelchResult:
    return WelchResult(**{**asdict(result), "note": note})


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
    """Markdown table of a comparison (for results.md): which test ran, on what, and why a
    Welch test is not paired."""
    first = next(iter(results.values()), None)
    if first is not None and first.test == PAIRED:
        lines = [f"Paired t-test (scipy.stats.ttest_rel), {other_name} vs {base_name} over "
                 f"{first.n_base} (split, seed) replicas both runs share (identical train/test "
                 "videos and seed); n = pairs, difference = mean of other - base"]
    else:
        lines = [f"Welch's t-test, {other_name} vs {base_name} (one value per CV round / seed)"]
        if first is not None and first.note:
            lines.append(f"Not paired: {first.note}.")
    lines += [
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
        rows = parse_json(file.read_text(encoding="utf-8"), file)["rows"]
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
