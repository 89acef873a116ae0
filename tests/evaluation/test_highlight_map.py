"""Mr. HiSum's mAP@50 / mAP@15 (MRHiSum/MR.HiSum model/utils/evaluate_map.py, solver.py),
hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vsumlab.evaluation.highlight_map import (
    average_precision,
    clip_means,
    top_clips,
    video_highlight_ap,
)
from vsumlab.evaluation.metric_registry import HIGHLIGHT_METRICS, METRICS, metric
from vsumlab.protocol.options import Protocol


def test_clips_are_five_steps_and_the_last_may_be_shorter() -> None:
    np.testing.assert_allclose(clip_means(np.arange(1, 8)), [3.0, 6.5])


def test_highlights_are_the_top_half_and_the_top_fifteen_percent() -> None:
    means = np.arange(10.0)  # clip 9 is best
    assert top_clips(means, "map50").tolist() == [0] * 5 + [1] * 5  # 10 // 2
    assert top_clips(means, "map15").tolist() == [0] * 9 + [1]  # int(10 * 0.15) = 1
    assert top_clips(np.arange(7.0), "map50").tolist() == [0] * 4 + [1] * 3  # 7 // 2, rounded down


def test_average_precision_by_hand() -> None:
    # ranks: hit (P 1, R 1/2), miss, hit (P 2/3, R 1): 1/2 * 1 + 1/2 * 2/3
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # tied scores are one threshold (as sklearn's average_precision_score): P 1/2 at R 1
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(average_precision([0, 0], [0.1, 0.2]))


def test_a_video_ranked_as_its_gtscore_scores_one() -> None:
    gtscore = np.repeat(np.linspace(0, 1, 20), 5)  # 20 clips, increasing
    assert video_highlight_ap(gtscore, gtscore) == {"map50": 1.0, "map15": 1.0}
    reverse = video_highlight_ap(gtscore, gtscore[::-1].copy())
    # the 3 highlights (int(20 * .15)) ranked last: precisions 1/18, 2/19, 3/20
    assert reverse["map15"] == pytest.approx((1 / 18 + 2 / 19 + 3 / 20) / 3)


def test_registered_and_the_preset_is_the_official_evaluation() -> None:
    assert HIGHLIGHT_METRICS == ("map50", "map15") and METRICS == ("f1", "kendall", "spearman")
    assert metric("map15").label == "mAP@15" and metric("map50").higher_is_better
    preset = Protocol.from_preset("mrhisum")
    assert (preset.budget, preset.capacity_from, preset.f1_reduction, preset.length_mismatch,
            preset.model_selection) == (0.15, "n_frames", "mean", "pad", "best_val")
