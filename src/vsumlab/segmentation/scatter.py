"""Within-segment scatter of L2-normalised features under the linear kernel.

The scatter of segment ``[i, e)`` is ``sum_t ||x_t||^2 - ||sum_t x_t||^2 / (e - i)``: the sum of
squared distances to the segment mean, i.e. KTS's ``sum_t K_tt - (1/L) sum_{s,t} K_st`` for the
Gram matrix ``K = X X^T``. It is computed from prefix sums in column blocks, so the n x n Gram
matrix (400 MB at 7,200 steps) is never held in memory.
"""

from __future__ import annotations

import numpy as np

#: values within this relative distance of a minimum count as ties (float noise, not a choice)
TIE_RTOL = 1e-9
#: scatter blocks kept for reuse across penalised runs (they ask for the same blocks)
CACHE_BYTES = 128 * 2**20
#: rows normalised and summed at a time while building the prefix sums
PREFIX_CHUNK = 512


def tie_tolerance(value: float) -> float:
    """Absolute tolerance under which two objective values near ``value`` are treated as equal."""
    return TIE_RTOL * max(1.0, abs(value))


def l2_normalize(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, in float64; all-zero rows stay zero (no direction to keep)."""
    x = np.array(features, dtype=np.float64)  # a copy, normalised in place
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


class SegmentScatter:
    """Scatter ``c(i, e)`` of every segment ``[i, e)`` of the L2-normalised rows of ``features``.

    Only the (n + 1, D) prefix sums are kept (built a chunk of rows at a time, so no second
    n x D copy exists), plus a bounded cache of scatter blocks.
    """

    def __init__(self, features: np.ndarray, cache_bytes: int = CACHE_BYTES) -> None:
        self.n = int(features.shape[0])
        self.cache_bytes = cache_bytes
        self._cache: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
        self._cached = 0
        self.prefix = np.zeros((self.n + 1, features.shape[1]))
        self.sq_prefix = np.zeros(self.n + 1)
        for a in range(0, self.n, PREFIX_CHUNK):
            b = min(a + PREFIX_CHUNK, self.n)
            chunk = l2_normalize(features[a:b])
            np.cumsum(chunk, axis=0, out=self.prefix[a + 1 : b + 1])
            self.prefix[a + 1 : b + 1] += self.prefix[a]
            sq = np.cumsum(np.einsum("ij,ij->i", chunk, chunk))
            self.sq_prefix[a + 1 : b + 1] = sq + self.sq_prefix[a]

    def block(self, r0: int, e0: int, e1: int) -> np.ndarray:
        """``out[i - r0, e - e0 - 1] = c(i, e)`` for ``r0 <= i < e1`` and ``e0 < e <= e1``.

        Entries with ``i >= e`` (not a segment) are ``inf``. The result is shared with a cache
        (callers must not write to it): a block computed from an earlier ``r0`` is reused.
        """
        hit = self._cache.get((e0, e1))
        if hit is not None and hit[0] <= r0:
            return hit[1][r0 - hit[0] :]
        # a wider band than cached: at least double it so repeated widening stays cheap
        first = r0 if hit is None else max(0, min(r0, 2 * hit[0] - e0))
        out = self._compute(first, e0, e1)
        grown = self._cached + out.nbytes - (0 if hit is None else hit[1].nbytes)
        if grown <= self.cache_bytes:
            self._cache[(e0, e1)] = (first, out)
            self._cached = grown
        return out[r0 - first :]

    def _compute(self, r0: int, e0: int, e1: int) -> np.ndarray:
        # prefix sums are shifted to prefix[e0] before the product so the cancellation error
        # scales with the block and segment lengths, not with the position in the video
        ref = self.prefix[e0]
        rows = self.prefix[r0:e1] - ref
        cols = self.prefix[e0 + 1 : e1 + 1] - ref
        sq_rows = np.einsum("ij,ij->i", rows, rows)
        sq_cols = np.einsum("ij,ij->i", cols, cols)
        dist2 = sq_rows[:, None] + sq_cols[None, :] - 2.0 * (rows @ cols.T)
        lengths = np.arange(e0 + 1, e1 + 1)[None, :] - np.arange(r0, e1)[:, None]
        valid = lengths > 0
        out = np.full(lengths.shape, np.inf)
        diag = self.sq_prefix[e0 + 1 : e1 + 1][None, :] - self.sq_prefix[r0:e1][:, None]
        np.subtract(diag, dist2 / np.where(valid, lengths, 1), out=out, where=valid)
        # exact zero-scatter segments (repeated frames) come out as +-1e-16 noise
        np.maximum(out, 0.0, out=out)
        return out

    def segmentation_scatter(self, change_points: np.ndarray) -> float:
        """Total scatter of the segmentation whose segments start at 0 and at ``change_points``."""
        starts = np.concatenate([[0], np.asarray(change_points, dtype=np.int64)])
        ends = np.concatenate([starts[1:], [self.n]])
        sums = self.prefix[ends] - self.prefix[starts]
        per_segment = (self.sq_prefix[ends] - self.sq_prefix[starts]) - np.einsum(
            "ij,ij->i", sums, sums
        ) / (ends - starts)
        return float(np.maximum(per_segment, 0.0).sum())
