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
    assert [s["selected"] for s in summary["shots"]] == [False, False, True, False]
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


def test_budget_smaller_than_every_shot(scene_video, tmp_path):
    with pytest.raises(VsumError, match="ratio 0.1 allows 27 frames, fewer than the shortest"):
        summarize_video(scene_video, SceneScorer(), build_encoder("colorhist"), 0.1, tmp_path)
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
