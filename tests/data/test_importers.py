"""Importers on the REAL original annotations (skipped with a reason without VSUMLAB_DATA)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from vsumlab.data.importers import import_summe, import_tvsum, minmax
from vsumlab.data.schema import read_dataset, validate_record, write_dataset
from vsumlab.errors import ConfigError, DatasetError

SUMME_ORDER = [
    "Air_Force_One", "Base jumping", "Bearpark_climbing", "Bike Polo", "Bus_in_Rock_Tunnel",
    "car_over_camera", "Car_railcrossing", "Cockpit_Landing", "Cooking", "Eiffel Tower",
    "Excavators river crossing", "Fire Domino", "Jumps", "Kids_playing_in_leaves", "Notre_Dame",
    "Paintball", "paluma_jump", "playing_ball", "Playing_on_water_slide", "Saving dolphines",
    "Scuba", "St Maarten Landing", "Statue of Liberty", "Uncut_Evening_Flight",
    "Valparaiso_Downhill",
]  # fmt: skip


def _check_keyshots(record) -> None:  # noqa: ANN001 - a VideoRecord
    """Each user summary is made of whole shots and fits the 15% budget."""
    assert np.all(record.user_summary.sum(axis=1) <= np.floor(0.15 * record.n_frames))
    for start, end in record.change_points:
        block = record.user_summary[:, start : end + 1]
        assert np.all(block.min(axis=1) == block.max(axis=1))


def test_summe_keys_names_users_and_scores(summe_gt_dir: Path) -> None:
    dataset = import_summe(summe_gt_dir, keys=["video_1", "video_2", "video_6", "video_25"])
    assert dataset.keys == ["video_1", "video_2", "video_6", "video_25"]
    names = [dataset[k].video_name for k in dataset.keys]
    assert names == ["Air_Force_One", "Base jumping", "car_over_camera", "Valparaiso_Downhill"]
    assert dataset.attrs["annotation_style"] == "summe" and dataset.synthetic
    assert dataset["video_2"].n_users == 18 and dataset["video_1"].n_users == 15
    for record in dataset:
        validate_record(record)
        mat = scipy.io.loadmat(summe_gt_dir / f"{record.video_name}.mat")
        selected = (mat["user_score"] > 0).T
        np.testing.assert_array_equal(record.user_summary, selected)
        assert record.n_frames == int(mat["nFrames"].item()) == selected.shape[1]
        assert record.fps == pytest.approx(float(mat["FPS"].item()))
        np.testing.assert_array_equal(record.picks, np.arange(0, record.n_frames, 15))
        # gtscore = share of users selecting each step, min-max normalised
        np.testing.assert_allclose(record.gtscore, minmax(selected.mean(axis=0)[record.picks]))
        np.testing.assert_allclose(
            selected.mean(axis=0), mat["gt_score"].ravel(), atol=1e-12
        )  # the file's own gt_score is that same mean
        assert record.gtscore.min() == 0 and record.gtscore.max() == 1
        assert set(np.unique(record.gtsummary)) == {0, 1}
        assert record.change_points[-1, 1] == record.n_frames - 1 and len(record.change_points) > 3
        assert record.feature_dim == 1024


def test_tvsum_keys_ids_scores_and_user_summaries(tvsum_mat: Path) -> None:
    dataset = import_tvsum(tvsum_mat, keys=["video_1", "video_2", "video_3"])
    ids = [r.video_id for r in dataset]
    assert ids == ["AwmHb44_ouw", "98MoyGZKHXc", "J0nA4VgnoCo"]
    first = dataset["video_1"]
    assert first.category == "VT" and first.title.startswith("#1306 How to change tires")
    assert first.n_frames == 10597 and first.fps == pytest.approx(10597 / 353.593)
    assert dataset.attrs["annotation_style"] == "tvsum" and dataset.attrs["dataset_name"] == "tvsum"
    with h5py.File(tvsum_mat, "r") as handle:
        ref = handle["tvsum50"]["user_anno"][0, 0]
        raw = handle[ref][()]  # MATLAB (n_frames x 20) read transposed
    np.testing.assert_array_equal(first.user_anno, raw)
    for record in dataset:
        validate_record(record)
        assert record.user_anno.shape == (20, record.n_frames) and record.n_users == 20
        assert record.user_anno.min() == 1 and record.user_anno.max() == 5
        assert set(np.unique(record.user_anno)) <= {1, 2, 3, 4, 5}
        np.testing.assert_allclose(
            record.gtscore, minmax(record.user_anno.mean(axis=0)[record.picks]), atol=1e-6
        )
        _check_keyshots(record)
        assert np.all(record.user_summary.sum(axis=1) > 0.1 * record.n_frames)


def test_stand_in_features_are_seeded(summe_gt_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "GT"
    folder.mkdir()
    shutil.copy(summe_gt_dir / "Jumps.mat", folder)
    a = import_summe(folder, seed=0)["video_1"]
    b = import_summe(folder, seed=0)["video_1"]
    c = import_summe(folder, seed=1)["video_1"]
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.change_points, b.change_points)
    assert not np.array_equal(a.features, c.features)


@pytest.fixture()
def small_summe(summe_gt_dir: Path, tmp_path: Path) -> Path:
    """Two short SumMe videos (Cooking, Jumps -> video_1, video_2 in this folder)."""
    folder = tmp_path / "GT"
    folder.mkdir()
    for name in ("Jumps", "Cooking"):
        shutil.copy(summe_gt_dir / f"{name}.mat", folder)
    return folder


def test_features_folder_by_key_or_by_name(small_summe: Path, tmp_path: Path) -> None:
    feats = tmp_path / "feats"
    feats.mkdir()
    rng = np.random.default_rng(0)
    np.save(feats / "video_1.npy", rng.standard_normal((86, 16)))  # Cooking: 1286 frames
    np.save(feats / "Jumps.npy", rng.standard_normal((64, 16)))  # 950 frames
    dataset = import_summe(small_summe, features_dir=feats)
    assert [r.video_name for r in dataset] == ["Cooking", "Jumps"]
    assert not dataset.synthetic and dataset["video_2"].feature_dim == 16
    np.testing.assert_array_equal(dataset["video_2"].features, np.load(feats / "Jumps.npy").astype(np.float32))
    path = write_dataset(tmp_path / "summe.h5", dataset.records.values(), dataset.attrs)
    assert read_dataset(path).attrs["synthetic_features"] is False


@pytest.mark.parametrize(
    ("jumps", "message"),
    [
        (np.zeros((64, 12)), "Jumps.npy: video 'video_2' field 'features': got dimension 12, expected (n_steps=64, dim=16) like video_1.npy"),
        (np.zeros((63, 16)), "Jumps.npy: video 'video_2' field 'features': got shape (63, 16) dtype float64, expected (n_steps=64, dim=16)"),
        (np.zeros(64), "got shape (64,)"),
        (np.full((64, 16), np.nan), "Jumps.npy: video 'video_2' field 'features': contains NaN"),
        (None, "no features for video 'video_2' (looked for video_2.npy or Jumps.npy)"),
    ],
)  # fmt: skip
def test_bad_features_folder(
    small_summe: Path, tmp_path: Path, jumps: np.ndarray | None, message: str
) -> None:
    feats = tmp_path / "feats"
    feats.mkdir()
    np.save(feats / "video_1.npy", np.zeros((86, 16)))
    if jumps is not None:
        np.save(feats / "Jumps.npy", jumps)
    with pytest.raises(DatasetError) as info:
        import_summe(small_summe, features_dir=feats)
    assert message in str(info.value)


def test_bad_annotation_inputs(tmp_path: Path, summe_gt_dir: Path, tvsum_mat: Path) -> None:
    with pytest.raises(DatasetError, match="not a folder of SumMe ground-truth"):
        import_summe(tmp_path / "absent")
    with pytest.raises(DatasetError, match="contains no .mat files"):
        import_summe(tmp_path)
    (tmp_path / "Broken.mat").write_text("not a mat file")
    with pytest.raises(DatasetError, match="Broken.mat: not a readable SumMe ground-truth"):
        import_summe(tmp_path)
    (tmp_path / "Broken.mat").unlink()
    scipy.io.savemat(tmp_path / "NoScores.mat", {"FPS": 30, "nFrames": 10})
    with pytest.raises(DatasetError, match="NoScores.mat: missing field 'user_score'"):
        import_summe(tmp_path)
    with pytest.raises(DatasetError, match="features folder does not exist"):
        import_summe(summe_gt_dir, features_dir=tmp_path / "nofeats")
    with pytest.raises(ConfigError, match="unknown video keys video_26; expected video_1 .. video_25"):
        import_summe(summe_gt_dir, keys=["video_26"])
    with pytest.raises(DatasetError, match="not a MATLAB v7.3"):
        import_tvsum(tmp_path / "NoScores.mat")
    with h5py.File(tmp_path / "other.mat", "w") as handle:
        handle.create_group("something")
    with pytest.raises(DatasetError, match="other.mat: missing struct 'tvsum50'"):
        import_tvsum(tmp_path / "other.mat")
    with pytest.raises(DatasetError, match="no such file"):
        import_tvsum(tmp_path / "ydata-tvsum50.mat")


@pytest.mark.slow
def test_full_real_imports_round_trip(summe_gt_dir: Path, tvsum_mat: Path, tmp_path: Path) -> None:
    summe = import_summe(summe_gt_dir)
    assert summe.keys == [f"video_{i}" for i in range(1, 26)]
    assert [r.video_name for r in summe] == SUMME_ORDER
    assert {r.n_users for r in summe} == {15, 16, 17, 18}
    tvsum = import_tvsum(tvsum_mat)
    assert len(tvsum) == 50 and {r.n_users for r in tvsum} == {20}
    assert [tvsum[k].video_id for k in ("video_1", "video_2", "video_3")] == [
        "AwmHb44_ouw", "98MoyGZKHXc", "J0nA4VgnoCo",
    ]  # fmt: skip
    assert sorted({r.category for r in tvsum}) == sorted(
        ["VT", "VU", "GA", "MS", "PK", "PR", "FM", "BK", "BT", "DS"]
    )
    for dataset in (summe, tvsum):
        path = write_dataset(tmp_path / f"{dataset.name}.h5", dataset.records.values(), dataset.attrs)
        back = read_dataset(path)
        assert back.keys == dataset.keys and back.attrs["annotation_style"] == dataset.name
        for key in dataset.keys:
            np.testing.assert_array_equal(back[key].user_summary, dataset[key].user_summary)
    for record in tvsum:
        assert set(np.unique(record.user_anno)) <= {1, 2, 3, 4, 5}
        _check_keyshots(record)
