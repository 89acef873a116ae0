from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.scene_videos import write_scene_video
from vsumlab.data.video_decode import VideoError
from vsumlab.errors import ConfigError
from vsumlab.video.encoders import build_encoder
from vsumlab.video.features import Sampling
from vsumlab.video.h5build import build_feature_file, parts_dir


class CountingEncoder:
    """colorhist that records which frames it encoded (to see what a resumed run redoes)."""

    def __init__(self):
        self.inner = build_encoder("colorhist")
        self.name, self.dim, self.weights = "colorhist", self.inner.dim, None
        self.input_size = self.inner.input_size
        self.frames = 0

    def preprocess(self, frames):
        return self.inner.preprocess(frames)

    def encode(self, batch):
        self.frames += batch.shape[0]
        return self.inner.encode(batch)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("folder")
    write_scene_video(folder / "alpha.mp4", (30, 30), fps=30, size=(64, 48))
    write_scene_video(folder / "beta.mp4", (45, 15, 30), fps=30, size=(64, 48), seed=1)
    write_scene_video(folder / "gamma clip.mp4", (60,), fps=30, size=(64, 48), seed=2)
    (folder / "notes.txt").write_text("not a video")
    return folder


def test_folder_to_standard_h5(folder, tmp_path):
    out = tmp_path / "feats.h5"
    report = build_feature_file(folder, out, build_encoder("colorhist"), Sampling(stride=15))
    assert sorted(report.written) == ["alpha", "beta", "gamma clip"] and report.skipped == []
    data = read_dataset(out)  # validates every record against the schema
    assert data.keys == ["alpha", "beta", "gamma clip"]
    beta = data["beta"]
    assert beta.picks.tolist() == [0, 15, 30, 45, 60, 75]
    assert (beta.n_frames, beta.fps, beta.features.shape) == (90, 30.0, (6, 512))
    assert beta.change_points.tolist() == [[0, 44], [45, 59], [60, 89]]  # the planted scenes
    assert beta.video_name == "beta"
    assert data.attrs["feature_model"] == "colorhist" and data.attrs["feature_dim"] == 512
    assert data.attrs["sampling"] == "stride=15" and data.attrs["synthetic_features"] is False
    assert not parts_dir(out).exists()


def test_interrupted_run_resumes_without_redoing_stored_videos(folder, tmp_path):
    out = tmp_path / "feats.h5"

    def interrupt_after_first(key: str) -> None:
        raise KeyboardInterrupt

    first = CountingEncoder()
    with pytest.raises(KeyboardInterrupt):
        build_feature_file(folder, out, first, on_video=interrupt_after_first)
    # the finished video is safe in its own part file; nothing half-written anywhere
    assert not out.exists()
    parts = list(parts_dir(out).glob("*.h5"))
    assert len(parts) == 1 and not list(parts_dir(out).glob("*.tmp"))
    assert first.frames == 4  # alpha: 60 frames, a step every 15

    second = CountingEncoder()
    report = build_feature_file(folder, out, second)
    assert report.skipped == ["alpha"] and sorted(report.written) == ["beta", "gamma clip"]
    assert second.frames == 6 + 4  # beta (90 frames) + gamma (60 frames), not alpha again
    assert read_dataset(out).keys == ["alpha", "beta", "gamma clip"]

    third = CountingEncoder()
    report = build_feature_file(folder, out, third)
    assert third.frames == 0 and report.written == [] and len(report.skipped) == 3

    # a video added later is appended to the existing file
    more = tmp_path / "more"
    shutil.copytree(folder, more)
    write_scene_video(more / "delta.mp4", (30,), fps=30, size=(64, 48))
    report = build_feature_file(more, out, CountingEncoder())
    assert report.written == ["delta"]
    assert read_dataset(out).keys == ["alpha", "beta", "delta", "gamma clip"]


def test_resume_with_another_model_or_rate_is_refused_unless_forced(folder, tmp_path):
    out = tmp_path / "feats.h5"
    build_feature_file(folder, out, build_encoder("colorhist"))
    tiny = build_encoder("vsumlab-tiny-clip")
    with pytest.raises(ConfigError, match="feature_model=colorhist.*feature_model=vsumlab-tiny"):
        build_feature_file(folder, out, tiny)
    with pytest.raises(ConfigError, match="sampling=fps=2.*sampling=stride=10"):
        build_feature_file(folder, out, build_encoder("colorhist"), Sampling(stride=10))
    report = build_feature_file(folder, out, tiny, force=True)
    assert len(report.written) == 3
    with h5py.File(out, "r") as handle:
        assert handle.attrs["feature_model"] == "vsumlab-tiny-clip"
        assert handle["alpha/features"].shape == (4, 32)


