"""The layered dynamic program for every number of change points up to a cap.

``D[k, e]`` = least scatter of ``[0, e)`` cut into ``k + 1`` segments. All layers advance together
in one pass over blocks of segment ends, so each block of scatter columns is computed once. Cost is
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
        block = costs.block(0, e0, e1)  # rows i < e1; inf where i >= e
        table[0, e0 + 1 : e1 + 1] = block[0]
        # layer by layer over the whole block: layer k - 1 of this block is complete first
        for k in range(1, min(depth, e1)):
            vals = table[k - 1, k:e1, None] + block[k:e1]  # D[k-1, i] is finite for i >= k
            low = vals.min(axis=0)
            tol = TIE_RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(low), low, 0.0)))
            table[k, e0 + 1 : e1 + 1] = low
            last[k, e0 + 1 : e1 + 1] = k + np.argmax(vals <= low + tol, axis=0)
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
