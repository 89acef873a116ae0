"""Mr. HiSum's published layout read as its dataset class reads it; its split object; the
stand-in generator."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from vsumlab.cli.main import main
from vsumlab.data.lazy import H5Dataset
from vsumlab.data.schema import read_dataset
from vsumlab.data.standard_h5 import SummarizationDataModule
from vsumlab.data.synthetic.mrhisum_standin import write_mrhisum_standin
from vsumlab.errors import DatasetError


@pytest.fixture()
def standin(tmp_path):
    path = write_mrhisum_standin(tmp_path / "mr_hisum.h5", 30, dim=8, split=tmp_path / "s.json")
    return path, tmp_path / "s.json"


def test_the_published_fields_and_what_the_dataset_class_derives(standin) -> None:
    path, _ = standin
    with h5py.File(path) as handle:
        assert set(handle["video_1"]) == {"features", "gtscore", "change_points", "gt_summary"}
        summary = handle["video_1/gt_summary"][()]
        cps = handle["video_1/change_points"][()]
    record = read_dataset(path)["video_1"]
    assert record.layout == "mrhisum" and record.n_frames == record.n_steps
    np.testing.assert_array_equal(record.picks, np.arange(record.n_steps))
    np.testing.assert_array_equal(record.user_summary, summary[None, :])  # expand_dims(.., 0)
    np.testing.assert_array_equal(record.n_frame_per_seg, cps[:, 1] - cps[:, 0] + 1)
    assert record.fps == 1.0 and "gt_summary" not in record.extra
    assert H5Dataset(path).layout == "mrhisum"


def test_the_split_object_fixes_train_val_and_test(standin) -> None:
    path, split = standin
    lists = json.loads(split.read_text())
    dm = SummarizationDataModule(str(path), split_file=str(split))
    assert dm.keys["val"] == lists["val_keys"] and dm.keys["test"] == lists["test_keys"]
    assert sorted(dm.keys["train"]) == sorted(lists["train_keys"])
    assert len(lists["val_keys"]) == len(lists["test_keys"]) == 2  # 2,000 of 31,892 each


def test_a_split_naming_videos_absent_from_the_h5_is_one_line(standin) -> None:
    path, split = standin
    lists = json.loads(split.read_text())
    lists["test_keys"].append("video_99")
    split.write_text(json.dumps(lists))
    with pytest.raises(DatasetError) as error:
        SummarizationDataModule(str(path), split_file=str(split)).splits()
    assert "\n" not in str(error.value)
    assert str(split) in str(error.value) and "unknown video key 'video_99'" in str(error.value)


def test_a_gt_summary_of_another_length_is_refused(standin) -> None:
    path, _ = standin
    with h5py.File(path, "a") as handle:
        del handle["video_3/gt_summary"]
        handle["video_3"].create_dataset("gt_summary", data=np.ones(3))
    with pytest.raises(DatasetError, match="video 'video_3' field 'gtsummary'"):
        H5Dataset(path)


def test_synth_and_validate_say_what_the_file_supports(tmp_path, capsys) -> None:
    out = tmp_path / "mr.h5"
    assert main(["data", "synth", "--kind", "mrhisum", "--videos", "12", "--dim", "4",
                 "--out", str(out), "--split", str(tmp_path / "split.json")]) == 0
    assert main(["data", "validate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "12 videos" in printed and "preset mrhisum" in printed
    assert set(json.loads((tmp_path / "split.json").read_text())) == {
        "train_keys", "val_keys", "test_keys"}
