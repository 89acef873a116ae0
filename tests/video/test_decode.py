from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vsumlab.data.synthetic.scene_videos import scene_colour
from vsumlab.data.video_decode import VideoError, find_videos, iter_frames, probe, sample_picks
from vsumlab.errors import VsumError


def test_probe_reports_planted_length_rate_size_and_audio(scene_video, audio_video, scenes):
    info = probe(scene_video)
    assert (info.n_frames, info.fps, info.width, info.height) == (sum(scenes), 30.0, 96, 64)
    assert info.duration == pytest.approx(9.0)
    assert info.has_audio is False
    assert probe(audio_video).has_audio is True


@pytest.mark.parametrize(
    ("n_frames", "fps", "target", "stride", "expected"),
    [
        (100, 30.0, 2.0, None, [0, 15, 30, 45, 60, 75, 90]),  # 2 fps at 30 fps = stride 15
        (100, 25.0, 2.0, None, [0, 12, 25, 37, 50, 62, 75, 87]),  # floor(k * 12.5)
        (31, 30.0, 2.0, None, [0, 15, 30]),  # the last frame is a step time exactly
        (10, 30.0, 2.0, 4, [0, 4, 8]),  # stride wins over the rate
        (5, 10.0, 20.0, None, [0, 1, 2, 3, 4]),  # faster than the video: every frame, once
        (1, 30.0, 2.0, None, [0]),
    ],
)
def test_sample_picks_hand_computed(n_frames, fps, target, stride, expected):
    picks = sample_picks(n_frames, fps, target, stride)
    assert picks.dtype == np.int64
    assert picks.tolist() == expected


def test_sample_picks_29_97_fps_follows_time():
    picks = sample_picks(3000, 30000 / 1001, 2.0)
    # step k shows time k/2 s: frame floor(k * 14.985)
    assert picks[:4].tolist() == [0, 14, 29, 44]
    assert np.all(np.diff(picks) > 0) and picks[-1] < 3000


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_frames=0, fps=30.0),
        dict(n_frames=10, fps=0.0),
        dict(n_frames=10, fps=30.0, target_fps=-1.0),
        dict(n_frames=10, fps=30.0, stride=0),
    ],
)
def test_sample_picks_rejects_bad_values(kwargs):
    with pytest.raises(VideoError):
        sample_picks(**kwargs)


def test_iter_frames_yields_exactly_the_picks_with_the_planted_colours(scene_video, scenes):
    picks = sample_picks(sum(scenes), 30.0)
    frames = list(iter_frames(scene_video, picks))
    assert [index for index, _ in frames] == picks.tolist()
    for index, image in frames:
        assert image.shape == (64, 96, 3) and image.dtype == np.uint8
        # mean colour of the frame is the scene's base colour (stripe and noise average out
        # to within 20 levels)
        assert np.abs(image.reshape(-1, 3).mean(0) - scene_colour(index, scenes)).max() < 20


def test_iter_frames_resizes_and_streams(scene_video):
    stream = iter_frames(scene_video, np.array([0, 100, 200]), size=(32, 16))
    index, image = next(stream)
    # lazy: only the frames up to the first pick have been decoded so far
    assert (index, stream.n_decoded) == (0, 1)
    assert image.shape == (16, 32, 3)
    assert [i for i, _ in stream] == [100, 200]
    assert stream.n_decoded == 201 and not stream.finished


def test_iter_frames_all_frames_and_picks_beyond_the_end(scene_video, scenes):
    stream = iter_frames(scene_video)
    assert sum(1 for _ in stream) == sum(scenes)
    stream = iter_frames(scene_video, np.array([260, 269, 400]))
    assert [i for i, _ in stream] == [260, 269]
    assert stream.finished and stream.n_decoded == sum(scenes)


def test_iter_frames_rejects_unsorted_picks(scene_video):
    with pytest.raises(VideoError, match="strictly increasing"):
        iter_frames(scene_video, np.array([5, 3]))


def _zero_length_avi(path: Path) -> Path:
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"") and p, "empty file"),
        (lambda p: p.write_text("not a video at all") and p, "not a readable video"),
        (_zero_length_avi, "zero-length video"),
        (_audio_only, "no video stream"),
        (lambda p: p, "no such video file"),
    ],
    ids=["empty", "text", "zero-length", "audio-only", "missing"],
)
def test_unusable_videos_raise_one_line_errors_naming_the_file(tmp_path, make, message):
    path = tmp_path / "clip.avi"
    path = make(path) or path
    for call in (lambda: probe(path), lambda: list(iter_frames(path))):
        with pytest.raises(VideoError, match=message) as info:
            call()
        assert str(path) in str(info.value) and "\n" not in str(info.value)
        assert isinstance(info.value, VsumError)


def test_find_videos_sorted_by_name_and_errors(tmp_path):
    for name in ("b.mp4", "A.MKV", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in find_videos(tmp_path)] == ["A.MKV", "b.mp4"]
    with pytest.raises(VideoError, match="no video files"):
        find_videos(_empty(tmp_path))
    with pytest.raises(VideoError, match="not a folder"):
        find_videos(tmp_path / "missing")


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder
