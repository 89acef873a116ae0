"""Kendall's tau-b and Spearman's rho, exact and fast for the sequences evaluation compares.

Frame-level sequences here are long (10^4..10^5 frames) but have few distinct values: upsampled
predictions are constant over each step, TVSum annotations take the values 1..5 and SumMe
annotations 0/1. Both statistics depend only on the contingency table of the two sequences
(counts of frames per pair of distinct values), so we compute them from that table:

* tau-b = (P - Q) / sqrt((n0 - n1) (n0 - n2)), with P - Q = sum_{g,l} C[g,l] (A[g,l] - B[g,l]),
  A = frames strictly lower in both values, B = strictly lower in x and strictly higher in y;
  n1, n2 the pairs tied in x, in y (the definition of ``scipy.stats.kendalltau``, variant b);
* rho = the Pearson correlation of mid-ranks (ties get the average rank), as
  ``scipy.stats.spearmanr`` computes it.

The tests check both against scipy on random inputs with ties. When the table would be too large
(both sequences nearly continuous) we fall back to scipy itself.

A constant sequence has no defined correlation (scipy returns NaN); callers decide what NaN counts
as (:mod:`vsumlab.evaluation.metrics` counts it as 0).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: above this many table cells, scipy on the expanded sequences is cheaper than the table
MAX_TABLE_CELLS = 4_000_000


def compress_runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse columns of ``rows`` (K, n) into runs where no row changes.

    Returns the run representatives (K, R) and their lengths (R,). Correlations computed with
    the lengths as weights equal those on the full sequences, at a fraction of the cost.
    """
    rows = np.atleast_2d(np.asarray(rows))
    n = rows.shape[1]
    if n == 0:
        return rows, np.zeros(0, dtype=np.int64)
    changes = np.flatnonzero(np.any(rows[:, 1:] != rows[:, :-1], axis=0)) + 1
    starts = np.concatenate([[0], changes])
    lengths = np.diff(np.concatenate([starts, [n]])).astype(np.int64)
    return rows[:, starts], lengths


def codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes 0..k-1 of the sorted distinct values, and k."""
    distinct, inverse = np.unique(np.asarray(values).reshape(-1), return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), len(distinct)


def contingency(
    x_codes: np.ndarray, n_x: int, y_codes: np.ndarray, n_y: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """(n_x, n_y) int64 table of (weighted) counts of each pair of codes."""
    flat = x_codes * n_y + y_codes
    table = np.bincount(flat, weights=weights, minlength=n_x * n_y)
    # weights are integer run lengths: rounding only removes float noise
    return np.rint(table).astype(np.int64).reshape(n_x, n_y)


def tau_rho_from_table(table: np.ndarray) -> tuple[float, float]:
    """Kendall tau-b and Spearman rho of two sequences given their contingency table.

    Rows and columns must be ordered by increasing value. Returns NaN where a sequence is
    constant (a zero denominator).
    """
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    if n < 2:
        return float("nan"), float("nan")
    row_tot = table.sum(axis=1)
    col_tot = table.sum(axis=0)
    # A[g, l]: count with x-code < g and y-code < l
    both_lower = np.zeros_like(table)
    both_lower[1:, 1:] = table.cumsum(axis=0).cumsum(axis=1)[:-1, :-1]
    # B[g, l]: count with x-code < g and y-code > l
    x_lower = np.zeros_like(table)
    x_lower[1:] = table.cumsum(axis=0)[:-1]
    x_lower_y_higher = x_lower.sum(axis=1, keepdims=True) - x_lower.cumsum(axis=1)
    s = int((table * (both_lower - x_lower_y_higher)).sum())
    n0 = n * (n - 1) // 2
    n1 = int((row_tot * (row_tot - 1) // 2).sum())
    n2 = int((col_tot * (col_tot - 1) // 2).sum())
    if n0 == n1 or n0 == n2:
        tau = float("nan")
    else:
        tau = s / (np.sqrt(float(n0 - n1)) * np.sqrt(float(n0 - n2)))

    # mid-ranks of each distinct value, then a weighted Pearson correlation
    rank_x = np.cumsum(row_tot) - row_tot + (row_tot + 1) / 2.0
    rank_y = np.cumsum(col_tot) - col_tot + (col_tot + 1) / 2.0
    dx = rank_x - (row_tot * rank_x).sum() / n
    dy = rank_y - (col_tot * rank_y).sum() / n
    var_x = float((row_tot * dx * dx).sum())
    var_y = float((col_tot * dy * dy).sum())
    if var_x <= 0.0 or var_y <= 0.0:
        rho = float("nan")
    else:
        rho = float(dx @ table @ dy) / np.sqrt(var_x * var_y)
    return float(tau), float(rho)


def _scipy_tau_rho(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan"), float("nan")
    return float(stats.kendalltau(x, y).statistic), float(stats.spearmanr(x, y).statistic)


def tau_rho_against_each(
    prediction: np.ndarray, annotators: np.ndarray, max_cells: int = MAX_TABLE_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho of ``prediction`` (n,) against each row of
    ``annotators`` (U, n). Returns two (U,) arrays (NaN where a sequence is constant)."""
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1)
    annotators = np.atleast_2d(np.asarray(annotators, dtype=np.float64))
    if annotators.shape[1] != prediction.shape[0]:
        raise ValueError(
            f"prediction has {prediction.shape[0]} values, annotators {annotators.shape[1]}"
        )
    reps, lengths = compress_runs(np.vstack([prediction, annotators]))
    x_codes, n_x = codes(reps[0])
    taus = np.empty(len(annotators))
    rhos = np.empty(len(annotators))
    for u in range(len(annotators)):
        y_codes, n_y = codes(reps[u + 1])
        if n_x * n_y > max_cells:
            taus[u], rhos[u] = _scipy_tau_rho(prediction, annotators[u])
            continue
        table = contingency(x_codes, n_x, y_codes, n_y, lengths)
        taus[u], rhos[u] = tau_rho_from_table(table)
    return taus, rhos


def tau_rho_pairwise(
    annotators: np.ndarray, max_cells: int = MAX_TABLE_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """(U, U) matrices of tau-b and rho between every pair of rows; the diagonal is NaN."""
    annotators = np.atleast_2d(np.asarray(annotators, dtype=np.float64))
    n_users = len(annotators)
    reps, lengths = compress_runs(annotators)
    coded = [codes(row) for row in reps]
    taus = np.full((n_users, n_users), np.nan)
    rhos = np.full((n_users, n_users), np.nan)
    for i in range(n_users):
        for j in range(i + 1, n_users):
            (x_codes, n_x), (y_codes, n_y) = coded[i], coded[j]
            if n_x * n_y > max_cells:
                tau, rho = _scipy_tau_rho(annotators[i], annotators[j])
            else:
                tau, rho = tau_rho_from_table(contingency(x_codes, n_x, y_codes, n_y, lengths))
            # both statistics are symmetric in their arguments
            taus[i, j] = taus[j, i] = tau
            rhos[i, j] = rhos[j, i] = rho
    return taus, rhos
