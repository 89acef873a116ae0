"""Predictions files: h5/npz round trips and validation against a dataset."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.errors import OutputExistsError, PredictionError
from vsumlab.evaluation.predictions import check_predictions, read_predictions, write_predictions

from ._records import make_dataset, make_record

PREDS = {"video_1": np.array([0.1, 0.5, 0.9]), "tvsum/video_2": np.array([0.3, 0.2])}


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".npz"])
def test_round_trip_keeps_keys_including_qualified_ones(tmp_path: Path, suffix: str):
    path = write_predictions(tmp_path / f"preds{suffix}", PREDS)
    loaded = read_predictions(path)
    assert set(loaded) == set(PREDS)
    for key, scores in PREDS.items():
        np.testing.assert_allclose(loaded[key], scores, rtol=1e-6)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_h5_layout_is_one_dataset_per_key(tmp_path: Path):
    path = write_predictions(tmp_path / "p.h5", {"video_1": np.ones(3)})
    with h5py.File(path, "r") as handle:
        assert handle["video_1"].shape == (3,)


def test_no_overwrite_without_force(tmp_path: Path):
    path = write_predictions(tmp_path / "p.npz", PREDS)
    with pytest.raises(OutputExistsError, match="pass --force"):
        write_predictions(path, PREDS)
    write_predictions(path, {"video_1": np.zeros(3)}, force=True)
    assert set(read_predictions(path)) == {"video_1"}


def test_unknown_suffix_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(PredictionError, match="unknown predictions format '.csv'"):
        write_predictions(tmp_path / "p.csv", PREDS)
    with pytest.raises(PredictionError, match="no such predictions file"):
        read_predictions(tmp_path / "absent.h5")
    broken = tmp_path / "broken.h5"
    broken.write_text("not hdf5")
    with pytest.raises(PredictionError, match="broken.h5: not a readable h5 predictions file"):
        read_predictions(broken)


def _dataset():
    return make_dataset(
        [
            make_record("video_1", 30, [0, 10, 20], [[0, 29]]),
            make_record("video_2", 20, [0, 10], [[0, 19]]),
        ]
    )


def test_check_predictions_errors_name_file_key_and_shape():
    dataset, source = _dataset(), "preds.h5"
    good = {"video_1": np.ones(3), "video_2": np.ones(2)}
    check_predictions(good, dataset, source=source)
    with pytest.raises(PredictionError, match="preds.h5: missing video\\(s\\) video_2"):
        check_predictions({"video_1": np.ones(3)}, dataset, source=source)
    with pytest.raises(PredictionError, match="preds.h5: video\\(s\\) video_7 not in dataset"):
        check_predictions({**good, "video_7": np.ones(3)}, dataset, source=source)
    with pytest.raises(
        PredictionError,
        match="video 'video_2': expected shape \\(2,\\) \\(one score per step\\), got \\(3,\\)",
    ):
        check_predictions({**good, "video_2": np.ones(3)}, dataset, source=source)
    with pytest.raises(PredictionError, match="video 'video_1': contains NaN"):
        check_predictions({**good, "video_1": np.array([0.1, np.nan, 0.2])}, dataset)
    # a subset of keys only needs those videos
    check_predictions({"video_2": np.ones(2)}, dataset, keys=["video_2"])
