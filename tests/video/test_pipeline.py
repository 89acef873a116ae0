from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vsumlab.data.video_decode import probe
from vsumlab.errors import ConfigError, OutputExistsError, VsumError
from vsumlab.video.encoders import build_encoder
from vsumlab.video.pipeline import checkpoint_encoder, summarize_video


class SceneScorer:
    """Stand-in for a trained model: likes the third scene (frames 150..194)."""

    input_dim = 512

    def __init__(self):
        self.calls = 0

    def score_video(self, features: np.ndarray) -> np.ndarray:
        self.calls += 1
        picks = np.arange(len(features)) * 15
        scores = np.where((picks >= 150) & (picks <= 194), 0.9, 0.1)
        scores[picks == 180] = 1.0  # the keyframe of the liked shot
        return scores


@pytest.mark.parametrize("with_audio", [False, True])
def test_summary_outputs(scene_video, audio_video, tmp_path, with_audio):
    source = audio_video if with_audio else scene_video
    out = tmp_path / "out"
    result = summarize_video(source, SceneScorer(), build_encoder("colorhist"), ratio=0.2,
                             out_dir=out, model_info={"checkpoint": "standin.ckpt"})
    assert sorted(p.name for p in out.iterdir()) == [
        "keyframes.jpg", "scores.png", "summary.json", "summary.mp4"
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary == result.summary
    # budget floor(0.2 * 270) = 54 frames: only the liked 45-frame shot fits with it
    assert summary["budget_frames"] == 54
    assert [(s["start_frame"], s["end_frame"]) for s in summary["segments"]] == [(150, 194)]
    segment = summary["segments"][0]
    assert (segment["start_s"], segment["end_s"]) == (5.0, 6.5)
    assert (segment["keyframe"], segment["keyframe_s"]) == (180, 6.0)
    assert segment["score"] == pytest.approx((15 * 0.9 + 15 * 1.0 + 15 * 0.9) / 45)
    assert summary["summary_frames"] == 45 <= summary["budget_frames"]
    assert summary["summary_s"] == 1.5 and summary["duration_s"] == 9.0
    # the shots longer than the 54-frame budget (60, 90, 75) are split in two (they could never
    # be chosen whole); the liked 45-frame shot is kept and chosen
    assert [(s["start_frame"], s["end_frame"], s["selected"]) for s in summary["shots"]] == [
        (0, 29, False), (30, 59, False), (60, 104, False), (105, 149, False),
        (150, 194, True), (195, 232, False), (233, 269, False)]
    assert summary["segmentation"]["method"] == "kts, long shots split"
    assert summary["model"]["checkpoint"] == "standin.ckpt"
    assert summary["model"]["encoder"] == {"model": "colorhist", "weights": "", "dim": 512}
    assert summary["has_audio"] is with_audio and summary["protocol"]["budget"] == 0.2
    assert len(summary["steps"]["picks"]) == len(summary["steps"]["scores"]) == 18

    video = probe(out / "summary.mp4")
    assert video.n_frames == 45 and video.has_audio is with_audio
    with Image.open(out / "keyframes.jpg") as sheet:
        assert sheet.format == "JPEG" and sheet.size[0] == 320 + 8  # one thumbnail
    with Image.open(out / "scores.png") as plot:
        assert plot.format == "PNG"


def test_existing_outputs_need_force(scene_video, tmp_path):
    scorer, encoder = SceneScorer(), build_encoder("colorhist")
    summarize_video(scene_video, scorer, encoder, 0.2, tmp_path)
    with pytest.raises(OutputExistsError, match="summary.mp4: already exists; pass --force"):
        summarize_video(scene_video, scorer, encoder, 0.2, tmp_path)
    assert scorer.calls == 1  # refused before any work
    summarize_video(scene_video, scorer, encoder, 0.2, tmp_path, force=True)
    assert scorer.calls == 2


def test_feature_dimension_mismatch_names_both(scene_video, tmp_path):
    scorer = SceneScorer()
    scorer.input_dim = 1024
    with pytest.raises(ConfigError, match="expects 1024-d features .* colorhist gives 512-d"):
        summarize_video(scene_video, scorer, build_encoder("colorhist"), 0.2, tmp_path)


def test_shots_longer_than_the_budget_are_split_and_the_summary_says_so(scene_video, tmp_path):
    """ratio 0.1: floor(0.1 * 270) = 27 frames, shorter than every KTS shot (60, 90, 45, 75):
    each is split into equal segments of at most min(27, 2 s = 60) frames: 60 -> 3 x 20,
    90 -> 23, 23, 22, 22, 45 -> 23, 22, 75 -> 3 x 25. The liked shot's second half (frames
    173..194: 7 frames at 0.9, 15 at 1.0) outscores its first (23 frames at 0.9) and fits."""
    result = summarize_video(scene_video, SceneScorer(), build_encoder("colorhist"), 0.1,
                             tmp_path)
    summary = result.summary
    assert [(s["start_frame"], s["end_frame"]) for s in summary["shots"]] == [
        (0, 19), (20, 39), (40, 59), (60, 82), (83, 105), (106, 127), (128, 149),
        (150, 172), (173, 194), (195, 219), (220, 244), (245, 269)]
    assert [(s["start_frame"], s["end_frame"]) for s in summary["segments"]] == [(173, 194)]
    assert summary["segmentation"] == {"method": "kts, long shots split", "kts_shots": 4,
                                       "max_segment_frames": 27}
    note = ("KTS found 4 shot(s), 4 longer than the summary budget (27 frames = 0.9 s at ratio "
            "0.1); split 4 of them into equal segments of at most 27 frames (0.9 s)")
    assert summary["notes"] == [note] and result.notes == [f"{scene_video}: {note}"]
    assert "raise --ratio" not in " ".join(result.notes)


def test_a_video_of_one_shot_falls_back_to_fixed_length_segments(video_dir, tmp_path):
    from vsumlab.data.synthetic.scene_videos import write_scene_video

    one = write_scene_video(video_dir / "one_take.mp4", [240], fps=4, size=(64, 48))
    result = summarize_video(one, ConstantScorer(), build_encoder("colorhist"), 0.15, tmp_path)
    summary = result.summary
    # 60 s at 4 fps, one KTS shot; budget floor(0.15 * 240) = 36 frames; segments of at most
    # 2 s = 8 frames: 240 / 8 = 30 segments, of which 4 fit (32 <= 36 frames)
    assert summary["segmentation"] == {"method": "fixed-length segments", "kts_shots": 1,
                                       "max_segment_frames": 8}
    assert len(summary["shots"]) == 30 and summary["summary_frames"] == 32
    assert "fell back to fixed-length segments of at most 8 frames (2.0 s)" in result.notes[0]
    assert (tmp_path / "summary.mp4").is_file()


class ConstantScorer:
    input_dim = 512

    def score_video(self, features: np.ndarray) -> np.ndarray:
        return np.linspace(0.2, 0.8, len(features))


def test_a_budget_of_no_frame_asks_for_a_larger_ratio(scene_video, tmp_path):
    with pytest.raises(VsumError, match="ratio 0.001 of 270 frames allows no frame; raise --ratio"):
        summarize_video(scene_video, SceneScorer(), build_encoder("colorhist"), 0.001, tmp_path)
    assert not list(tmp_path.iterdir())


def test_scorer_output_is_checked(scene_video, tmp_path):
    class Short:
        def score_video(self, features):
            return np.ones(3)

    with pytest.raises(VsumError, match="returned 3 scores .* expected 18"):
        summarize_video(scene_video, Short(), build_encoder("colorhist"), 0.2, tmp_path)


def test_a_scorer_may_read_the_video_itself(scene_video, tmp_path):
    class ClipScorer:  # e.g. a 3D CNN scoring raw clips; features serve the shots only
        input_dim = 999  # not compared: it does not consume the encoder's features

        def score_video_file(self, path, picks, n_frames, fps):
            assert (n_frames, fps) == (270, 30.0)
            return (picks < 60).astype(float)  # likes the first scene

    result = summarize_video(scene_video, ClipScorer(), build_encoder("colorhist"), 0.25,
                             tmp_path)
    assert [s["start_frame"] for s in result.summary["segments"]] == [0]


class _Module:
    def __init__(self, input_dim, **hparams):
        self.input_dim, self.hparams = input_dim, hparams


def test_checkpoint_encoder_choice():
    assert checkpoint_encoder(_Module(512), "colorhist", None, "c") == ("colorhist", None)
    recorded = _Module(512, feature_model="ViT-B-32", feature_weights="/w/b32.bin")
    assert checkpoint_encoder(recorded, None, None, "c") == ("ViT-B-32", "/w/b32.bin")
    assert checkpoint_encoder(recorded, None, "/mine.bin", "c") == ("ViT-B-32", "/mine.bin")
    assert checkpoint_encoder(_Module(1024), None, None, "c") == ("googlenet", None)
    assert checkpoint_encoder(_Module(512), None, None, "c") == ("ViT-B-16", None)
    with pytest.raises(ConfigError, match="c: records no feature encoder and expects 64-d"):
        checkpoint_encoder(_Module(64), None, None, "c")
