from __future__ import annotations

import threading

import numpy as np
import pytest

from vsumlab.data.schema import validate_record
from vsumlab.data.synthetic.scene_videos import scene_starts
from vsumlab.data.video_decode import VideoError, VideoInfo
from vsumlab.video.encoders import build_encoder
from vsumlab.video.features import (
    Sampling,
    VideoFailure,
    decode_size,
    extract_video_features,
    iter_video_features,
    video_record,
)


def test_features_at_picks_and_shots_at_the_planted_cuts(scene_video, scenes):
    encoder = build_encoder("colorhist")
    video = extract_video_features(scene_video, encoder, batch_size=4)
    assert video.picks.tolist() == list(range(0, 270, 15))
    assert video.features.shape == (18, 512) and video.features.dtype == np.float32
    assert (video.n_frames, video.fps) == (270, 30.0)
    record = video_record("scenes", video)
    validate_record(record)
    # cuts at frames 60, 150, 195 are multiples of the 15-frame step: KTS on colour
    # histograms finds exactly them
    assert record.change_points[:, 0].tolist() == [0, *scene_starts(scenes).tolist()]
    assert record.change_points[-1, 1] == 269
    assert record.n_frame_per_seg.tolist() == list(scenes)


def test_stride_sampling_and_batch_size_do_not_change_features(scene_video):
    encoder = build_encoder("colorhist")
    one = extract_video_features(scene_video, encoder, Sampling(stride=10), batch_size=1)
    many = extract_video_features(scene_video, encoder, Sampling(stride=10), batch_size=64)
    assert one.picks.tolist() == list(range(0, 270, 10))
    np.testing.assert_array_equal(one.features, many.features)


class _HandshakeEncoder:
    """Wraps an encoder; ``encode`` of batch k waits until batch k+1 has been preprocessed.

    Without a decoder running concurrently with the model that never happens and the wait
    times out, so this proves that decoding overlaps the forward pass.
    """

    def __init__(self, inner, n_batches: int):
        self.inner, self.n_batches = inner, n_batches
        self.name, self.dim, self.input_size, self.weights = "wrapped", inner.dim, 64, None
        self.prepared = 0
        self.cond = threading.Condition()
        self.overlapped = 0

    def preprocess(self, frames):
        out = self.inner.preprocess(frames)
        with self.cond:
            self.prepared += 1
            self.cond.notify_all()
        return out

    def encode(self, batch):
        with self.cond:
            encoded = getattr(self, "_encoded", 0)
            if encoded + 1 < self.n_batches and self.cond.wait_for(lambda: self.prepared >= encoded + 2, timeout=5):
                self.overlapped += 1
        self._encoded = encoded + 1
        return self.inner.encode(batch)


def test_decoding_overlaps_the_model(scene_video):
    encoder = _HandshakeEncoder(build_encoder("colorhist"), n_batches=6)
    video = extract_video_features(scene_video, encoder, batch_size=3)  # 18 picks = 6 batches
    # every batch but the last found the next one already decoded while it was encoded
    assert encoder.overlapped == 5
    assert video.features.shape == (18, 512)


def test_unreadable_video_in_a_batch_job_does_not_stop_the_others(scene_video, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    results = list(
        iter_video_features([bad, scene_video], build_encoder("colorhist"), batch_size=8)
    )
    assert isinstance(results[0], VideoFailure) and "not a readable video" in str(
        results[0].error
    )
    assert results[1].features.shape == (18, 512)
    with pytest.raises(VideoError, match="bad.mp4"):
        extract_video_features(bad, build_encoder("colorhist"))


def test_decode_size_only_downscales_keeping_the_aspect():
    info = VideoInfo(n_frames=1, fps=30.0, width=1920, height=1080, duration=1.0, has_audio=False)
    assert decode_size(info, 224) == (398, 224)
    assert decode_size(info, 2000) is None
    assert decode_size(info, None) is None
