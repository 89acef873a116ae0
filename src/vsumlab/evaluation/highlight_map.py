"""Mr. HiSum's highlight-detection mAP (mAP@50, mAP@15), as its official evaluation computes it.

Source: MRHiSum/MR.HiSum ``model/utils/evaluate_map.py`` and ``model/solver.py``
(``Solver.evaluate``). Per video:

1. step scores are cut into consecutive clips of 5 steps (5 s of YouTube-8M features; the last
   clip may be shorter) and each clip scores the mean of its steps
   (``generate_mrhisum_seg_scores``, ``uniform_clip=5``);
2. the ground-truth highlights are the top clips by ``gtscore`` clip means: ``len // 2`` clips
   for mAP@50 (``top50_summary``), ``int(len * 0.15)`` for mAP@15 (``top15_summary``);
3. the machine's clip means (softmax-ed there, which keeps their order) rank the clips and the
   video's value is the average precision of that ranking against the highlights
   (``sklearn.metrics.average_precision_score``: the sum over distinct score thresholds of
   (R_n - R_{n-1}) * P_n, tied scores forming one threshold);
4. mAP is the mean over videos.

Ties among ground-truth clip means are broken by position (a stable sort; the official
``torch.argsort`` leaves them unspecified).
"""

from __future__ import annotations

import math

import numpy as np

#: steps per clip (``uniform_clip=5`` in the official evaluation)
CLIP_STEPS = 5
#: the highlight shares of mAP@50 and mAP@15
TOPS = {"map50": 0.5, "map15": 0.15}


def clip_means(step_scores: np.ndarray, clip: int = CLIP_STEPS) -> np.ndarray:
    """Mean of each run of ``clip`` consecutive steps (the last run may be shorter)."""
    scores = np.asarray(step_scores, dtype=np.float64).reshape(-1)
    return np.array([scores[i:i + clip].mean() for i in range(0, scores.size, clip)])


def top_clips(means: np.ndarray, name: str) -> np.ndarray:
    """0/1 per clip: the highest ``len // 2`` (map50) or ``int(len * 0.15)`` (map15) clips."""
    n = means.size
    count = n // 2 if name == "map50" else int(n * TOPS[name])
    order = np.argsort(-means, kind="stable")
    labels = np.zeros(n, dtype=np.int64)
    labels[order[:count]] = 1
    return labels


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of ``scores`` ranking the positive ``labels`` (ties: one threshold);
    NaN without a positive label (undefined)."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    if n_pos == 0:
        return math.nan
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    # the last index of every distinct score: one threshold per distinct value
    last = np.flatnonzero(np.r_[np.diff(sorted_scores) != 0, True])
    true_pos = np.cumsum(sorted_labels)[last]
    precision = true_pos / (last + 1)
    recall = true_pos / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def video_highlight_ap(gtscore: np.ndarray, step_scores: np.ndarray) -> dict[str, float]:
    """``{"map50": AP, "map15": AP}`` of one video's step scores against its ``gtscore``."""
    truth, machine = clip_means(gtscore), clip_means(step_scores)
    return {name: average_precision(top_clips(truth, name), machine) for name in TOPS}
