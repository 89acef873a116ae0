"""CLIP-It losses by hand, and keyshot labels on synthetic and real annotations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vsumlab.data.schema import VideoRecord
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import DatasetError
from vsumlab.models.losses.clipit import (
    diversity_loss,
    keyshot_labels,
    length_loss,
    reconstruction_loss,
    weighted_bce,
)


def test_weighted_bce_by_hand():
    logits = torch.tensor([[0.0, 0.0, 0.0, 9.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, True, False]])  # the last step is padding
    ln2 = math.log(2.0)
    # balanced by default: 1 positive, 2 negatives -> the positive counts twice
    assert weighted_bce(logits, labels, mask).item() == pytest.approx((2 * ln2 + ln2 + ln2) / 3)
    assert weighted_bce(logits, labels, mask, pos_weight=1.0).item() == pytest.approx(ln2)
    assert weighted_bce(logits, labels, mask, pos_weight=5.0).item() == pytest.approx(7 * ln2 / 3)


def test_diversity_loss_by_hand():
    # frames 0 and 1 point the same way, frame 2 is orthogonal to both
    features = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    # selecting the two identical frames: similarity 1
    assert diversity_loss(features, torch.tensor([[1.0, 1.0, 0.0]]), mask).item() == pytest.approx(1)
    # selecting orthogonal frames: 0
    assert diversity_loss(features, torch.tensor([[1.0, 0.0, 1.0]]), mask).item() == pytest.approx(0)
    # all three: pairs (0,1)=1, (0,2)=0, (1,2)=0 over 3 pairs
    assert diversity_loss(features, torch.ones(1, 3), mask).item() == pytest.approx(1 / 3)
    # padding never counts, even with a score
    padded = torch.tensor([[True, False, True]])
    assert diversity_loss(features, torch.ones(1, 3), padded).item() == pytest.approx(0)


def test_length_and_reconstruction_by_hand():
    scores = torch.tensor([[0.5, 0.1, 0.9], [0.2, 0.2, 7.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    # means 0.5 and 0.2 against 0.3: (0.04 + 0.01) / 2
    assert length_loss(scores, mask, 0.3).item() == pytest.approx(0.025)
    rebuilt = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    target = torch.tensor([[[0.0, 1.0], [5.0, 5.0]]])
    assert reconstruction_loss(rebuilt, target, torch.tensor([[True, False]])).item() == 0.5


def test_keyshot_labels_are_the_standard_gtsummary_on_synthetic_sets():
    """DATA builds gtsummary as the 15% knapsack of gtscore, exactly what labels must be."""
    dataset = make_synthetic_dataset("tvsum", seed=3, n_videos=4, feature_dim=16)
    for record in dataset:
        labels = keyshot_labels(record)
        np.testing.assert_array_equal(labels, record.gtsummary)
        frames = np.repeat(labels, np.diff(np.append(record.picks, record.n_frames)))
        assert 0.05 < frames.mean() <= 0.15  # the budget is respected


def test_keyshot_labels_on_real_summe_annotations(summe_gt_dir):
    from vsumlab.data.importers import import_summe

    dataset = import_summe(summe_gt_dir, keys=["video_1", "video_2", "video_6"])
    for record in dataset:
        labels = keyshot_labels(record)
        assert labels.shape == (record.n_steps,)
        assert set(np.unique(labels)) <= {0.0, 1.0} and labels.sum() > 0
        # keyshots are where annotators agree: their mean gtscore beats the rest
        assert record.gtscore[labels == 1].mean() > record.gtscore[labels == 0].mean()


def test_keyshot_labels_need_gtscore():
    record = VideoRecord(
        key="v", features=np.zeros((2, 3)), picks=np.array([0, 15]), n_frames=30, fps=30.0,
        change_points=np.array([[0, 29]]), n_frame_per_seg=np.array([30]),
    )  # fmt: skip
    with pytest.raises(DatasetError, match="video 'v' field 'gtscore': missing"):
        keyshot_labels(record)
