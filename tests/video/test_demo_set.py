"""The offline path from an mp4 to a summary: generated annotated videos, their colorhist h5, a
summarizer trained on it, `vsumlab summarize` with that checkpoint (no --model, no weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset
from vsumlab.data.video_decode import probe

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "experiments" / "video_demo" / "transformer_colorhist.yaml"


def test_generated_videos_carry_annotations_on_their_scenes(tmp_path: Path) -> None:
    from vsumlab.data.synthetic.summary_videos import make_summary_videos

    annotations = make_summary_videos(tmp_path, n_videos=2, seed=5, seconds=(10.0, 12.0))
    for key, record in annotations.records.items():
        info = probe(tmp_path / f"{key}.mp4")
        assert info.n_frames == record.n_frames and info.fps == 8.0
        scores = record.user_anno
        assert scores.shape == (10, record.n_frames) and set(np.unique(scores)) <= {1, 2, 4, 5}
        assert (scores >= 4).any()  # at least one event scene per video
        # every annotator gives one score per scene: the scores change at scene cuts only
        changes = {int(i) for row in scores for i in np.flatnonzero(np.diff(row))}
        assert len(changes) <= record.n_frames // 16  # scenes last 2 s (16 frames) or more


@pytest.mark.slow
def test_offline_path_from_an_mp4_to_a_summary(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("VSUMLAB_DOWNLOAD_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-cache"))  # no GoogLeNet either
    data, runs = tmp_path / "demo", tmp_path / "runs"
    assert main(["video-demo", "--out", str(data), "--videos", "8"]) == 0
    made = json.loads(capsys.readouterr().out)
    dataset = read_dataset(made["h5"])
    assert len(dataset.records) == 8 and dataset.attrs["feature_model"] == "colorhist"
    assert dataset.attrs["annotation_style"] == "tvsum"
    first = next(iter(dataset.records.values()))
    assert first.features.shape[1] == 512 and first.user_anno is not None

    monkeypatch.setenv("VIDEO_DEMO_DATA", str(data))
    monkeypatch.setenv("VIDEO_DEMO_RUNS", str(runs))
    assert main(["fit", "--config", str(RECIPE), "--trainer.max_epochs=2",
                 "--trainer.enable_progress_bar=false"]) == 0
    checkpoint = runs / "checkpoints" / "model.ckpt"
    assert checkpoint.is_file()

    out = tmp_path / "summary"
    assert main(["summarize", made["example"], "--checkpoint", str(checkpoint), "--out",
                 str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["encoder"]["model"] == "colorhist"  # read from the checkpoint
    # 60 s at 8 fps = 480 frames; the 15% budget: 72 frames
    assert summary["duration_s"] == 60.0 and 0 < summary["summary_frames"] <= 72
    assert {p.name for p in out.iterdir()} == {"summary.mp4", "keyframes.jpg", "scores.png",
                                               "summary.json"}
    assert probe(out / "summary.mp4").n_frames == summary["summary_frames"]

    # a one-shot video: fixed-length segments, said on stderr, not "raise --ratio"
    from vsumlab.data.synthetic.scene_videos import write_scene_video

    one = write_scene_video(tmp_path / "one_take.mp4", [240], fps=4, size=(64, 48))
    capsys.readouterr()
    assert main(["summarize", str(one), "--checkpoint", str(checkpoint), "--out",
                 str(tmp_path / "one"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "fell back to fixed-length segments" in captured.err
    assert json.loads(captured.out)["segmentation"] == "fixed-length segments"
