"""Kendall tau-b and Spearman rho from contingency tables: hand values with ties, scipy parity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vsumlab.evaluation.correlation import (
    compress_runs,
    tau_rho_against_each,
    tau_rho_pairwise,
)


def test_tau_b_and_rho_with_ties_by_hand():
    # pairs: (0,1) tie in y, (0,2) C, (0,3) C, (1,2) tie in x, (1,3) C, (2,3) tie in y
    # P - Q = 3, n0 = 6, n1 = 1, n2 = 2 -> tau_b = 3 / sqrt(5 * 4)
    # mid-ranks x = [1, 2.5, 2.5, 4], y = [1.5, 1.5, 3.5, 3.5] -> rho = 3 / sqrt(4.5 * 4)
    taus, rhos = tau_rho_against_each(np.array([1, 2, 2, 3]), np.array([[1, 1, 2, 2]]))
    assert taus[0] == pytest.approx(3 / np.sqrt(20))
    assert rhos[0] == pytest.approx(3 / np.sqrt(18))


def test_tau_b_with_discordant_pairs_by_hand():
    # x = [1,2,3,4], y = [2,1,2,1]: P = 1, Q = 3, n1 = 0, n2 = 2 -> tau_b = -2 / sqrt(6 * 4)
    taus, _ = tau_rho_against_each(np.array([1, 2, 3, 4]), np.array([[2, 1, 2, 1]]))
    assert taus[0] == pytest.approx(-2 / np.sqrt(24))


def test_matches_scipy_on_random_sequences_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(5, 400))
        x = rng.integers(0, int(rng.integers(2, 30)), n).astype(float)
        ys = rng.integers(1, 6, (3, n)).astype(float)
        taus, rhos = tau_rho_against_each(x, ys)
        for u in range(3):
            assert taus[u] == pytest.approx(stats.kendalltau(x, ys[u]).statistic, abs=1e-12)
            assert rhos[u] == pytest.approx(stats.spearmanr(x, ys[u]).statistic, abs=1e-12)


def test_piecewise_constant_long_sequences_match_scipy():
    # frame-level shape of real data: steps of 15 frames vs 60-frame annotation segments
    rng = np.random.default_rng(2)
    x = np.repeat(rng.random(200), 15)
    y = np.repeat(rng.integers(1, 6, 50), 60)
    taus, rhos = tau_rho_against_each(x, y[None])
    assert taus[0] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert rhos[0] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_scipy_fallback_for_large_tables_gives_the_same_values():
    rng = np.random.default_rng(3)
    x, y = rng.random(300), rng.random((2, 300))
    fast = tau_rho_against_each(x, y)
    fallback = tau_rho_against_each(x, y, max_cells=10)  # forces scipy on the full sequences
    np.testing.assert_allclose(fast, fallback, atol=1e-12)
    pair_fast = tau_rho_pairwise(y)
    pair_fallback = tau_rho_pairwise(y, max_cells=10)
    np.testing.assert_allclose(pair_fast, pair_fallback, atol=1e-12)


def test_constant_sequence_gives_nan():
    taus, rhos = tau_rho_against_each(np.ones(10), np.arange(10.0)[None])
    assert np.isnan(taus[0]) and np.isnan(rhos[0])
    taus, rhos = tau_rho_against_each(np.ones(10), np.arange(10.0)[None], max_cells=1)
    assert np.isnan(taus[0]) and np.isnan(rhos[0])


def test_pairwise_is_symmetric_with_nan_diagonal():
    rows = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [4, 3, 2, 1.0]])
    taus, rhos = tau_rho_pairwise(rows)
    expected = np.array([[np.nan, 1, -1], [1, np.nan, -1], [-1, -1, np.nan]])
    np.testing.assert_allclose(taus, expected)
    np.testing.assert_allclose(rhos, expected)


def test_compress_runs_collapses_joint_constant_columns():
    reps, lengths = compress_runs(np.array([[1, 1, 2, 2, 2], [5, 5, 5, 6, 6]]))
    np.testing.assert_array_equal(reps, [[1, 2, 2], [5, 5, 6]])
    np.testing.assert_array_equal(lengths, [2, 1, 2])
