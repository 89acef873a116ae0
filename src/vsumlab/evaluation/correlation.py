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


def tau_rho_from_tables(tables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho from a batch of contingency tables (B, G, L) of counts.

    Rows and columns are ordered by increasing value; empty rows/columns (values one of the two
    sequences does not take) change nothing. NaN where a sequence is constant (zero denominator).
    """
    tables = np.asarray(tables, dtype=np.int64)
    n = tables.sum(axis=(1, 2))
    row_tot = tables.sum(axis=2)
    col_tot = tables.sum(axis=1)
    x_cum = tables.cumsum(axis=1)
    # A[g, l]: count with x-code < g and y-code < l
    both_lower = np.zeros_like(tables)
    both_lower[:, 1:, 1:] = x_cum.cumsum(axis=2)[:, :-1, :-1]
    # B[g, l]: count with x-code < g and y-code > l
    x_lower = np.zeros_like(tables)
    x_lower[:, 1:] = x_cum[:, :-1]
    x_lower_y_higher = x_lower.sum(axis=2, keepdims=True) - x_lower.cumsum(axis=2)
    s = (tables * (both_lower - x_lower_y_higher)).sum(axis=(1, 2)).astype(np.float64)
    n0 = n * (n - 1) // 2
    untied_x = (n0 - (row_tot * (row_tot - 1) // 2).sum(axis=1)).astype(np.float64)
    untied_y = (n0 - (col_tot * (col_tot - 1) // 2).sum(axis=1)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(
            (untied_x > 0) & (untied_y > 0), s / (np.sqrt(untied_x) * np.sqrt(untied_y)), np.nan
        )
        # mid-ranks of each distinct value, then a count-weighted Pearson correlation
        rank_x = np.cumsum(row_tot, axis=1) - row_tot + (row_tot + 1) / 2.0
        rank_y = np.cumsum(col_tot, axis=1) - col_tot + (col_tot + 1) / 2.0
        dx = rank_x - ((row_tot * rank_x).sum(axis=1) / np.maximum(n, 1))[:, None]
        dy = rank_y - ((col_tot * rank_y).sum(axis=1) / np.maximum(n, 1))[:, None]
        var_x = (row_tot * dx * dx).sum(axis=1)
        var_y = (col_tot * dy * dy).sum(axis=1)
        cov = np.einsum("bg,bgl,bl->b", dx, tables.astype(np.float64), dy)
        rho = np.where((var_x > 0) & (var_y > 0), cov / np.sqrt(var_x * var_y), np.nan)
    return tau, rho


def _scipy_tau_rho(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan"), float("nan")
    return float(stats.kendalltau(x, y).statistic), float(stats.spearmanr(x, y).statistic)


def _tables(
    x_codes: np.ndarray, n_x: int, y_codes: np.ndarray, n_y: int, weights: np.ndarray
) -> np.ndarray:
    """Tables (B, n_x, n_y) of summed ``weights`` for B pairs of code rows (B, R)."""
    batch = len(x_codes)
    flat = (np.arange(batch)[:, None] * n_x + x_codes) * n_y + y_codes
    counts = np.bincount(flat.ravel(), weights=np.tile(weights, batch), minlength=batch * n_x * n_y)
    # weights are integer run lengths: rounding only removes float noise
    return np.rint(counts).astype(np.int64).reshape(batch, n_x, n_y)


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
    n_users = len(annotators)
    reps, lengths = compress_runs(np.vstack([prediction, annotators]))
    x_codes, n_x = codes(reps[0])
    y_codes, n_y = codes(reps[1:])  # one code space for all annotators
    if n_users * n_x * n_y > max_cells:
        pairs = [_scipy_tau_rho(prediction, row) for row in annotators]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    x_rows = np.broadcast_to(x_codes, (n_users, len(x_codes)))
    tables = _tables(x_rows, n_x, y_codes.reshape(n_users, -1), n_y, lengths)
    return tau_rho_from_tables(tables)


def tau_rho_pairwise(
    annotators: np.ndarray, max_cells: int = MAX_TABLE_CELLS
) -> tuple[np.ndarray, np.ndarray]:
    """(U, U) matrices of tau-b and rho between every pair of rows; the diagonal is NaN."""
    annotators = np.atleast_2d(np.asarray(annotators, dtype=np.float64))
    n_users = len(annotators)
    first, second = np.triu_indices(n_users, k=1)
    taus = np.full((n_users, n_users), np.nan)
    rhos = np.full((n_users, n_users), np.nan)
    if len(first) == 0:
        return taus, rhos
    reps, lengths = compress_runs(annotators)
    all_codes, n_levels = codes(reps)
    all_codes = all_codes.reshape(n_users, -1)
    if len(first) * n_levels * n_levels > max_cells:
        pairs = [_scipy_tau_rho(annotators[i], annotators[j]) for i, j in zip(first, second)]
        tau, rho = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    else:
        tables = _tables(all_codes[first], n_levels, all_codes[second], n_levels, lengths)
        tau, rho = tau_rho_from_tables(tables)
    # both statistics are symmetric in their arguments
    taus[first, second] = taus[second, first] = tau
    rhos[first, second] = rhos[second, first] = rho
    return taus, rhos
