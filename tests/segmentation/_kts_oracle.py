"""The straightforward KTS program, kept as the oracle for the fast implementation.

Gram matrix of L2-normalised features; c(i, e) = sum of the diagonal minus the block sum / length
for every segment; D[k, e] = least scatter of [0, e) in k + 1 segments, for every k up to the cap
(O(cap * n^2)); cost(m) = D[m, n]/n + vmax * m/(2n) * (log(n/m) + 1); argmin over m. Ties (values
within 1e-9 relative, i.e. float noise) go to the smallest m and, when tracing back, to the
smallest start of the last segment.
"""

from __future__ import annotations

import numpy as np

RTOL = 1e-9


def _first_min(values: np.ndarray) -> int:
    low = float(np.min(values))
    return int(np.flatnonzero(values <= low + RTOL * max(1.0, abs(low)))[0])


def segment_scatter_table(features: np.ndarray) -> np.ndarray:
    """c[i, e] for 0 <= i < e <= n, from the Gram matrix of the normalised rows."""
    x = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    gram = x @ x.T
    n = len(x)
    c = np.full((n + 1, n + 1), np.inf)
    for i in range(n):
        sub = gram[i:, i:]
        block_sums = np.cumsum(np.cumsum(sub, axis=0), axis=1).diagonal()  # [i, e) for e > i
        diag_sums = np.cumsum(sub.diagonal())
        lengths = np.arange(1, n - i + 1)
        c[i, i + 1 :] = diag_sums - block_sums / lengths
    return c


def oracle_kts(features: np.ndarray, max_change_points: int | None = None, vmax: float = 1.0):
    c = segment_scatter_table(features)
    n = c.shape[0] - 1
    cap = n - 1 if max_change_points is None else min(max_change_points, n - 1)
    table = np.full((cap + 1, n + 1), np.inf)
    last = np.zeros((cap + 1, n + 1), dtype=np.int64)
    table[0, 1:] = c[0, 1:]
    for k in range(1, cap + 1):
        for e in range(k + 1, n + 1):
            vals = table[k - 1, 1:e] + c[1:e, e]  # last segment [i, e), i >= 1
            i = 1 + _first_min(vals)
            table[k, e] = vals.min()
            last[k, e] = i
    m_all = np.arange(cap + 1)
    penalty = np.zeros(cap + 1)
    penalty[1:] = m_all[1:] / (2.0 * n) * (np.log(n / m_all[1:]) + 1.0)
    m = _first_min(table[:, n] / n + vmax * penalty)
    starts, e = [], n
    for k in range(m, 0, -1):
        e = int(last[k, e])
        starts.append(e)
    return np.array(starts[::-1], dtype=np.int64)