def test_unreadable_video_is_reported_after_the_others_are_stored(folder, tmp_path):
    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "broken.mp4").write_bytes(b"\x00" * 100)
    out = tmp_path / "feats.h5"
    with pytest.raises(VideoError, match=r"1 of 4 videos could not be read .*broken\.mp4"):
        build_feature_file(mixed, out, build_encoder("colorhist"))
    assert read_dataset(out).keys == ["alpha", "beta", "gamma clip"]


def test_duplicate_stems_are_refused(tmp_path):
    write_scene_video(tmp_path / "same.mp4", (30,), fps=30, size=(64, 48))
    shutil.copy(tmp_path / "same.mp4", tmp_path / "same.mkv")
    with pytest.raises(VideoError, match="same name as"):
        build_feature_file(tmp_path, tmp_path / "f.h5", build_encoder("colorhist"))


@pytest.fixture(scope="module")
def summe(summe_gt_dir):
    from vsumlab.data.importers import import_summe

    return import_summe(summe_gt_dir)


@pytest.mark.slow  # imports all 25 SumMe annotations (KTS on each): ~3-7 s
def test_summe_annotations_are_attached_by_video_name(summe, summe_gt_dir, tmp_path):
    """A raw video named like a SumMe video, as long as its annotation, gets its ground truth."""
    from scipy.io import loadmat

    name = "Cooking"
    mat = loadmat(summe_gt_dir / f"{name}.mat")
    n_frames = int(mat["user_score"].shape[0])
    videos = tmp_path / "videos"
    write_scene_video(videos / f"{name}.mp4", (n_frames // 2, n_frames - n_frames // 2),
                      fps=30, size=(32, 32))
    out = tmp_path / "summe.h5"
    build_feature_file(videos, out, build_encoder("colorhist"), Sampling(stride=15),
                       annotations=summe)
    data = read_dataset(out)
    (record,) = list(data)
    assert record.key == "video_9"  # Cooking is 9th of the 25 names sorted case-insensitively
    assert record.video_name == name and data.attrs["annotation_style"] == "summe"
    expected = (mat["user_score"] > 0).T.astype(np.float32)
    np.testing.assert_array_equal(record.user_summary, expected)
    share = expected.mean(axis=0)[record.picks]
    expected_gt = (share - share.min()) / (share.max() - share.min())
    np.testing.assert_allclose(record.gtscore, expected_gt, atol=1e-6)


@pytest.mark.slow
def test_unmatched_video_names_are_an_error(summe, tmp_path):
    from vsumlab.errors import DatasetError

    write_scene_video(tmp_path / "holiday.mp4", (30,), fps=30, size=(32, 32))
    with pytest.raises(DatasetError, match="no annotation for video file.*holiday.mp4"):
        build_feature_file(tmp_path, tmp_path / "o.h5", build_encoder("colorhist"),
                           annotations=summe)


def _record(key: str, n_frames: int, **fields):
    from vsumlab.data.schema import VideoRecord

    picks = np.arange(0, n_frames, 15)
    cps = np.array([[0, n_frames // 2 - 1], [n_frames // 2, n_frames - 1]])
    return VideoRecord(key=key, features=np.zeros((len(picks), 4), np.float32), picks=picks,
                       n_frames=n_frames, fps=30.0, change_points=cps,
                       n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1, **fields)


def test_tvsum_annotations_are_rederived_on_the_files_own_shots():
    from vsumlab.data.importers import tvsum_user_summaries
    from vsumlab.errors import DatasetError
    from vsumlab.video.annotate import attach_annotations

    rng = np.random.default_rng(0)
    user_anno = rng.integers(1, 6, size=(3, 119)).astype(np.float32)
    annotation = _record("video_7", 119, user_anno=user_anno, video_name="AbC", video_id="AbC",
                         category="VT", title="t")
    own = _record("AbC", 120)  # the decoder finds one frame more than the annotation has
    merged = attach_annotations(own, annotation, "tvsum", "tvsum.mat")
    assert merged.key == "video_7" and merged.category == "VT"
    # the missing last frame repeats the annotation's last frame
    expected_anno = np.concatenate([user_anno, user_anno[:, -1:]], axis=1)
    np.testing.assert_array_equal(merged.user_anno, expected_anno)
    np.testing.assert_array_equal(
        merged.user_summary, tvsum_user_summaries(expected_anno, own.change_points)
    )
    mean = expected_anno.mean(axis=0)[own.picks]
    np.testing.assert_allclose(merged.gtscore, (mean - mean.min()) / (mean.max() - mean.min()))
    with pytest.raises(DatasetError, match="annotation covers 119 frames but the video file has 300"):
        attach_annotations(_record("AbC", 300), annotation, "tvsum", "tvsum.mat")
