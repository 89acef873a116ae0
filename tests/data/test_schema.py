"""The standard h5 schema: round trip, and one test per validation error (file, key, field and
expectation named in the message)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from vsumlab.data.schema import (
    VideoRecord,
    change_points_from_boundaries,
    missing_for,
    read_dataset,
    require_fps,
    validate_record,
    write_dataset,
)
from vsumlab.errors import DatasetError, OutputExistsError


def make_record(key: str = "video_1", n_frames: int = 100, dim: int = 8) -> VideoRecord:
    picks = np.arange(0, n_frames, 15)
    rng = np.random.default_rng(0)
    cps = change_points_from_boundaries(np.array([40, 70]), n_frames)
    return VideoRecord(
        key=key,
        features=rng.standard_normal((len(picks), dim)).astype(np.float32),
        picks=picks,
        n_frames=n_frames,
        fps=30.0,
        change_points=cps,
        n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
        gtscore=np.linspace(0, 1, len(picks), dtype=np.float32),
        gtsummary=(np.arange(len(picks)) % 2).astype(np.float32),
        user_summary=(rng.random((3, n_frames)) > 0.5).astype(np.float32),
        user_anno=rng.integers(1, 6, (3, n_frames)).astype(np.float32),
        video_name="My video",
        video_id="abc",
        category="VT",
        title="A title",
        extra={"planted": (np.arange(len(picks)) < 3).astype(np.uint8)},
    )


def test_change_points_from_boundaries_by_hand() -> None:
    cps = change_points_from_boundaries(np.array([40, 70]), 100)
    np.testing.assert_array_equal(cps, [[0, 39], [40, 69], [70, 99]])


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = [make_record("video_10", 130), make_record("video_2"), make_record("video_1", 61)]
    path = write_dataset(tmp_path / "d.h5", records, {"dataset_name": "toy", "flag": True})
    dataset = read_dataset(path)
    assert dataset.keys == ["video_1", "video_2", "video_10"]  # natural order, not write order
    assert dataset.name == "toy" and dataset.attrs["flag"] is True
    for original in records:
        back = dataset[original.key]
        for f in dataclasses.fields(VideoRecord):
            a, b = getattr(original, f.name), getattr(back, f.name)
            if f.name == "extra":
                assert a.keys() == b.keys()
                np.testing.assert_array_equal(a["planted"], b["planted"])
            elif isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b, err_msg=f.name)
            else:
                assert a == b, f.name
    assert dataset["video_1"].n_users == 3 and dataset["video_1"].feature_dim == 8


def test_write_refuses_to_overwrite_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "d.h5", [make_record()])
    with pytest.raises(OutputExistsError, match="--force"):
        write_dataset(path, [make_record()])
    write_dataset(path, [make_record("video_7")], force=True)
    assert read_dataset(path).keys == ["video_7"]
    bad = dataclasses.replace(make_record(), picks=make_record().picks + 1000)
    with pytest.raises(DatasetError):
        write_dataset(tmp_path / "bad.h5", [bad])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


N = 100  # frames of make_record(); 7 steps


def _nan_features(r: VideoRecord) -> dict:
    feats = r.features.copy()
    feats[2, 3] = np.nan
    return {"features": feats}


INVALID: dict[str, tuple[str, Callable[[VideoRecord], dict], str]] = {
    "features not 2-D": ("features", lambda r: {"features": r.features[:, 0]}, "2-D"),
    "features empty": ("features", lambda r: {"features": r.features[:0]}, "at least one step"),
    "features NaN": ("features", _nan_features, "NaN"),
    "n_frames zero": ("n_frames", lambda r: {"n_frames": 0}, "positive"),
    "fps negative": ("fps", lambda r: {"fps": -1.0}, "positive"),
    "picks wrong length": ("picks", lambda r: {"picks": r.picks[:-1]}, "shape (7,)"),
    "picks out of range": ("picks", lambda r: {"picks": r.picks * 20}, "[0, 99]"),
    "picks not increasing": ("picks", lambda r: {"picks": r.picks[::-1].copy()}, "increasing"),
    "picks not integers": ("picks", lambda r: {"picks": r.picks + 0.5}, "integer"),
    "change points 1-D": (
        "change_points", lambda r: {"change_points": r.change_points[:, 0]}, "(n_segments, 2)"
    ),
    "change points not from 0": (
        "change_points", lambda r: {"change_points": r.change_points[1:]}, "start at frame 0"
    ),
    "change points with a gap": (
        "change_points",
        lambda r: {"change_points": np.array([[0, 30], [40, 99]])},
        "contiguous",
    ),
    "change points past the end": (
        "change_points", lambda r: {"change_points": np.array([[0, 49], [50, 120]])}, "frame 99"
    ),
    "change points not covering the video": (
        "change_points",
        lambda r: {"change_points": np.array([[0, 39], [40, 69]]), "n_frame_per_seg": np.array([40, 30])},
        "do not cover",
    ),
    "n_frame_per_seg wrong": (
        "n_frame_per_seg", lambda r: {"n_frame_per_seg": r.n_frame_per_seg + 1}, "end - start + 1"
    ),
    "gtscore wrong length": ("gtscore", lambda r: {"gtscore": r.gtscore[:-2]}, "shape (7,)"),
    "gtscore NaN": ("gtscore", lambda r: {"gtscore": r.gtscore * np.nan}, "NaN"),
    "gtsummary wrong length": ("gtsummary", lambda r: {"gtsummary": r.gtsummary[:3]}, "(7,)"),
    "user_summary length != n_frames": (
        "user_summary", lambda r: {"user_summary": r.user_summary[:, :-1]}, "n_frames=100"
    ),
    "user_summary not binary": (
        "user_summary", lambda r: {"user_summary": r.user_summary * 2}, "binary"
    ),
    "user_summary NaN": (
        "user_summary", lambda r: {"user_summary": r.user_summary * np.nan}, "NaN"
    ),
    "user_anno length != n_frames": (
        "user_anno", lambda r: {"user_anno": r.user_anno[:, :50]}, "n_frames=100"
    ),
    # issue 14.5: impossible annotations passed validation and scored F1 0 / rank 0
    "user_summary all rows empty": (
        "user_summary", lambda r: {"user_summary": np.zeros_like(r.user_summary)}, "every user summary is empty"
    ),
    "user_anno above 5": ("user_anno", lambda r: {"user_anno": r.user_anno * 2}, "outside 1..5"),
    "user_anno 0": ("user_anno", lambda r: {"user_anno": r.user_anno - 1}, "outside 1..5"),
    "n_steps disagrees with features": (
        "n_steps", lambda r: {"extra": {"n_steps": np.float64(8)}}, "features has 7 rows"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(INVALID))
def test_every_violation_names_file_key_field_and_expectation(case: str) -> None:
    field_name, mutate, detail = INVALID[case]
    record = dataclasses.replace(make_record("video_4"), **mutate(make_record("video_4")))
    with pytest.raises(DatasetError) as info:
        validate_record(record, "some/file.h5")
    message = str(info.value)
    assert message.startswith("some/file.h5: video 'video_4' field ")
    assert f"field '{field_name}'" in message
    assert detail in message
    assert "expected" in message
    assert "\n" not in message


def _write_raw(path: Path, edit: Callable[[h5py.Group], None]) -> Path:
    """A valid file whose video_1 group is then edited with raw h5py (as other tools might)."""
    write_dataset(path, [make_record()])
    with h5py.File(path, "r+") as handle:
        edit(handle["video_1"])
    return path


@pytest.mark.parametrize(
    ("field_name", "edit", "detail"),
    [
        ("features", lambda g: g.__delitem__("features"), "missing required field"),
        ("picks", lambda g: (g.__delitem__("picks"), g.create_group("picks")), "group"),
        ("picks", lambda g: (g.__delitem__("picks"), g.create_dataset("picks", data=np.arange(7) * 15.5)), "integer"),
        ("n_frames", lambda g: (g.__delitem__("n_frames"), g.create_dataset("n_frames", data=np.nan)), "nan"),
        ("fps", lambda g: (g.__delitem__("fps"), g.create_dataset("fps", data=[30.0, 25.0])), "scalar"),
        ("user_summary", lambda g: (g.__delitem__("user_summary"), g.create_dataset("user_summary", data=np.ones((3, 90)))), "n_frames=100"),
    ],
)  # fmt: skip
def test_reading_a_broken_file_names_the_problem(
    tmp_path: Path, field_name: str, edit: Callable[[h5py.Group], None], detail: str
) -> None:
    path = _write_raw(tmp_path / "broken.h5", edit)
    with pytest.raises(DatasetError) as info:
        read_dataset(path)
    message = str(info.value)
    assert message.startswith(f"{path}: video 'video_1' field '{field_name}'")
    assert detail in message and "expected" in message


def test_a_file_without_evaluation_fields_reads_as_train_only(tmp_path: Path) -> None:
    """Only features are required to read; what is missing limits the uses (missing_for)."""
    path = _write_raw(
        tmp_path / "partial.h5", lambda g: (g.__delitem__("change_points"), g.__delitem__("fps"))
    )
    record = read_dataset(path)["video_1"]
    assert record.change_points is None and record.fps is None
    assert missing_for(record, "train") == []
    assert missing_for(record, "evaluate") == ["change_points"]
    assert missing_for(record, "rank", "tvsum") == ["change_points"]
    full = make_record()
    assert missing_for(dataclasses.replace(full, user_anno=None), "rank", "tvsum") == ["user_anno"]
    assert missing_for(dataclasses.replace(full, user_anno=None), "rank", "summe") == []
    with pytest.raises(DatasetError, match=r"field 'fps': frame rate unknown.*attach-annotations"):
        require_fps(record, path)
    assert require_fps(full) == 30.0


def test_reading_missing_or_non_h5_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        read_dataset(tmp_path / "absent.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        read_dataset(text)
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(DatasetError, match="no video groups"):
        read_dataset(tmp_path / "empty.h5")


def test_read_without_validation_returns_the_broken_record(tmp_path: Path) -> None:
    path = _write_raw(tmp_path / "b.h5", lambda g: g["picks"].__setitem__(0, 5000))
    record = read_dataset(path, validate=False)["video_1"]
    assert record.picks[0] == 5000


# ------------------------------------------------------------------ ranges and consistency
@pytest.mark.parametrize(("values", "ok"), [
    ([0.0, 1.0, 0.5], True),                  # the ends of the annotators' normalized mean
    ([0.0, np.float32(1.0) + 1e-7, 0.5], True),  # float32 round-off of 1.0
    ([0.0, 1.001, 0.5], False),               # above 1
    ([-0.001, 1.0, 0.5], False),              # below 0
    ([0.0, 5.0, 2.5], False),                 # a 1..5 scale
])
def test_gtscore_must_lie_in_the_unit_interval(values: list[float], ok: bool) -> None:
    record = make_record()
    gtscore = np.resize(np.asarray(values, dtype=np.float64), record.n_steps)
    record = dataclasses.replace(record, gtscore=gtscore)
    if ok:
        validate_record(record, "f.h5")
    else:
        with pytest.raises(DatasetError, match=r"^f\.h5: video 'video_1' field 'gtscore': has "
                                               r"values outside \[0, 1\]"):
            validate_record(record, "f.h5")


def test_gtsummary_must_be_binary() -> None:
    record = make_record()
    validate_record(dataclasses.replace(record, gtsummary=np.tile([0.0, 1.0], record.n_steps)[
        : record.n_steps]))
    with pytest.raises(DatasetError, match="field 'gtsummary': expected binary values 0/1, "
                                           "got 0.5"):
        validate_record(dataclasses.replace(record, gtsummary=np.full(record.n_steps, 0.5)))


def test_one_feature_width_per_file(tmp_path: Path) -> None:
    from vsumlab.data.schema import check_feature_width

    wide, narrow = make_record("video_1", dim=8), make_record("video_2", dim=4)
    check_feature_width([wide, make_record("video_2", dim=8)], "f.h5")
    with pytest.raises(DatasetError, match="^f.h5: video 'video_2' field 'features': has 4-d "
                                           "features but video 'video_1' has 8-d"):
        check_feature_width([wide, narrow], "f.h5")
    with pytest.raises(DatasetError, match="one feature width per file"):
        write_dataset(tmp_path / "mixed.h5", [wide, narrow])
    assert not (tmp_path / "mixed.h5").exists()


# ------------------------------------------------------------------ names and corrupt objects
def test_names_that_are_not_utf8_are_refused_escaped(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "a.h5", [make_record("video_1"), make_record("video_2")])
    with h5py.File(path, "r+") as handle:
        handle.move("video_2", b"video_\xff")
    with pytest.raises(DatasetError, match=r"member named 'video_\\xff', which is not UTF-8"):
        read_dataset(path)
    with h5py.File(path, "r+") as handle:
        del handle[b"video_\xff"]
        handle["video_1"].attrs["title"] = np.bytes_(b"caf\xe9")
    with pytest.raises(DatasetError, match=r"video 'video_1' field 'title': not UTF-8 text "
                                           r"\('caf\\xe9'"):
        read_dataset(path)


def test_a_damaged_object_inside_a_readable_file_names_video_and_field(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "a.h5", [make_record("video_1")])
    with h5py.File(path, "r") as handle:
        address = h5py.h5o.get_info(handle["video_1/picks"].id).addr
    blob = bytearray(path.read_bytes())
    for offset in range(address + 8, address + 40):
        blob[offset] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetError, match=r"video 'video_1' field 'picks': unreadable, the file "
                                           "is corrupt or truncated"):
        read_dataset(path)
