"""`vsumlab timelapse` and `vsumlab desumnet ...` on tiny videos with a random tiny network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.event_videos import make_category_videos, write_event_dataset
from vsumlab.data.video_decode import probe
from vsumlab.data.webvideos import read_list_file
from vsumlab.evaluation.predictions import read_predictions
from vsumlab.evaluation.shot_map import dataset_topk_map
from vsumlab.models.desumnet import load_desumnet
from vsumlab.video.timelapse import keep_counts

from .helpers import save_checkpoint, tiny_module


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    videos = make_category_videos(root / "videos", 3, 1, n_frames=48, seed=0)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tiny_module(), root / "tiny.ckpt")
    h5 = write_event_dataset(videos, root / "events.h5", n_users=3)
    return root, videos, ckpt, h5


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_timelapse_writes_the_rule_length(setup, capsys, tmp_path):
    _, videos, ckpt, _ = setup
    out = tmp_path / "lapse.mp4"
    code, stdout, _ = _run(
        capsys, "timelapse", str(videos[0].path), "--checkpoint", str(ckpt), "--out", str(out)
    )
    assert code == 0
    report = json.loads(stdout)
    importance = load_desumnet(ckpt).video_importance(videos[0].path)
    lengths = importance.ends - importance.starts + 1
    expected = int(keep_counts(lengths, importance.unit_segment()).sum())
    assert report["frames_out"] == expected == probe(out).n_frames
    assert report["frames_in"] == 48 and report["speedup"] == pytest.approx(48 / expected, 1e-3)
    # without --force the output is kept, and the error is one line
    code, _, err = _run(
        capsys, "timelapse", str(videos[0].path), "--checkpoint", str(ckpt), "--out", str(out)
    )
    assert code == 2 and "already exists; pass --force" in err and err.count("\n") == 1


def test_timelapse_bad_inputs_are_one_line_errors(setup, capsys, tmp_path):
    root, videos, ckpt, _ = setup
    code, _, err = _run(
        capsys, "timelapse", str(videos[0].path), "--checkpoint", str(root / "no.ckpt"),
        "--out", str(tmp_path / "a.mp4"),
    )
    assert code == 2 and "checkpoint not found" in err and err.count("\n") == 1
    code, _, err = _run(
        capsys, "timelapse", str(root / "missing.mp4"), "--checkpoint", str(ckpt),
        "--out", str(tmp_path / "b.mp4"),
    )
    assert code == 2 and "no such video file" in err


def test_importance_predictions_score_with_eval(setup, capsys, tmp_path):
    root, _, ckpt, h5 = setup
    pred = tmp_path / "pred.h5"
    code, stdout, _ = _run(
        capsys, "desumnet", "importance", "--checkpoint", str(ckpt), "--dataset", str(h5),
        "--videos", str(root / "videos"), "--out", str(pred), "--aggregate", "max",
    )
    assert code == 0 and json.loads(stdout)["videos"] == 3
    predictions, dataset = read_predictions(pred), read_dataset(h5)
    assert sorted(predictions) == sorted(dataset.keys)
    for key, scores in predictions.items():
        assert scores.shape == (dataset[key].n_steps,)
        assert scores.min() == 0.0 and scores.max() == 1.0
    code, stdout, _ = _run(capsys, "eval", "--dataset", str(h5), "--predictions", str(pred))
    assert code == 0 and "video_1" in stdout
    # the paper's metric on the same predictions
    code, stdout, _ = _run(
        capsys, "desumnet", "map", "--dataset", str(h5), "--predictions", str(pred), "--k", "1", "5"
    )
    assert code == 0
    expected = dataset_topk_map(dataset, predictions, (1, 5))
    assert json.loads(stdout) == {"dataset": str(h5), **expected}
    code, _, err = _run(
        capsys, "desumnet", "map", "--dataset", str(h5), "--predictions", str(pred),
        "--budget", "2",
    )  # fmt: skip
    assert code == 2 and "--budget=2.0 must be a fraction" in err


def test_importance_refuses_videos_of_another_length(setup, capsys, tmp_path):
    root, videos, ckpt, _ = setup
    h5 = write_event_dataset(videos, tmp_path / "e.h5")
    other = make_category_videos(tmp_path / "other", 3, 1, n_frames=40, seed=0)
    assert [v.path.name for v in other] == [v.path.name for v in videos]
    code, _, err = _run(
        capsys, "desumnet", "importance", "--checkpoint", str(ckpt), "--dataset", str(h5),
        "--videos", str(tmp_path / "other"), "--out", str(tmp_path / "p.npz"),
    )
    assert code == 2 and "video 'video_1' field 'n_frames': the h5 says 48" in err


def test_refine_threshold_zero_keeps_every_segment(setup, capsys, tmp_path):
    root, _, ckpt, _ = setup
    out = tmp_path / "kept.txt"
    code, stdout, _ = _run(
        capsys, "desumnet", "refine", "--checkpoint", str(ckpt), "--web", str(root / "videos"),
        "--out", str(out), "--threshold", "0",
    )
    assert code == 0
    entries = read_list_file(out)
    assert len(entries) == json.loads(stdout)["kept"] == 3 * 3  # 48 frames = 3 segments each
    assert sorted({e.start for e in entries}) == [0, 16, 32]
    code, _, err = _run(
        capsys, "desumnet", "refine", "--checkpoint", str(ckpt), "--web", str(root / "videos"),
        "--out", str(tmp_path / "k2.txt"), "--threshold", "1.5",
    )
    assert code == 2 and "threshold=1.5 must be in [0, 1)" in err


def test_synth_writes_the_demo_world(capsys, tmp_path):
    code, stdout, _ = _run(
        capsys, "desumnet", "synth", str(tmp_path / "w"), "--categories", "2", "--videos", "2",
        "--frames", "32",
    )
    assert code == 0
    paths = {k: Path(v) for k, v in json.loads(stdout).items()}
    assert sorted(p.name for p in paths["pretrain"].iterdir()) == ["cat2", "cat3", "cat4"]
    test = read_list_file(paths["target_test"])
    assert [e.category for e in test] == ["cat0", "cat1"]  # 20% of 2 rounds up to one each
    assert len(read_list_file(paths["target_train"])) == 2
    dataset = read_dataset(paths["target_test_h5"])
    assert len(dataset) == 2 and dataset["video_1"].category == "cat0"
    assert np.all([probe(p).n_frames == 64 for p in (paths["web"] / "cat1").iterdir()])
    code, _, err = _run(capsys, "desumnet", "synth", str(tmp_path / "w"))
    assert code == 2 and "target_test.h5: already exists" in err


def test_summarize_uses_desumnet_on_the_raw_video(setup, capsys, tmp_path):
    # `vsumlab summarize` calls score_video_file (pixels in); colorhist features only cut shots
    _, videos, ckpt, _ = setup
    code, _, err = _run(
        capsys, "summarize", str(videos[0].path), "--checkpoint", str(ckpt), "--ratio", "1.0",
        "--out", str(tmp_path / "summary"), "--no-progress",
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "summary" / "summary.json").read_text())
    assert summary["model"]["class"] == "DeSumNetModule"
    assert summary["model"]["encoder"]["model"] == "colorhist"
    picks = np.asarray(summary["steps"]["picks"])
    expected = load_desumnet(ckpt).score_video(videos[0].path, picks)
    np.testing.assert_allclose(summary["steps"]["scores"], expected, atol=1e-5)


def test_refine_that_keeps_nothing_stops_the_pipeline_with_one_line(setup, capsys, tmp_path):
    """A shortened fine-tuning (e.g. `make desumnet ARGS=--trainer.max_epochs=1`) leaves every
    category probability below the threshold: refine stops there (exit 2, nothing written),
    saying what to raise, instead of writing an empty list that adaptation fails on later."""
    root, _, ckpt, _ = setup
    out = tmp_path / "kept.txt"
    code, stdout, err = _run(
        capsys, "desumnet", "refine", "--checkpoint", str(ckpt), "--web", str(root / "videos"),
        "--out", str(out), "--threshold", "0.99",
    )
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and stdout == ""
    assert lines[0].startswith("vsumlab: error: refine: kept 0 of 9 web segments")
    assert "--threshold 0.99" in lines[0] and str(ckpt) in lines[0]
    assert "raise trainer.max_epochs of desumnet-train" in lines[0]
    assert not out.exists()
