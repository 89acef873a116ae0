"""``vsumlab data ...`` commands, including bad input (one line on stderr, exit 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.schema import read_dataset
from vsumlab.data.splits import read_splits


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fails_with(capsys: pytest.CaptureFixture[str], message: str, *argv: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("vsumlab: error: "), err
    assert message in err, err


@pytest.fixture(scope="module")
def synth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "summe.h5"
    assert main(["data", "synth", "--kind", "summe", "--out", str(path), "--seed", "1", "--videos", "6"]) == 0
    return path


def test_synth_validate_info_splits(synth_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dataset = read_dataset(synth_file)
    assert len(dataset) == 6 and dataset.synthetic and dataset.name == "synthetic_summe"
    code, out, _ = run(capsys, "data", "validate", str(synth_file))
    assert code == 0 and out == f"ok: {synth_file}: 6 videos, rank-evaluable\n"
    code, out, _ = run(capsys, "data", "info", str(synth_file), "--json")
    info = json.loads(out)
    assert code == 0 and info["videos"] == 6 and info["feature_dim"] == 1024
    assert info["synthetic_features"] is True and info["annotation_style"] == "summe"
    assert 15 <= info["users_min"] <= info["users_max"] <= 18
    assert info["steps"] == sum(r.n_steps for r in dataset)
    assert 30 <= info["seconds_min"] <= info["seconds_max"] <= 180
    code, out, _ = run(capsys, "data", "info", str(synth_file))
    assert code == 0 and "synthetic_features  True" in out and "videos" in out
    out_json = tmp_path / "splits.json"
    code, out, _ = run(capsys, "data", "splits", "--dataset", str(synth_file), "--out", str(out_json), "--folds", "3")
    assert code == 0 and "3 folds of 6 videos (test sizes 2, 2, 2)" in out
    splits = read_splits(out_json, keys=dataset.keys)
    assert sorted(k for s in splits for k in s.test_keys) == sorted(dataset.keys)


def test_synth_is_deterministic_and_refuses_to_overwrite(
    synth_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = synth_file.stat().st_mtime_ns
    fails_with(capsys, "already exists; pass --force", "data", "synth", "--kind", "summe", "--out", str(synth_file), "--videos", "6")
    assert synth_file.stat().st_mtime_ns == before
    again = tmp_path / "again.h5"
    assert main(["data", "synth", "--kind", "summe", "--out", str(again), "--seed", "1", "--videos", "6"]) == 0
    a, b = read_dataset(synth_file), read_dataset(again)
    for key in a.keys:
        np.testing.assert_array_equal(a[key].features, b[key].features)
    assert main(["data", "synth", "--kind", "summe", "--out", str(again), "--seed", "2", "--videos", "6", "--force"]) == 0
    assert read_dataset(again)["video_1"].n_frames != a["video_1"].n_frames
    capsys.readouterr()


def test_import_summe_with_and_without_features(
    summe_gt_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gt = tmp_path / "GT"
    gt.mkdir()
    shutil.copy(summe_gt_dir / "Jumps.mat", gt)
    out = tmp_path / "summe.h5"
    code, stdout, _ = run(capsys, "data", "import-summe", "--annotations", str(gt), "--out", str(out))
    assert code == 0 and "1 summe videos with synthetic stand-in features" in stdout
    record = read_dataset(out)["video_1"]
    assert record.video_name == "Jumps" and record.n_users == 15
    feats = tmp_path / "feats"
    feats.mkdir()
    np.save(feats / "Jumps.npy", np.zeros((64, 7)))
    fails_with(capsys, "already exists", "data", "import-summe", "--annotations", str(gt), "--out", str(out), "--features", str(feats))
    np.save(feats / "Jumps.npy", np.zeros((60, 7)))
    fails_with(
        capsys,
        "Jumps.npy: video 'video_1' field 'features': got shape (60, 7)",
        "data", "import-summe", "--annotations", str(gt), "--out", str(out), "--features", str(feats), "--force",
    )  # fmt: skip
    np.save(feats / "Jumps.npy", np.random.default_rng(0).standard_normal((64, 7)))
    code, stdout, _ = run(capsys, "data", "import-summe", "--annotations", str(gt), "--out", str(out), "--features", str(feats), "--force")
    assert code == 0 and "real features" in stdout
    assert read_dataset(out)["video_1"].feature_dim == 7 and not read_dataset(out).synthetic


def _broken_copy(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        del handle["video_2"]["features"]
        handle["video_2"].create_dataset("features", data=np.zeros(10))
    return target


def test_bad_inputs_fail_with_one_line(
    synth_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.h5"
    fails_with(capsys, f"{missing}: no such file", "data", "validate", str(missing))
    fails_with(capsys, "no such file", "data", "info", str(missing))
    text = tmp_path / "text.h5"
    text.write_text("hello")
    fails_with(capsys, "not a readable HDF5 file", "data", "validate", str(text))
    broken = _broken_copy(synth_file, tmp_path / "broken.h5")
    fails_with(capsys, f"{broken}: video 'video_2' field 'features': expected a 2-D array, got shape (10,)", "data", "validate", str(broken))
    fails_with(capsys, "n_folds=1 must be between 2", "data", "splits", "--dataset", str(synth_file), "--out", str(tmp_path / "s.json"), "--folds", "1")
    fails_with(capsys, "not a folder of SumMe ground-truth", "data", "import-summe", "--annotations", str(tmp_path / "nodir"), "--out", str(tmp_path / "x.h5"))
    fails_with(capsys, "not a MATLAB v7.3", "data", "import-tvsum", "--annotations", str(text), "--out", str(tmp_path / "x.h5"))
    with pytest.raises(SystemExit) as info:  # argparse's own one-line usage error
        main(["data", "synth", "--kind", "ovp", "--out", str(tmp_path / "x.h5")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'ovp'" in err
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "s.json").exists()


def test_kts_is_wired_under_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    feats = np.concatenate([np.tile([1.0, 0.0], (5, 1)), np.tile([0.0, 1.0], (5, 1))])
    np.save(tmp_path / "f.npy", feats)
    code, out, _ = run(capsys, "data", "kts", str(tmp_path / "f.npy"), "--json")
    assert code == 0 and json.loads(out)["change_points"] == [5]


def test_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vsumlab.cli.main", "data", "validate", str(tmp_path / "none.h5")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"vsumlab: error: {tmp_path / 'none.h5'}: no such file\n"


@pytest.mark.slow
def test_import_tvsum_command_on_the_real_file(
    tvsum_mat: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "tvsum.h5"
    code, stdout, _ = run(capsys, "data", "import-tvsum", "--annotations", str(tvsum_mat), "--out", str(out))
    assert code == 0 and "50 tvsum videos" in stdout
    code, stdout, _ = run(capsys, "data", "info", str(out), "--json")
    info = json.loads(stdout)
    assert info["videos"] == 50 and info["users_min"] == info["users_max"] == 20
    assert info["has_user_anno"] and info["synthetic_features"] is True


def test_synth_generic_background(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "generic.h5"
    code, printed, _ = run(
        capsys, "data", "synth", "--kind", "summe", "--out", str(out), "--seed", "1",
        "--videos", "2", "--background", "generic", "--generic-scenes", "3",
    )  # fmt: skip
    assert code == 0 and "generic background" in printed
    dataset = read_dataset(out)
    assert dataset.name == "synthetic_summe_generic"
    assert json.loads(dataset.attrs["synthetic_config"])["generic_scenes"] == 3
