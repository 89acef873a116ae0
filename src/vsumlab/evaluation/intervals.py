"""The interval every results table shows: a Student-t 95% interval of the mean over replicas.

A replica is one (split, seed) fold result. Its spread mixes how hard each split's test videos
are with how much training varies between seeds; the interval says how well the mean of those
replicas is pinned down, assuming they are independent draws. They are not quite (folds share
training videos), so it describes the spread honestly rather than licensing a comparison: a
comparison of two methods on the same splits is the paired test's job (../docs/EVALUATION.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: coverage of every interval the tables print
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """The mean of ``n`` values and the half-width of its Student-t interval (NaN for n < 2:
    one value says nothing about the spread)."""

    mean: float
    half_width: float
    n: int
    confidence: float = CONFIDENCE

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def defined(self) -> bool:
        return not math.isnan(self.half_width)


def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> Interval:
    """mean ± t_{(1+c)/2, n-1} · s / sqrt(n), with s the sample standard deviation (ddof=1).
    NaN values (an undefined rank correlation) are left out, as the metric's own mean does."""
    array = np.asarray(list(values), dtype=np.float64)
    array = array[~np.isnan(array)]
    n = int(array.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, confidence)
    mean = float(array.mean())
    if n < 2:
        return Interval(mean, math.nan, n, confidence)
    sem = float(array.std(ddof=1)) / math.sqrt(n)
    quantile = float(stats.t.ppf((1.0 + confidence) / 2.0, df=n - 1))
    return Interval(mean, quantile * sem, n, confidence)
