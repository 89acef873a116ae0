from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.scene_videos import write_scene_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    write_scene_video(folder / "one.mp4", (45, 45), fps=30, size=(64, 48))
    write_scene_video(folder / "two.mp4", (30, 60, 30), fps=30, size=(64, 48), seed=1)
    return folder


def test_extract_builds_a_standard_h5_and_resumes(videos, tmp_path, capsys):
    out = tmp_path / "feats.h5"
    argv = ["features", "extract", str(videos), "--out", str(out), "--model", "colorhist",
            "--stride", "15", "--no-progress"]
    assert main(argv) == 0
    assert "2 video(s) added, 0 already present (colorhist, 512-d)" in capsys.readouterr().err
    data = read_dataset(out)
    assert data.keys == ["one", "two"]
    assert data["two"].change_points.tolist() == [[0, 29], [30, 89], [90, 119]]
    assert data.attrs["sampling"] == "stride=15"
    assert main(argv) == 0  # nothing to do the second time
    assert "0 video(s) added, 2 already present" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    assert "2 video(s) added" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "nope"], "unknown encoder model 'nope'"),
        (["--model", "googlenet", "--weights", "/no/such.pth"], "weights file not found"),
        (["--model", "colorhist", "--device", "cuda:7"], "CUDA is not available"),
    ],
)
def test_extract_bad_options_are_one_line_errors(videos, tmp_path, capsys, extra, message):
    code = main(["features", "extract", str(videos), "--out", str(tmp_path / "f.h5"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_extract_fps_and_stride_exclude_each_other(videos, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse usage errors exit directly
        main(["features", "extract", str(videos), "--out", str(tmp_path / "f.h5"),
              "--fps", "2", "--stride", "15"])
    assert exit_info.value.code == 2
    assert "--stride: not allowed with argument --fps" in capsys.readouterr().err


def test_extract_bad_folder(tmp_path, capsys):
    code = main(["features", "extract", str(tmp_path / "none"), "--out", str(tmp_path / "f.h5"),
                 "--model", "colorhist"])
    err = capsys.readouterr().err
    assert code == 2 and "none: not a folder of videos" in err and err.count("\n") == 1
