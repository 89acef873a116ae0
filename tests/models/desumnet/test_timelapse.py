"""The paper's time-lapse rule, hand-computed, and the written video's length."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.data.synthetic.event_videos import write_mp4
from vsumlab.data.video_decode import iter_frames, probe
from vsumlab.errors import ConfigError, OutputExistsError
from vsumlab.video.timelapse import keep_counts, timelapse_frames, write_video


def test_keep_counts_paper_rule_hand_computed():
    # shares 1/8, 1/8, 1/4, 1/2 -> r = 7/8, 7/8, 3/4, 1/2 -> remove 14, 14, 12, 8 of 16
    assert keep_counts([16] * 4, [1, 1, 2, 4]).tolist() == [2, 2, 4, 8]
    # unequal lengths: shares 0.25, 0.75 -> remove round(0.75*10)=8 (7.5 rounds to even),
    # round(0.25*20)=5 -> keep 2 and 15
    assert keep_counts([10, 20], [1, 3]).tolist() == [2, 15]
    # every segment stays in the time-lapse with at least min_keep frames
    assert keep_counts([16] * 4, [0, 0, 0, 1]).tolist() == [1, 1, 1, 16]
    assert keep_counts([16] * 4, [0, 0, 0, 1], min_keep=3).tolist() == [3, 3, 3, 16]
    assert keep_counts([2, 16], [0, 1], min_keep=3).tolist() == [2, 16]  # never above length
    # signed importance: negatives count as 0; all zero: alike, 16 * 1/4 = 4 each
    assert keep_counts([16] * 4, [-1, 0, -2, 0]).tolist() == [4, 4, 4, 4]


def test_timelapse_frames_uniform_within_segments():
    segments = np.array([[0, 15], [16, 31]])
    frames = timelapse_frames(segments, [1.0, 3.0])  # keep 4 and 12 of 16
    # 4 of 16: centres of 4 parts of 4 frames -> 2, 6, 10, 14
    assert frames[:4].tolist() == [2, 6, 10, 14]
    assert len(frames) == 16 and frames[4] == 16 and np.all(np.diff(frames) > 0)
    assert frames.max() <= 31


def test_errors():
    with pytest.raises(ConfigError, match="3 importance values for 2 segments"):
        keep_counts([4, 4], [1, 2, 3])
    with pytest.raises(ConfigError, match="min_keep=0"):
        keep_counts([4], [1], min_keep=0)


def test_write_video_keeps_exactly_the_chosen_frames(tmp_path):
    # frame i is a flat grey of level 5 * i, so a decoded frame tells its source index
    levels = [np.full((24, 32, 3), 5 * i, dtype=np.uint8) for i in range(40)]
    source = write_mp4(tmp_path / "index.mp4", np.stack(levels), fps=8.0)
    frames = timelapse_frames(np.array([[0, 15], [16, 31], [32, 39]]), [1.0, 6.0, 1.0])
    assert keep_counts([16, 16, 8], [1.0, 6.0, 1.0]).tolist() == [2, 12, 1]
    out = write_video(source, frames, tmp_path / "lapse.mp4", fps=8.0)
    info = probe(out)
    assert info.n_frames == len(frames) == 15 and info.fps == pytest.approx(8.0)
    written = [int(round(img.mean() / 5)) for _, img in iter_frames(out)]
    assert written == frames.tolist()
    with pytest.raises(OutputExistsError):
        write_video(source, frames, out, fps=8.0)


def test_signed_importance_enters_the_rule_scaled_to_unit_range():
    """`vsumlab timelapse` feeds I_i = minmax(segment importance): signed -2, 0, 2 become
    0, 0.5, 1 -> shares 0, 1/3, 2/3 -> r = 1, 2/3, 1/3 -> remove 16, round(10.67)=11,
    round(5.33)=5 of 16 frames; the first segment keeps min_keep=1."""
    from pathlib import Path

    from vsumlab.models.desumnet import VideoImportance

    importance = VideoImportance(
        path=Path("v.mp4"), n_frames=48, fps=8.0, starts=np.array([0, 16, 32]),
        ends=np.array([15, 31, 47]), segment=np.array([-2.0, 0.0, 2.0]),
        frames=np.zeros((3, 16)), probabilities=np.array([1.0]), predicted=0,
    )  # fmt: skip
    assert importance.unit_segment().tolist() == [0.0, 0.5, 1.0]
    assert keep_counts([16] * 3, importance.unit_segment()).tolist() == [1, 5, 11]
