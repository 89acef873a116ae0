"""Exact choice of the number of change points without computing every layer.

KTS minimises ``cost(m) = S(m)/n + v * g(m)`` where ``S(m)`` is the least scatter with ``m``
change points and ``g(m) = m/(2n) (log(n/m) + 1)`` is strictly concave. The minimiser is
therefore a vertex of the lower convex hull of the points ``(m, S(m))``: any other point lies
on or above a chord between two points ``a < m < b``, and along a chord ``cost`` is strictly
concave, so one end of the chord costs less. Hull vertices are exactly the segmentations a
linear penalty ``lambda * m`` selects, which the fast penalised program finds
(:mod:`vsumlab.segmentation.penalized`). The hull is explored between known vertices by
penalising with the slope of their chord (as in CROPS, Haynes et al. 2017); a stretch
``(a, b)`` is skipped once a lower bound on its cost exceeds the best cost found. The bound
uses every penalised run (``S(m) >= V - lambda * m`` for its optimum ``V``) and
``S(m) >= S(b)`` (more change points never add scatter), and the penalty grows with ``m``.

With a cap on ``m`` that cuts through a hull edge, points below the cap need not be hull
points; when the bound cannot rule them out, the exact layered program decides.
"""

from __future__ import annotations

import heapq

import numpy as np

from vsumlab.segmentation.layered import layered_change_points, layered_scatters
from vsumlab.segmentation.penalized import Partition, penalized_partition
from vsumlab.segmentation.scatter import SegmentScatter, tie_tolerance

#: a stretch is skipped only when its bound exceeds the best cost by this relative margin
PRUNE_RTOL = 1e-8


def penalty(m: np.ndarray | int, n: int) -> np.ndarray:
    """KTS's model-size penalty ``m/(2n) * (log(n/m) + 1)``, 0 at ``m = 0``."""
    m = np.asarray(m, dtype=np.float64)
    safe = np.where(m > 0, m, 1.0)
    return np.where(m > 0, safe / (2.0 * n) * (np.log(n / safe) + 1.0), 0.0)


def pick_min_cost(ms: np.ndarray, costs: np.ndarray) -> int:
    """The smallest ``m`` whose cost ties (within float noise) with the least cost."""
    low = float(np.min(costs))
    return int(np.min(ms[costs <= low + tie_tolerance(low)]))


class _HullSearch:
    def __init__(self, costs: SegmentScatter, cap: int, vmax: float) -> None:
        self.costs, self.cap, self.vmax, self.n = costs, cap, vmax, costs.n
        empty = np.zeros(0, dtype=np.int64)
        self.points: dict[int, Partition] = {
            0: Partition(empty, costs.segmentation_scatter(empty)),
            self.n - 1: Partition(np.arange(1, self.n, dtype=np.int64), 0.0),
        }
        self.lambdas = [0.0]  # supporting lines S(m) >= value - lambda * m
        self.values = [0.0]
        self.runs = 0

    def cost(self, part: Partition) -> float:
        return part.scatter / self.n + self.vmax * float(penalty(part.m, self.n))

    def best_cost(self) -> float:
        return min(self.cost(p) for m, p in self.points.items() if m <= self.cap)

    def lower_bound(self, a: int, b: int, chord: bool = False) -> float:
        """Least possible cost of any ``m`` in ``(a, b)`` with ``m <= cap``."""
        hi = min(b - 1, self.cap)
        if hi <= a:
            return np.inf
        m = np.arange(a + 1, hi + 1, dtype=np.float64)
        pa, pb = self.points[a], self.points[b]
        if chord:  # certified hull edge: every point lies on or above it
            s_low = pa.scatter + (pb.scatter - pa.scatter) * (m - a) / (b - a)
        else:
            lam, val = np.array(self.lambdas), np.array(self.values)
            s_low = np.maximum((val[:, None] - lam[:, None] * m[None, :]).max(axis=0), pb.scatter)
        return float(np.min(s_low / self.n + self.vmax * penalty(m, self.n)))

    def margin(self, best: float) -> float:
        return PRUNE_RTOL * max(1.0, abs(best))

    def run(self) -> np.ndarray:
        heap = [(self.lower_bound(0, self.n - 1), 0, self.n - 1)]
        cut_edges: list[tuple[int, int]] = []  # certified edges that the cap cuts through
        while heap:
            _, a, b = heapq.heappop(heap)
            best = self.best_cost()
            if self.lower_bound(a, b) > best + self.margin(best):
                continue  # bounds only tighten, so it stays ruled out
            pa, pb = self.points[a], self.points[b]
            lam = (pa.scatter - pb.scatter) / (b - a)
            if lam <= 0.0:
                continue  # flat: nothing inside has less scatter than a, and costs more
            part = penalized_partition(self.costs, lam)
            self.runs += 1
            value = part.scatter + lam * part.m
            self.lambdas.append(lam)
            self.values.append(value)
            chord = pa.scatter + lam * a
            if a < part.m < b and value < chord - tie_tolerance(chord):
                self.points[part.m] = part
                for lo, hi in ((a, part.m), (part.m, b)):
                    heapq.heappush(heap, (self.lower_bound(lo, hi), lo, hi))
            elif a < self.cap < b:
                cut_edges.append((a, b))
        best = self.best_cost()
        if any(self.lower_bound(a, b, chord=True) <= best + self.margin(best) for a, b in cut_edges):
            return self.layered()
        ms = np.array([m for m in self.points if m <= self.cap])
        costs = np.array([self.cost(self.points[m]) for m in ms])
        return self.points[pick_min_cost(ms, costs)].change_points

    def layered(self) -> np.ndarray:
        scatters, last = layered_scatters(self.costs, self.cap)
        ms = np.arange(self.cap + 1)
        m = pick_min_cost(ms, scatters / self.n + self.vmax * penalty(ms, self.n))
        return layered_change_points(last, m)


def choose_change_points(costs: SegmentScatter, cap: int, vmax: float) -> np.ndarray:
    """Change points minimising KTS's cost over ``0 <= m <= cap`` (``cap <= n - 1``)."""
    if costs.n <= 1 or cap <= 0:
        return np.zeros(0, dtype=np.int64)
    return _HullSearch(costs, cap, vmax).run()
