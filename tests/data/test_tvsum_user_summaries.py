"""TVSum's per-annotator summaries on the REAL ``ydata-tvsum50.mat``: each annotator's binary
summary is the 15% knapsack of THAT annotator's own 1..5 scores over the shots (the protocol's
keyshot rule, Zhang et al. 2016 / EVALUATION.md), not of the mean or of another annotator's.
Skipped with a reason without VSUMLAB_DATA."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vsumlab.data.importers import import_tvsum, tvsum_user_summaries

BUDGET = 0.15  # the protocol's summary length (Zhang et al. 2016)


def _shots(change_points: np.ndarray) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in change_points]


def _shot_means(frame_scores: np.ndarray, change_points: np.ndarray) -> np.ndarray:
    scores = np.asarray(frame_scores, dtype=np.float64)
    return np.array([scores[a : b + 1].mean() for a, b in _shots(change_points)])


def _best_value(values: np.ndarray, weights: np.ndarray, capacity: int) -> float:
    """The 0/1 knapsack optimum, by the textbook table over capacities (written here, not the
    project's knapsack)."""
    best = np.zeros(capacity + 1)
    for value, weight in zip(values, weights):
        if weight <= capacity:
            best[weight:] = np.maximum(best[weight:], best[: capacity + 1 - weight] + value)
    return float(best[capacity])


def _value_of(summary: np.ndarray, means: np.ndarray, change_points: np.ndarray) -> float:
    """The selection's value under given shot means; asserts it is made of whole shots."""
    total = 0.0
    for index, (a, b) in enumerate(_shots(change_points)):
        block = summary[a : b + 1]
        assert block.min() == block.max(), "a summary must keep whole shots"
        total += means[index] if block[0] else 0.0
    return total


@pytest.mark.parametrize("key", ["video_1", "video_2"])
def test_each_annotators_summary_is_the_knapsack_of_their_own_scores(
    tvsum_mat: Path, key: str
) -> None:
    record = import_tvsum(tvsum_mat, keys=[key])[key]
    cps = record.change_points
    weights = np.array([b - a + 1 for a, b in _shots(cps)])
    capacity = int(math.floor(BUDGET * record.n_frames))
    assert record.user_summary.shape == record.user_anno.shape == (20, record.n_frames)
    # the counterfactual: every annotator given the summary of the MEAN scores
    mean = record.user_anno.mean(axis=0, keepdims=True)
    from_mean = tvsum_user_summaries(np.repeat(mean, 20, axis=0), cps)
    mean_fails = 0
    for user in range(20):
        summary = record.user_summary[user]
        assert summary.sum() <= capacity  # within the 15% budget
        own = _shot_means(record.user_anno[user], cps)
        optimum = _best_value(own, weights, capacity)
        # optimal for this annotator's own scores (ties between selections of equal value
        # are the knapsack's to break, so the value is compared, not the shots)
        assert _value_of(summary, own, cps) == pytest.approx(optimum, abs=1e-9), user
        mean_fails += _value_of(from_mean[user], own, cps) < optimum - 1e-9
    # the check tells the rules apart: summaries built from the mean would fail it for most
    # annotators; and the 20 summaries are not one summary copied
    assert mean_fails >= 10
    assert len({row.tobytes() for row in record.user_summary}) >= 15
