"""The standard benchmark h5 schema (``eccv16_dataset_*_google_pool5.h5``): typed records,
reading, writing and validation.

One h5 group per video key (``video_1`` .. ``video_N``). Per video:

==================  ====================  =========================================
field               shape / dtype         meaning
==================  ====================  =========================================
features            (T, D) float32        one feature vector per sampled step
picks               (T,) int              frame index of each step (increasing)
n_frames            scalar int            frames in the video
fps                 scalar float          frames per second
change_points       (S, 2) int            shots, inclusive frame ranges [start, end]
n_frame_per_seg     (S,) int              end - start + 1
gtscore             (T,) float, optional  mean annotator importance per step
gtsummary           (T,) float, optional  binary keyshot summary per step
user_summary        (U, n_frames), opt.   binary summary of each annotator
user_anno           (U, n_frames), opt.   TVSum per-user importance scores 1..5
video_name          string, optional      original video name
==================  ====================  =========================================

Group attributes hold ``video_name``, ``video_id``, ``category`` and ``title`` when known; file
attributes hold ``dataset_name``, ``annotation_style`` (``summe``/``tvsum``) and
``synthetic_features`` (features are synthetic stand-ins, not real CNN features).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vsumlab.errors import DatasetError
from vsumlab.io import atomic_path, check_writable

REQUIRED_FIELDS = ("features", "picks", "n_frames", "fps", "change_points", "n_frame_per_seg")
OPTIONAL_ARRAY_FIELDS = ("gtscore", "gtsummary", "user_summary", "user_anno")
STRING_ATTRS = ("video_name", "video_id", "category", "title")

#: what each field must look like, quoted in every validation message
FIELD_SPECS: dict[str, str] = {
    "features": "(n_steps, dim) float",
    "picks": "(n_steps,) int, strictly increasing frame indices",
    "n_frames": "scalar int > 0",
    "fps": "scalar float > 0",
    "change_points": "(n_segments, 2) int, inclusive [start, end] frame ranges",
    "n_frame_per_seg": "(n_segments,) int, end - start + 1",
    "gtscore": "(n_steps,) float",
    "gtsummary": "(n_steps,) float 0/1",
    "user_summary": "(n_users, n_frames) 0/1",
    "user_anno": "(n_users, n_frames) float",
}


@dataclass
class VideoRecord:
    """One video of a benchmark file, with everything evaluation and training need."""

    key: str
    features: np.ndarray
    picks: np.ndarray
    n_frames: int
    fps: float
    change_points: np.ndarray
    n_frame_per_seg: np.ndarray
    gtscore: np.ndarray | None = None
    gtsummary: np.ndarray | None = None
    user_summary: np.ndarray | None = None
    user_anno: np.ndarray | None = None
    video_name: str | None = None
    video_id: str | None = None
    category: str | None = None
    title: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return int(self.features.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def n_users(self) -> int:
        return 0 if self.user_summary is None else int(self.user_summary.shape[0])


@dataclass
class Dataset:
    """An ordered collection of records with the file-level attributes."""

    records: dict[str, VideoRecord]
    attrs: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        if "dataset_name" in self.attrs:
            return str(self.attrs["dataset_name"])
        return self.path.stem if self.path is not None else "dataset"

    @property
    def keys(self) -> list[str]:
        return list(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> VideoRecord:
        return self.records[key]

    def __iter__(self):
        return iter(self.records.values())

    @property
    def synthetic(self) -> bool:
        return bool(self.attrs.get("synthetic_features", False))


def natural_key(key: str) -> list[Any]:
    """Sort ``video_2`` before ``video_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", key)]


def _where(source: str | os.PathLike | None, key: str, name: str) -> str:
    prefix = f"{source}: " if source is not None else ""
    return f"{prefix}video '{key}' field '{name}'"


