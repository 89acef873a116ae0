from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest

from vsumlab.cli.main import main
from vsumlab.data.synthetic.scene_videos import write_scene_video
from vsumlab.data.video_decode import probe


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny transformer summarizer over 512-d features, saved by Lightning."""
    from vsumlab.models.summarizer import SummarizerModule

    module = SummarizerModule(
        summarizer="transformer",
        summarizer_args=dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, head_hidden=16),
        input_dim=512,
    )
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.strategy.connect(module)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("video")
    return write_scene_video(folder / "trip.mp4", (60, 90, 45, 75, 30), fps=30, size=(96, 64),
                             audio=True)


def test_summarize_writes_the_four_outputs_within_budget(checkpoint, video, tmp_path, capsys):
    out = tmp_path / "summary"
    argv = ["summarize", str(video), "--checkpoint", str(checkpoint), "--out", str(out),
            "--model", "colorhist", "--ratio", "0.3", "--no-progress"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["outputs"]) == {"video", "keyframes", "plot", "json"}
    summary = json.loads((out / "summary.json").read_text())
    n_frames = 300
    assert summary["n_frames"] == n_frames and summary["budget_frames"] == int(0.3 * n_frames)
    assert 0 < summary["summary_frames"] <= summary["budget_frames"]
    assert summary["model"]["class"] == "SummarizerModule"
    assert summary["model"]["checkpoint"] == str(checkpoint)
    # KTS on colour histograms found the five planted scenes; the knapsack picked among them
    assert [s["start_frame"] for s in summary["shots"]] == [0, 60, 150, 195, 270]
    rendered = probe(out / "summary.mp4")
    assert rendered.n_frames == summary["summary_frames"] and rendered.has_audio
    assert (out / "keyframes.jpg").stat().st_size > 0 and (out / "scores.png").stat().st_size > 0

    assert main(argv) == 2  # outputs exist
    assert "already exists; pass --force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0


def test_summarize_feature_dimension_mismatch(checkpoint, video, tmp_path, capsys):
    code = main(["summarize", str(video), "--checkpoint", str(checkpoint), "--out",
                 str(tmp_path), "--model", "vsumlab-tiny-clip", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "expects 512-d features" in err and "vsumlab-tiny-clip gives 32-d" in err


def test_summarize_default_encoder_comes_from_the_checkpoint(checkpoint, video, tmp_path,
                                                            capsys):
    # a 512-d checkpoint that records no encoder defaults to ViT-B-16, whose weights are
    # looked up locally only: absent here, so the error says how to provide them
    code = main(["summarize", str(video), "--checkpoint", str(checkpoint), "--out",
                 str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "ViT-B-16 weights 'openai' are not in the local cache" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ratio", "1.5"], "--ratio 1.5 must be in (0, 1]"),
        (["--checkpoint", "/no/model.ckpt"], "checkpoint not found"),
        (["--query", "a dog"], "takes no text query"),
    ],
)
def test_summarize_bad_input(checkpoint, video, tmp_path, capsys, extra, message):
    argv = ["summarize", str(video), "--checkpoint", str(checkpoint), "--out", str(tmp_path),
            "--model", "colorhist", *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_summarize_unreadable_video(checkpoint, tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"")
    code = main(["summarize", str(bad), "--checkpoint", str(checkpoint), "--out",
                 str(tmp_path / "o"), "--model", "colorhist", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "bad.mp4: empty file (0 bytes)" in err and err.count("\n") == 1


def test_summarize_query_reaches_a_text_guided_model(video, tmp_path, capsys):
    """`--query` is passed to CLIP-It's score_video: the summary records different scores."""
    from vsumlab.models.clipit import CLIPItModule

    module = CLIPItModule(input_dim=512, text_encoder="vsumlab-tiny-clip", text_dim=32,
                          text_cache_dir=str(tmp_path / "text"), d_model=16, n_heads=2,
                          n_layers=1, dropout=0.0)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.strategy.connect(module)
    ckpt = tmp_path / "clipit.ckpt"
    trainer.save_checkpoint(ckpt)
    steps = {}
    for query in ("a red scene", "a blue scene"):
        out = tmp_path / query.replace(" ", "_")
        code = main(["summarize", str(video), "--checkpoint", str(ckpt), "--out", str(out),
                     "--model", "colorhist", "--query", query, "--no-progress"])
        assert code == 0, capsys.readouterr().err
        steps[query] = json.loads((out / "summary.json").read_text())["steps"]["scores"]
    assert steps["a red scene"] != steps["a blue scene"]


def _checkpoint_with_protocol(path, recorded: str) -> None:
    """A small model's checkpoint recording budget 0.3: as the run's protocol (``run``:
    written by the scoring callback) or as the model's hyper-parameter (``hparam``: checkpoints
    written before scoring left the models)."""
    import torch

    from vsumlab.models.summarizer import SummarizerModule
    from vsumlab.training.scoring import ProtocolScoring

    module = SummarizerModule(
        summarizer="transformer",
        summarizer_args=dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, head_hidden=16),
        input_dim=512,
    )
    callbacks = [ProtocolScoring({"budget": 0.3})] if recorded == "run" else []
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", callbacks=callbacks)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    if recorded == "hparam":
        payload = torch.load(path, weights_only=True)
        payload["hyper_parameters"]["protocol"] = {"budget": 0.3}
        torch.save(payload, path)


@pytest.mark.parametrize("recorded", ["run", "hparam"])
def test_summarize_budget_defaults_to_the_checkpoints_protocol(video, tmp_path, capsys, recorded):
    """Without --ratio the summary keeps the budget the model was evaluated with (the run's
    protocol, recorded in the checkpoint; or an older checkpoint's model hyper-parameter),
    not a second default."""
    checkpoint = tmp_path / "budget.ckpt"
    _checkpoint_with_protocol(checkpoint, recorded)
    out = tmp_path / "summary"
    assert main(["summarize", str(video), "--checkpoint", str(checkpoint), "--out", str(out),
                 "--model", "colorhist", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget_frames"] == int(0.3 * 300)
