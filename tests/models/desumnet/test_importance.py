"""Gradient importance: hand-computed on a linear model, batch independence, video streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vsumlab.data.synthetic.event_videos import make_category_videos
from vsumlab.errors import ConfigError
from vsumlab.models.desumnet import (
    VideoImportance,
    aggregate_frames,
    frame_importance,
    map_frame_importance,
)

from .helpers import tiny_module


class Linear(nn.Module):
    """logits = W x with known W: the gradient of logit c is W[c] itself."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight.T


def _linear_model() -> Linear:
    # clips (N, 3, T=2, H=2, W=2); class 1 weighs frame 0 by +1 and frame 1 by -3 everywhere
    w = torch.zeros(2, 3, 2, 2, 2)
    w[1, :, 0] = 1.0
    w[1, :, 1] = -3.0
    w[0] = 7.0  # class 0 must not leak into class 1's importance
    return Linear(w.reshape(2, -1))


def test_frame_importance_hand_computed():
    clips = torch.randn(2, 3, 2, 2, 2)
    frames, logits = frame_importance(_linear_model(), clips, target=1, gradient="abs")
    assert frames.tolist() == [[1.0, 3.0], [1.0, 3.0]]  # mean over channels and pixels
    assert logits.shape == (2, 2)
    signed, _ = frame_importance(_linear_model(), clips, target=1, gradient="signed")
    assert signed.tolist() == [[1.0, -3.0], [1.0, -3.0]]
    assert aggregate_frames(frames, "mean").tolist() == [2.0, 2.0]
    assert aggregate_frames(frames, "max").tolist() == [3.0, 3.0]
    assert aggregate_frames(signed, "mean").tolist() == [-1.0, -1.0]
    assert aggregate_frames(signed, "max").tolist() == [1.0, 1.0]
    per_clip_target, _ = frame_importance(_linear_model(), clips, torch.tensor([0, 1]))
    assert per_clip_target.tolist() == [[7.0, 7.0], [1.0, -3.0]]  # the default is signed


def test_signed_gradient_is_the_default_everywhere():
    """The paper's I_ij = 1/(pq) sum_xy M_i(x, y, j) averages the map itself (section 3.1)."""
    assert tiny_module().hparams.gradient == "signed"
    clips = torch.randn(1, 3, 2, 2, 2)
    default, _ = frame_importance(_linear_model(), clips, target=1)
    assert default.tolist() == [[1.0, -3.0]]


def test_map_frame_importance_by_hand():
    """Mean over colour channels and pixels of one frame's map, with and without |.|: frame 0
    holds +2 and -1 in equal numbers (mean 0.5, |.| mean 1.5), frame 1 holds -4 (mean -4)."""
    grad = torch.zeros(1, 3, 2, 2, 2)
    grad[0, :, 0, 0] = 2.0  # first row of frame 0, every channel
    grad[0, :, 0, 1] = -1.0
    grad[0, :, 1] = -4.0
    assert map_frame_importance(grad).tolist() == [[0.5, -4.0]]
    assert map_frame_importance(grad, "signed").tolist() == [[0.5, -4.0]]
    assert map_frame_importance(grad, "abs").tolist() == [[1.5, 4.0]]
    # one channel alone carries a value: the channels are averaged, not summed
    grad = torch.zeros(1, 3, 1, 2, 2)
    grad[0, 0] = 3.0
    assert map_frame_importance(grad).tolist() == [[1.0]]


def test_unknown_options_are_config_errors():
    with pytest.raises(ConfigError, match="gradient='squared' is unknown"):
        frame_importance(_linear_model(), torch.zeros(1, 3, 2, 2, 2), 0, gradient="squared")
    with pytest.raises(ConfigError, match="aggregate='median' is unknown"):
        aggregate_frames(torch.zeros(1, 2), "median")
    with pytest.raises(ConfigError, match="aggregate='sum'"):
        tiny_module(aggregate="sum")


def test_one_backward_equals_per_clip_backward():
    torch.manual_seed(0)
    module = tiny_module().eval()
    clips = torch.randn(3, 3, 16, 32, 32)
    batch, _ = frame_importance(module.model, clips, target=2)
    single = torch.cat([frame_importance(module.model, clips[i : i + 1], 2)[0] for i in range(3)])
    torch.testing.assert_close(batch, single, rtol=1e-4, atol=1e-9)
    # parameters' gradients are untouched: importance is not a training step
    assert all(p.grad is None for p in module.parameters())


def test_step_scores_map_picks_to_segments_hand_computed():
    importance = VideoImportance(
        path=Path("v.mp4"), n_frames=40, fps=8.0, starts=np.array([0, 16, 32]),
        ends=np.array([15, 31, 39]), segment=np.array([2.0, 4.0, 3.0]),
        frames=np.zeros((3, 16)), probabilities=np.array([0.2, 0.8]), predicted=1,
    )
    assert importance.step_scores(np.array([0, 15, 16, 39])).tolist() == [0.0, 0.0, 1.0, 0.5]
    frames = importance.frame_scores()
    assert frames.shape == (40,) and frames[15] == 2.0 and frames[16] == 4.0 and frames[39] == 3.0
    with pytest.raises(ConfigError, match=r"picks range \[0, 40\] outside the video's 40 frames"):
        importance.step_scores(np.array([0, 40]))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("imp")
    return make_category_videos(root, 1, 1, n_frames=56, seed=3)[0].path


def test_video_importance_streaming_equals_one_batch(video):
    torch.manual_seed(0)
    module = tiny_module()
    one = module.video_importance(video, batch_size=8)  # 4 segments: one forward, one backward
    two = module.video_importance(video, batch_size=3)  # probabilities first, then gradients
    np.testing.assert_array_equal(one.starts, [0, 16, 32, 48])
    np.testing.assert_array_equal(one.ends, [15, 31, 47, 55])  # the last segment is short
    assert one.predicted == two.predicted == int(np.argmax(one.probabilities))
    assert one.category == module.categories[one.predicted]
    np.testing.assert_allclose(one.segment, two.segment, rtol=1e-4)
    np.testing.assert_allclose(one.probabilities, two.probabilities, rtol=1e-4)
    np.testing.assert_allclose(one.segment, one.frames.mean(axis=1), rtol=1e-6)
    fixed = module.video_importance(video, target="cat2", aggregate="max")
    assert fixed.predicted == 2
    np.testing.assert_allclose(fixed.segment, fixed.frames.max(axis=1), rtol=1e-6)
    assert module.training  # restored after scoring
    with pytest.raises(ConfigError, match="category 'dog' not among"):
        module.video_importance(video, target="dog")


def test_score_video_takes_a_path_not_features(video):
    module = tiny_module()
    scores = module.score_video(video)  # 2 fps steps of an 8 fps video: every 4th frame
    assert scores.shape == (14,) and scores.min() == 0.0 and scores.max() == 1.0
    picks = np.array([0, 20, 50])
    np.testing.assert_array_equal(
        module.score_video_file(video, picks, 56, 8.0), module.score_video(video, picks)
    )
    with pytest.raises(ConfigError, match="scores raw videos, not features"):
        module.score_video(np.zeros((5, 1024)))
    with pytest.raises(ConfigError, match="decoded 56 frames but the caller counted 60"):
        module.score_video_file(video, picks, 60, 8.0)
