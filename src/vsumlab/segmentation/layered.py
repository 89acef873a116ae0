"""The layered dynamic program for every number of change points up to a cap.

``D[k, e]`` = least scatter of ``[0, e)`` cut into ``k + 1`` segments. All layers advance together
in one pass over segment ends, so each block of scatter columns is computed once. Cost is
``O(cap * n^2)`` time and ``O(cap * n)`` memory: KTS uses it only when a cap on the number of
change points binds, where the convex-hull search cannot certify the answer on its own.
"""

from __future__ import annotations

import numpy as np

from vsumlab.segmentation.penalized import BLOCK
from vsumlab.segmentation.scatter import TIE_RTOL, SegmentScatter


def layered_scatters(costs: SegmentScatter, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """``(S, last)``: ``S[m]`` least scatter with ``m`` change points (``m <= cap``) and the
    back-pointers for :func:`layered_change_points`. Ties go to the smallest segment start."""
    n = costs.n
    depth = cap + 1
    table = np.full((depth, n + 1), np.inf)
    last = np.zeros((depth, n + 1), dtype=np.int64)
    for e0 in range(0, n, BLOCK):
        e1 = min(e0 + BLOCK, n)
        block = costs.block(0, e0, e1)
        for e in range(e0 + 1, e1 + 1):
            col = block[:e, e - e0 - 1]
            table[0, e] = col[0]
            if depth == 1 or e == 1:
                continue
            # layer k >= 1: the last segment [i, e) starts at i >= 1
            vals = table[:-1, 1:e] + col[None, 1:]
            low = vals.min(axis=1)
            tol = TIE_RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(low), low, 0.0)))
            table[1:, e] = low
            last[1:, e] = 1 + np.argmax(vals <= (low + tol)[:, None], axis=1)
    return table[:, n], last


def layered_change_points(last: np.ndarray, m: int) -> np.ndarray:
    """The change points of the optimal ``m``-change-point segmentation from ``last``."""
    n = last.shape[1] - 1
    starts = []
    e = n
    for k in range(m, 0, -1):
        e = int(last[k, e])
        starts.append(e)
    return np.array(starts[::-1], dtype=np.int64)
