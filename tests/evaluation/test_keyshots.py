"""Upsampling, shot scores, exact knapsack and every keyshot option on hand-computed examples."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vsumlab.errors import ConfigError
from vsumlab.evaluation.keyshots import (
    keyshot_summary,
    knapsack,
    knapsack_capacity,
    select_shots,
    shot_scores,
    upsample_to_frames,
)
from vsumlab.evaluation.protocol import Protocol


def test_upsample_extends_last_step_to_n_frames():
    frames = upsample_to_frames(np.array([1.0, 2.0, 3.0]), np.array([0, 15, 30]), 40)
    expected = np.array([1.0] * 15 + [2.0] * 15 + [3.0] * 10)
    np.testing.assert_array_equal(frames, expected)


def test_upsample_frames_before_first_pick_take_first_score():
    frames = upsample_to_frames(np.array([7.0, 9.0]), np.array([5, 10]), 12)
    np.testing.assert_array_equal(frames, [7.0] * 10 + [9.0] * 2)


def test_upsample_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 scores for 2 picks"):
        upsample_to_frames(np.ones(3), np.array([0, 5]), 10)


def test_shot_scores_are_means_of_inclusive_ranges():
    frames = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 4.0])
    np.testing.assert_allclose(shot_scores(frames, np.array([[0, 2], [3, 4], [5, 5]])), [2, 15, 4])


def _brute_force(values, weights, capacity):
    best = 0.0
    for r in range(len(values) + 1):
        for subset in itertools.combinations(range(len(values)), r):
            if sum(weights[i] for i in subset) <= capacity:
                best = max(best, sum(values[i] for i in subset))
    return best


@pytest.mark.parametrize("tie_break", ["exclude", "include"])
def test_knapsack_matches_brute_force_on_random_instances(tie_break):
    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(1, 9))
        weights = rng.integers(1, 11, size=n)
        # half the instances get integer values, which makes ties frequent
        values = rng.random(n) if rng.random() < 0.5 else rng.integers(0, 4, size=n).astype(float)
        capacity = int(rng.integers(0, 30))
        chosen = knapsack(values, weights, capacity, tie_break)
        assert weights[chosen].sum() <= capacity
        assert len(set(chosen.tolist())) == len(chosen)
        assert values[chosen].sum() == pytest.approx(_brute_force(values, weights, capacity))


def test_knapsack_hand_example():
    # one heavy item (0.6, w3) vs two light ones (0.5 + 0.5, w2 + w2) under capacity 4
    chosen = knapsack(np.array([0.6, 0.5, 0.5]), np.array([3, 2, 2]), 4)
    np.testing.assert_array_equal(chosen, [1, 2])


def test_knapsack_tie_break_exclude_keeps_earlier_include_takes_later():
    values, weights = np.array([1.0, 1.0]), np.array([1, 1])
    np.testing.assert_array_equal(knapsack(values, weights, 1, "exclude"), [0])
    np.testing.assert_array_equal(knapsack(values, weights, 1, "include"), [1])


def test_knapsack_empty_and_zero_capacity():
    assert knapsack(np.array([]), np.array([]), 10).size == 0
    assert knapsack(np.array([1.0]), np.array([1]), 0).size == 0
    # an item heavier than the capacity is never chosen
    np.testing.assert_array_equal(knapsack(np.array([5.0, 1.0]), np.array([9, 2]), 8), [1])


def test_int1000_values_change_the_selection():
    # exact: 0.2503 + 0.2503 = 0.5006 > 0.5005; int(1000 x): 250 + 250 = 500 = 500, a tie
    scores, lengths = np.array([0.5005, 0.2503, 0.2503]), np.array([2, 1, 1])
    exact = select_shots(scores, lengths, 2, Protocol(knapsack_values="exact"))
    quant = select_shots(scores, lengths, 2, Protocol(knapsack_values="int1000"))
    quant_incl = select_shots(
        scores, lengths, 2, Protocol(knapsack_values="int1000", tie_break="include")
    )
    np.testing.assert_array_equal(exact, [1, 2])
    np.testing.assert_array_equal(quant, [0])  # the tie keeps the earlier solution
    np.testing.assert_array_equal(quant_incl, [1, 2])


def test_int1000_truncates_toward_zero_like_int():
    # int(1000 * -0.0004) = 0, a tie with the empty selection that "include" takes; floor would
    # give -1 and never take it
    protocol = Protocol(knapsack_values="int1000", tie_break="include")
    np.testing.assert_array_equal(
        select_shots(np.array([-0.0004]), np.array([1]), 1, protocol), [0]
    )
    exact = Protocol(tie_break="include")
    np.testing.assert_array_equal(select_shots(np.array([-0.0004]), np.array([1]), 1, exact), [])


def test_capacity_from_options():
    cps = np.array([[0, 39], [40, 79]])
    assert knapsack_capacity(100, cps, Protocol()) == 15  # floor(0.15 * 100)
    assert knapsack_capacity(100, cps, Protocol(capacity_from="last_change_point")) == 12
    assert knapsack_capacity(100, cps, Protocol(budget=0.5)) == 50


def test_keyshot_summary_capacity_from_changes_the_summary():
    # 100 frames, last shot ends at 79: capacity 15 (n_frames) fits the 14-frame best shot,
    # capacity 12 (last change point) only the 10-frame one
    cps = np.array([[0, 13], [14, 23], [24, 79]])
    picks = np.array([0, 14, 24])
    scores = np.array([0.9, 0.5, 0.1])
    default = keyshot_summary(scores, cps, 100, picks, Protocol())
    lastcp = keyshot_summary(scores, cps, 100, picks, Protocol(capacity_from="last_change_point"))
    np.testing.assert_array_equal(np.flatnonzero(default), np.arange(0, 14))
    np.testing.assert_array_equal(np.flatnonzero(lastcp), np.arange(14, 24))
    assert default.dtype == np.uint8 and default.shape == (100,)


def test_protocol_rejects_unknown_values():
    with pytest.raises(ConfigError, match="tie_break='sometimes' is unknown"):
        Protocol(tie_break="sometimes")
    with pytest.raises(ConfigError, match="budget=0"):
        Protocol(budget=0)
    with pytest.raises(ConfigError, match="unknown evaluation option"):
        Protocol.from_dict({"budgett": 0.1})


def test_capacity_rounds_the_budget_down():
    # 0.15 x 99 = 14.85 frames: capacity 14 (floor), never 15 (round or ceil)
    cps = np.array([[0, 14], [15, 98]])
    assert knapsack_capacity(99, cps, Protocol()) == 14
    assert knapsack_capacity(106, cps, Protocol()) == 15  # 15.9 -> 15
    # the 15-frame best shot fits a rounded-up budget only: floor selects nothing here
    summary = keyshot_summary(np.array([0.9, 0.1]), cps, 99, np.array([0, 15]), Protocol())
    assert summary.sum() == 0
    summary = keyshot_summary(np.array([0.9, 0.1]), cps, 100, np.array([0, 15]), Protocol())
    np.testing.assert_array_equal(np.flatnonzero(summary), np.arange(15))
