"""Exact segmentation under a linear penalty per change point (optimal partitioning + PELT).

``F[e] = min_i F[i] + c(i, e) + penalty`` over segment starts ``i < e``; the minimiser of
``scatter + penalty * m`` over all segmentations. Scatter is superadditive
(``c(i, t) >= c(i, e) + c(e, t)``: the union's mean is a feasible centre for each part), so a
start ``i`` with ``F[i] + c(i, e) > F[e]`` can never be optimal later and is dropped (PELT,
Killick et al. 2012) without changing the answer.

Ties (within :func:`tie_tolerance`) go to the smallest last change point, then recursively to
the smallest in the prefix: the same rule as the plain layered dynamic program, so both return
the same segmentation among equally good ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsumlab.segmentation.scatter import SegmentScatter, tie_tolerance

#: end positions per block of scatter columns (one BLAS product each)
BLOCK = 128


@dataclass(frozen=True)
class Partition:
    change_points: np.ndarray  # sorted int64 segment starts, 0 excluded
    scatter: float  # total within-segment scatter

    @property
    def m(self) -> int:
        return int(self.change_points.size)


def backtrack(last: np.ndarray, end: int) -> np.ndarray:
    """Segment starts (0 excluded) from ``last[e]`` = start of the segment that ends at ``e``."""
    starts = []
    e = int(end)
    while e > 0:
        e = int(last[e])
        if e > 0:
            starts.append(e)
    return np.array(starts[::-1], dtype=np.int64)


def penalized_partition(costs: SegmentScatter, penalty: float) -> Partition:
    """Segmentation minimising ``scatter + penalty * n_change_points`` (``penalty >= 0``)."""
    n = costs.n
    best = np.empty(n + 1)
    best[0] = -penalty  # the first segment is not a change point
    last = np.zeros(n + 1, dtype=np.int64)
    buf = np.zeros(n + 1, dtype=np.int64)  # candidate starts, ascending
    cand = buf[:1]
    for e0 in range(0, n, BLOCK):
        e1 = min(e0 + BLOCK, n)
        r0 = int(cand[0])  # candidates only grow from here on within the block
        block = costs.block(r0, e0, e1)
        for e in range(e0 + 1, e1 + 1):
            vals = best[cand]
            vals += block[cand - r0, e - e0 - 1]
            low = float(vals.min())
            tol = tie_tolerance(low + penalty)
            last[e] = cand[np.argmax(vals <= low + tol)]
            best[e] = low + penalty
            # PELT: keep i unless F[i] + c(i, e) > F[e] beyond float noise
            kept = cand[vals <= best[e] + tol]
            buf[: kept.size] = kept
            buf[kept.size] = e
            cand = buf[: kept.size + 1]
    change_points = backtrack(last, n)
    return Partition(change_points, costs.segmentation_scatter(change_points))
