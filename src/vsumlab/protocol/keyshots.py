"""From step scores to a keyshot summary: upsampling, shot scores, exact 0/1 knapsack."""

from __future__ import annotations

import math

import numpy as np

from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol


def upsample_to_frames(step_scores: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Every frame in ``[picks[i], picks[i+1])`` gets score i; the last step extends to the end.

    Frames before ``picks[0]`` (if any) take the first score.
    """
    step_scores = np.asarray(step_scores, dtype=np.float64).reshape(-1)
    picks = np.asarray(picks, dtype=np.int64).reshape(-1)
    if step_scores.shape != picks.shape:
        raise ValueError(f"{step_scores.shape[0]} scores for {picks.shape[0]} picks")
    index = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    return step_scores[np.clip(index, 0, len(picks) - 1)]


def shot_scores(frame_scores: np.ndarray, change_points: np.ndarray) -> np.ndarray:
    """Mean frame score of each inclusive ``[start, end]`` shot."""
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    cumsum = np.concatenate([[0.0], np.cumsum(frame_scores, dtype=np.float64)])
    return (cumsum[cps[:, 1] + 1] - cumsum[cps[:, 0]]) / (cps[:, 1] - cps[:, 0] + 1)


def knapsack(
    values: np.ndarray, weights: np.ndarray, capacity: int, tie_break: str = "exclude"
) -> np.ndarray:
    """Exact 0/1 knapsack by dynamic programming over integer weights.

    Returns the sorted indices of the chosen items. ``tie_break="exclude"`` takes an item only
    when it strictly improves the value (the common DP code); ``"include"`` also on equality.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.int64).reshape(-1)
    n = len(values)
    capacity = int(capacity)
    if n == 0 or capacity <= 0:
        return np.zeros(0, dtype=np.int64)
    best = np.zeros(capacity + 1, dtype=np.float64)
    taken = np.zeros((n, capacity + 1), dtype=bool)
    for i in range(n):
        w = int(weights[i])
        if w > capacity:
            continue
        candidate = best[: capacity + 1 - w] + values[i]
        current = best[w:]
        better = candidate > current if tie_break == "exclude" else candidate >= current
        taken[i, w:] = better
        best[w:] = np.where(better, candidate, current)
    chosen = []
    j = capacity
    for i in range(n - 1, -1, -1):
        if taken[i, j]:
            chosen.append(i)
            j -= int(weights[i])
    return np.asarray(sorted(chosen), dtype=np.int64)


def knapsack_capacity(n_frames: int, change_points: np.ndarray, protocol: Protocol) -> int:
    total = n_frames
    if protocol.capacity_from == "last_change_point":
        total = int(np.asarray(change_points).reshape(-1, 2)[-1, 1]) + 1
    return int(math.floor(protocol.budget * total))


def select_shots(
    scores_per_shot: np.ndarray,
    shot_lengths: np.ndarray,
    capacity: int,
    protocol: Protocol = DEFAULT_PROTOCOL,
) -> np.ndarray:
    """Indices of the shots chosen by the knapsack under the protocol's value options."""
    values = np.asarray(scores_per_shot, dtype=np.float64)
    if protocol.knapsack_values == "int1000":
        # int() truncates toward zero (differs from floor for negative scores, e.g. logits)
        values = np.trunc(1000.0 * values)
    return knapsack(values, shot_lengths, capacity, protocol.tie_break)


def keyshot_summary(
    step_scores: np.ndarray,
    change_points: np.ndarray,
    n_frames: int,
    picks: np.ndarray,
    protocol: Protocol = DEFAULT_PROTOCOL,
) -> np.ndarray:
    """Binary machine summary over frames (uint8, length ``n_frames``)."""
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    frame_scores = upsample_to_frames(step_scores, picks, n_frames)
    lengths = cps[:, 1] - cps[:, 0] + 1
    chosen = select_shots(
        shot_scores(frame_scores, cps), lengths, knapsack_capacity(n_frames, cps, protocol), protocol
    )
    summary = np.zeros(n_frames, dtype=np.uint8)
    for index in chosen:
        summary[cps[index, 0] : cps[index, 1] + 1] = 1
    return summary