def validate_record(record: VideoRecord, source: str | os.PathLike | None = None) -> None:
    """Raise :class:`DatasetError` naming file, key, field and expectation on any violation."""
    key = record.key

    def fail(name: str, message: str) -> None:
        spec = FIELD_SPECS.get(name)
        expected = f" (expected {spec})" if spec else ""
        raise DatasetError(f"{_where(source, key, name)}: {message}{expected}")

    feats = np.asarray(record.features)
    if feats.ndim != 2:
        fail("features", f"expected a 2-D array, got shape {feats.shape}")
    if not np.issubdtype(feats.dtype, np.number):
        fail("features", f"expected numbers, got dtype {feats.dtype}")
    n_steps = feats.shape[0]
    if n_steps == 0 or feats.shape[1] == 0:
        fail("features", f"expected at least one step and one dimension, got shape {feats.shape}")
    if not np.all(np.isfinite(feats)):
        fail("features", "contains NaN or infinite values")
    if record.n_frames <= 0:
        fail("n_frames", f"expected a positive frame count, got {record.n_frames}")
    if not np.isfinite(record.fps) or record.fps <= 0:
        fail("fps", f"expected a positive frame rate, got {record.fps}")

    picks = np.asarray(record.picks)
    if picks.shape != (n_steps,):
        fail("picks", f"expected shape ({n_steps},) (one per feature step), got {picks.shape}")
    if not np.issubdtype(picks.dtype, np.integer):
        fail("picks", f"expected integer frame indices, got dtype {picks.dtype}")
    if n_steps > 1 and np.any(np.diff(picks) <= 0):
        fail("picks", "expected strictly increasing frame indices")
    if picks.min() < 0 or picks.max() >= record.n_frames:
        fail(
            "picks",
            f"expected frame indices in [0, {record.n_frames - 1}], "
            f"got range [{picks.min()}, {picks.max()}]",
        )

    cps = np.asarray(record.change_points)
    if cps.ndim != 2 or cps.shape[1] != 2 or cps.shape[0] == 0:
        fail("change_points", f"expected shape (n_segments, 2), got {cps.shape}")
    if cps[0, 0] != 0:
        fail("change_points", f"expected the first shot to start at frame 0, got {cps[0, 0]}")
    if np.any(cps[:, 1] < cps[:, 0]):
        fail("change_points", "expected start <= end in every row")
    if cps.shape[0] > 1 and np.any(cps[1:, 0] != cps[:-1, 1] + 1):
        fail("change_points", "expected contiguous shots (each start = previous end + 1)")
    if cps[-1, 1] > record.n_frames - 1:
        fail(
            "change_points",
            f"expected the last shot to end by frame {record.n_frames - 1}, got {cps[-1, 1]}",
        )
    if cps[-1, 1] < picks[-1]:
        fail(
            "change_points",
            f"do not cover the video: last shot ends at frame {cps[-1, 1]} "
            f"but the last step is frame {picks[-1]}",
        )
    nfps = np.asarray(record.n_frame_per_seg)
    if nfps.shape != (cps.shape[0],):
        fail("n_frame_per_seg", f"expected shape ({cps.shape[0]},), got {nfps.shape}")
    if np.any(nfps != cps[:, 1] - cps[:, 0] + 1):
        fail("n_frame_per_seg", "expected end - start + 1 of each change_points row")

    for name in ("gtscore", "gtsummary"):
        values = getattr(record, name)
        if values is None:
            continue
        values = np.asarray(values)
        if values.shape != (n_steps,):
            fail(name, f"expected shape ({n_steps},) (one per feature step), got {values.shape}")
        if not np.all(np.isfinite(values)):
            fail(name, "contains NaN or infinite values")
    for name in ("user_summary", "user_anno"):
        values = getattr(record, name)
        if values is None:
            continue
        values = np.asarray(values)
        if values.ndim != 2 or values.shape[1] != record.n_frames or values.shape[0] == 0:
            fail(
                name,
                f"expected shape (n_users, n_frames={record.n_frames}), got {values.shape}",
            )
        if not np.all(np.isfinite(values)):
            fail(name, "contains NaN or infinite values")
    # F1 counts selected frames: anything but 0/1 would silently change the overlap.
    if record.user_summary is not None and not np.all(np.isin(record.user_summary, (0, 1))):
        fail("user_summary", "expected binary values 0/1")


