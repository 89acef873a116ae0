"""Per-video curves, selected shots and per-video scores on hand-computed records."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.analysis.videos import (
    SelectedShot,
    per_video_scores,
    resolve_key,
    selected_shots,
    video_curves,
)
from vsumlab.errors import PredictionError
from vsumlab.protocol.options import Protocol

from ._records import dataset, record

# two users over 10 frames; TVSum-style 1..5 annotations
TOY = record(
    user_summary=[[1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    user_anno=[[5, 5, 5, 5, 5, 1, 1, 1, 1, 1], [3] * 10],
    gtscore=[4.0, 2.0],
)


def test_selected_shots_follow_the_knapsack() -> None:
    # budget 0.5 of 10 frames = capacity 5: only one 5-frame shot fits, the higher-scored one
    shots = selected_shots(TOY, np.array([0.2, 0.9]), Protocol(budget=0.5))
    assert shots == [SelectedShot(index=1, start=5, end=9, score=pytest.approx(0.9))]
    assert selected_shots(TOY, np.array([0.9, 0.2]), Protocol(budget=0.5))[0].index == 0
    # the default 15% budget (1 frame) fits no 5-frame shot
    assert selected_shots(TOY, np.array([0.9, 0.2])) == []


def test_video_curves_scale_everything_to_unit_range() -> None:
    curves = video_curves(TOY, np.array([0.7, 0.3]), Protocol(budget=0.5))
    assert curves.prediction.tolist() == [1.0] * 5 + [0.0] * 5
    assert curves.ground_truth.tolist() == [1.0] * 5 + [0.0] * 5
    # user_anno 1..5 -> (a - 1) / 4
    assert curves.annotators[0].tolist() == [1.0] * 5 + [0.0] * 5
    assert curves.annotators[1].tolist() == [0.5] * 10
    assert curves.summary.tolist() == [1] * 5 + [0] * 5
    assert curves.seconds[-1] == pytest.approx(9 / 30)
    with pytest.raises(PredictionError, match="expected n_steps=2"):
        video_curves(TOY, np.array([0.1, 0.2, 0.3]))


def test_summe_style_annotators_stay_binary() -> None:
    summe = record(user_summary=[[0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [1] * 10])
    curves = video_curves(summe, np.array([0.1, 0.9]))
    assert curves.annotators.tolist() == summe.user_summary.tolist()
    assert curves.ground_truth is None


def test_per_video_scores_beside_human_and_qualified_keys() -> None:
    data = dataset(TOY, style="tvsum", name="toy")
    assert resolve_key(data, "toy/video_1") == "video_1"
    with pytest.raises(PredictionError, match="video_9"):
        resolve_key(data, "video_9")
    scores = per_video_scores(data, {"toy/video_1": np.array([0.7, 0.3])}, Protocol(budget=0.5))
    model = scores["model"]["toy/video_1"]
    # machine summary = first shot (frames 0-4); F1 vs user 1 = 100, vs user 2 = 2*5/(5+10)=66.7;
    # TVSum reduction: mean
    assert model.f1 == pytest.approx((100.0 + 200.0 * 5 / 15) / 2)
    # human leave-one-out: the two users' F1 = 2*5/(5+10)
    assert scores["human"]["toy/video_1"].f1 == pytest.approx(200.0 * 5 / 15)