def _decode(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return _decode(value.item() if value.size == 1 else value.tobytes())
    return str(value)


def _missing(path: Path, key: str, name: str) -> DatasetError:
    spec = FIELD_SPECS.get(name)
    expected = f" (expected {spec})" if spec else ""
    return DatasetError(f"{_where(path, key, name)}: missing required field{expected}")


def _read_value(group: h5py.Group, name: str, path: Path, key: str) -> Any:
    item = group[name]
    if not isinstance(item, h5py.Dataset):
        raise DatasetError(
            f"{_where(path, key, name)}: expected an h5 dataset, got a group "
            f"(expected {FIELD_SPECS.get(name, 'an array')})"
        )
    return item[()]


def _read_int_array(group: h5py.Group, name: str, path: Path, key: str) -> np.ndarray:
    raw = np.asarray(_read_value(group, name, path, key))
    # Silently truncating 15.5 to 15 would shift every frame index: refuse non-integral values.
    if not np.issubdtype(raw.dtype, np.integer):
        if not np.issubdtype(raw.dtype, np.number) or not np.all(np.isfinite(raw)):
            raise DatasetError(
                f"{_where(path, key, name)}: expected finite integers, got dtype {raw.dtype} "
                f"(expected {FIELD_SPECS[name]})"
            )
        if np.any(raw != np.round(raw)):
            raise DatasetError(
                f"{_where(path, key, name)}: expected integer values, got fractions "
                f"(expected {FIELD_SPECS[name]})"
            )
    return raw.astype(np.int64)


def _read_scalar(group: h5py.Group, name: str, path: Path, key: str) -> float:
    raw = np.asarray(_read_value(group, name, path, key))
    if raw.size != 1 or not np.issubdtype(raw.dtype, np.number):
        raise DatasetError(
            f"{_where(path, key, name)}: expected a numeric scalar, got shape {raw.shape} "
            f"dtype {raw.dtype} (expected {FIELD_SPECS[name]})"
        )
    value = float(raw.item())
    if not np.isfinite(value):
        raise DatasetError(
            f"{_where(path, key, name)}: got {value} (expected {FIELD_SPECS[name]})"
        )
    return value


def _read_record(group: h5py.Group, path: Path, key: str) -> VideoRecord:
    for name in REQUIRED_FIELDS:
        if name not in group:
            raise _missing(path, key, name)

    def array(name: str) -> np.ndarray | None:
        if name not in group:
            return None
        raw = np.asarray(_read_value(group, name, path, key))
        if not np.issubdtype(raw.dtype, np.number) and raw.dtype != bool:
            raise DatasetError(
                f"{_where(path, key, name)}: expected numbers, got dtype {raw.dtype} "
                f"(expected {FIELD_SPECS[name]})"
            )
        return raw.astype(np.float32)

    n_frames = _read_scalar(group, "n_frames", path, key)
    if n_frames != round(n_frames):
        raise DatasetError(
            f"{_where(path, key, 'n_frames')}: got {n_frames} "
            f"(expected {FIELD_SPECS['n_frames']})"
        )
    fps = _read_scalar(group, "fps", path, key)
    strings: dict[str, str | None] = {}
    for name in STRING_ATTRS:
        if name in group.attrs:
            strings[name] = _decode(group.attrs[name])
        elif name in group and isinstance(group[name], h5py.Dataset):
            strings[name] = _decode(group[name][()])
        else:
            strings[name] = None
    known = set(REQUIRED_FIELDS) | set(OPTIONAL_ARRAY_FIELDS) | set(STRING_ATTRS)
    extra = {
        name: np.asarray(group[name][()])
        for name in group
        if name not in known and isinstance(group[name], h5py.Dataset)
    }
    cps = _read_int_array(group, "change_points", path, key)
    if cps.ndim == 1 and cps.size == 2:
        cps = cps.reshape(1, 2)
    features = array("features")
    assert features is not None
    return VideoRecord(
        key=key,
        features=features,
        picks=_read_int_array(group, "picks", path, key).reshape(-1),
        n_frames=int(round(n_frames)),
        fps=fps,
        change_points=cps,
        n_frame_per_seg=_read_int_array(group, "n_frame_per_seg", path, key).reshape(-1),
        gtscore=array("gtscore"),
        gtsummary=array("gtsummary"),
        user_summary=array("user_summary"),
        user_anno=array("user_anno"),
        extra=extra,
        **strings,
    )


def read_dataset(path: str | os.PathLike, validate: bool = True) -> Dataset:
    """Read a standard h5 file; keys come back in natural order (video_1, video_2, ...)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with handle:
        attrs = {name: _attr_value(value) for name, value in handle.attrs.items()}
        keys = sorted((k for k in handle if isinstance(handle[k], h5py.Group)), key=natural_key)
        if not keys:
            raise DatasetError(f"{path}: contains no video groups")
        records = {key: _read_record(handle[key], path, key) for key in keys}
    if validate:
        for record in records.values():
            validate_record(record, path)
    return Dataset(records=records, attrs=attrs, path=path)


def _attr_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_record(group: h5py.Group, record: VideoRecord) -> None:
    """Write one record into an (empty) h5 group in the standard layout."""
    # shuffle groups the float bytes by significance, which gzip then compresses far better
    group.create_dataset(
        "features", data=record.features.astype(np.float32), compression="gzip", shuffle=True
    )
    group.create_dataset("picks", data=record.picks.astype(np.int64))
    group.create_dataset("n_frames", data=np.int64(record.n_frames))
    group.create_dataset("fps", data=np.float64(record.fps))
    group.create_dataset("change_points", data=record.change_points.astype(np.int64))
    group.create_dataset("n_frame_per_seg", data=record.n_frame_per_seg.astype(np.int64))
    for name in OPTIONAL_ARRAY_FIELDS:
        value = getattr(record, name)
        if value is not None:
            compression = "gzip" if value.ndim == 2 else None
            group.create_dataset(name, data=value.astype(np.float32), compression=compression)
    for name in STRING_ATTRS:
        value = getattr(record, name)
        if value is not None:
            group.attrs[name] = value
    if record.video_name is not None:
        # The standard SumMe file stores the name as a dataset too.
        group.create_dataset("video_name", data=np.bytes_(record.video_name.encode("utf-8")))
    for name, value in record.extra.items():
        group.create_dataset(name, data=value)


def write_dataset(
    path: str | os.PathLike,
    records: Iterable[VideoRecord],
    attrs: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Validate and write records atomically; refuse to overwrite without ``force``."""
    path = check_writable(path, force)
    records = list(records)
    if not records:
        raise DatasetError(f"{path}: refusing to write a dataset with no videos")
    for record in records:
        validate_record(record, path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            for name, value in (attrs or {}).items():
                if value is not None:
                    handle.attrs[name] = value
            for record in records:
                write_record(handle.create_group(record.key), record)
    return path


def shots_from_change_points(change_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(change_points, n_frame_per_seg) in the standard inclusive form, from (S, 2) rows."""
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    return cps, cps[:, 1] - cps[:, 0] + 1


def change_points_from_boundaries(starts: np.ndarray, n_frames: int) -> np.ndarray:
    """Inclusive shot ranges from the frame indices where shots start (first must be 0)."""
    starts = np.unique(np.concatenate([[0], np.asarray(starts, dtype=np.int64)]))
    starts = starts[(starts >= 0) & (starts < n_frames)]
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]])
    return np.stack([starts, ends], axis=1)
