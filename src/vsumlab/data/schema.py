"""The standard benchmark h5 schema (``eccv16_dataset_*_google_pool5.h5``): typed records,
reading, writing and validation.

One h5 group per video key (``video_1`` .. ``video_N``). Per video, the fields of the published
files (the dataset curators' README) and the ones this project adds:

==================  ====================  =========================================
field               shape / dtype         meaning
==================  ====================  =========================================
features            (T, D) float          one feature vector per sampled step (required)
gtscore             (T,) float            mean annotator importance per step
gtsummary           (T,) float            binary keyshot summary per step
picks               (T,) int              frame index of each step (increasing)
n_frames            scalar int            frames in the video
change_points       (S, 2) int            shots, inclusive frame ranges [start, end]
n_frame_per_seg     (S,) int              end - start + 1
user_summary        (U, n_frames)         binary summary of each annotator
n_steps             scalar int            T (published files; checked when present)
video_name          string                original video name (SumMe published file)
fps                 scalar float          frames per second (NOT in the published files)
user_anno           (U, n_frames)         TVSum per-user importance scores 1..5 (NOT in the
                                          published files; ``vsumlab data attach-annotations``)
==================  ====================  =========================================

Only ``features`` is required to read a file; what else a video has decides what it can be
used for (:func:`missing_for`): training needs ``gtscore``; evaluation (F1) needs ``picks``,
``n_frames``, ``change_points``, ``n_frame_per_seg`` and a non-empty ``user_summary``; rank
correlation additionally needs ``user_anno`` for TVSum-style files (SumMe-style files rank
against ``user_summary``). The published SumMe and TVSum files are therefore evaluable but
TVSum is not rank-evaluable until annotations are attached; the OVP and YouTube files hold
only ``features``, ``gtscore`` and ``gtsummary`` (train-only). Integer fields stored as
floats (as in the published files) are read when their values are integral.

Group attributes hold ``video_name``, ``video_id``, ``category`` and ``title`` when known; file
attributes hold ``dataset_name``, ``annotation_style`` (``summe``/``tvsum``) and
``synthetic_features`` (features are synthetic stand-ins, not real CNN features).

Reading refuses, with one line naming the file, video and field: keys, field names and stored
names that are not UTF-8 (quoted escaped), objects the HDF5 library cannot open or read (a
corrupt download), fields of the wrong kind, and values outside what the fields mean: ``gtscore``
in [0, 1] (the annotators' normalized mean), ``gtsummary`` 0/1, one feature width per file.
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

from vsumlab.errors import DatasetError, printable
from vsumlab.io import check_writable, write_h5_atomic

REQUIRED_FIELDS = ("features",)
#: fields F1 evaluation needs besides the features (``user_summary`` must not be all empty)
EVALUATION_FIELDS = ("picks", "n_frames", "change_points", "n_frame_per_seg", "user_summary")
#: what each use of a video needs (rank: see :func:`missing_for`, it depends on the style)
USES = ("train", "evaluate", "rank")
#: the command that adds what the published files lack (user_anno, fps, names)
ATTACH_COMMAND = "vsumlab data attach-annotations FILE.h5 --annotations ydata-tvsum50.mat|summe/GT --out OUT.h5"
OPTIONAL_ARRAY_FIELDS = ("gtscore", "gtsummary", "user_summary", "user_anno")
STRING_ATTRS = ("video_name", "video_id", "category", "title")

#: float32 round-off tolerated on the [0, 1] range of gtscore (values are stored as float32)
UNIT_RANGE_TOLERANCE = 1e-6

#: what each field must look like, quoted in every validation message
FIELD_SPECS: dict[str, str] = {
    "features": "(n_steps, dim) float",
    "picks": "(n_steps,) int, strictly increasing frame indices",
    "n_frames": "scalar int > 0",
    "fps": "scalar float > 0",
    "change_points": "(n_segments, 2) int, inclusive [start, end] frame ranges",
    "n_frame_per_seg": "(n_segments,) int, end - start + 1",
    "gtscore": "(n_steps,) float in [0, 1]",
    "gtsummary": "(n_steps,) float 0/1",
    "user_summary": "(n_users, n_frames) 0/1",
    "user_anno": "(n_users, n_frames) float, TVSum scores 1..5",
    "n_steps": "scalar int = rows of features",
}


@dataclass
class VideoRecord:
    """One video of a benchmark file. Only ``features`` is always there; the other fields are
    None where the file lacks them (the published files have no ``fps``, OVP/YouTube no
    ``picks``...); :func:`missing_for` tells what a use still needs."""

    key: str
    features: np.ndarray
    picks: np.ndarray | None = None
    n_frames: int | None = None
    fps: float | None = None
    change_points: np.ndarray | None = None
    n_frame_per_seg: np.ndarray | None = None
    gtscore: np.ndarray | None = None
    gtsummary: np.ndarray | None = None
    user_summary: np.ndarray | None = None
    user_anno: np.ndarray | None = None
    video_name: str | None = None
    video_id: str | None = None
    category: str | None = None
    title: str | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    #: ``standard`` or ``mrhisum`` (Mr. HiSum's published layout, completed on reading)
    layout: str = "standard"

    def has_field(self, name: str) -> bool:
        """Whether the record holds field ``name`` (a lazily read record answers for its
        features from the file's index, without reading them)."""
        return getattr(self, name) is not None

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

    def fields_of(self, key: str) -> frozenset[str]:
        """Which fields video ``key`` holds (see :func:`record_fields`)."""
        return record_fields(self.records[key])

    def any_field(self, name: str) -> bool:
        """Whether any video holds field ``name``."""
        return any(getattr(record, name) is not None for record in self.records.values())

    @property
    def layout(self) -> str:
        """``mrhisum`` when every video is in Mr. HiSum's layout, else ``standard``."""
        layouts = {record.layout for record in self.records.values()}
        return "mrhisum" if layouts == {"mrhisum"} else "standard"


def natural_key(key: str) -> list[Any]:
    """Sort ``video_2`` before ``video_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", key)]


def _where(source: str | os.PathLike | None, key: str, name: str) -> str:
    prefix = f"{printable(source)}: " if source is not None else ""
    return f"{prefix}video '{printable(key)}' field '{printable(name)}'"


def validate_record(record: VideoRecord, source: str | os.PathLike | None = None) -> None:
    """Raise :class:`DatasetError` naming file, key, field and expectation on any violation.

    Fields that are absent are not errors here (:func:`missing_for` says what a use needs);
    the ones present must be consistent with each other.
    """
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
    declared_steps = record.extra.get("n_steps")
    if declared_steps is not None and np.asarray(declared_steps).size == 1:
        if float(np.asarray(declared_steps).item()) != n_steps:
            fail("n_steps", f"says {np.asarray(declared_steps).item()} but features has {n_steps} rows")
    n_frames = record.n_frames
    if n_frames is not None and n_frames <= 0:
        fail("n_frames", f"expected a positive frame count, got {n_frames}")
    if record.fps is not None and (not np.isfinite(record.fps) or record.fps <= 0):
        fail("fps", f"expected a positive frame rate, got {record.fps}")

    picks = None if record.picks is None else np.asarray(record.picks)
    if picks is not None:
        if picks.shape != (n_steps,):
            fail("picks", f"expected shape ({n_steps},) (one per feature step), got {picks.shape}")
        if not np.issubdtype(picks.dtype, np.integer):
            fail("picks", f"expected integer frame indices, got dtype {picks.dtype}")
        if n_steps > 1 and np.any(np.diff(picks) <= 0):
            fail("picks", "expected strictly increasing frame indices")
        last = np.inf if n_frames is None else n_frames - 1
        if picks.min() < 0 or picks.max() > last:
            fail(
                "picks",
                f"expected frame indices in [0, {last}], "
                f"got range [{picks.min()}, {picks.max()}]",
            )

    if record.change_points is not None:
        cps = np.asarray(record.change_points)
        if cps.ndim != 2 or cps.shape[1] != 2 or cps.shape[0] == 0:
            fail("change_points", f"expected shape (n_segments, 2), got {cps.shape}")
        if cps[0, 0] != 0:
            fail("change_points", f"expected the first shot to start at frame 0, got {cps[0, 0]}")
        if np.any(cps[:, 1] < cps[:, 0]):
            fail("change_points", "expected start <= end in every row")
        if cps.shape[0] > 1 and np.any(cps[1:, 0] != cps[:-1, 1] + 1):
            fail("change_points", "expected contiguous shots (each start = previous end + 1)")
        if n_frames is not None and cps[-1, 1] > n_frames - 1:
            fail(
                "change_points",
                f"expected the last shot to end by frame {n_frames - 1}, got {cps[-1, 1]}",
            )
        if picks is not None and cps[-1, 1] < picks[-1]:
            fail(
                "change_points",
                f"do not cover the video: last shot ends at frame {cps[-1, 1]} "
                f"but the last step is frame {picks[-1]}",
            )
        if record.n_frame_per_seg is not None:
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
    if record.gtscore is not None:
        # the annotators' normalized mean: x5 or negative scores are another file's scale
        low, high = float(np.min(record.gtscore)), float(np.max(record.gtscore))
        if low < -UNIT_RANGE_TOLERANCE or high > 1 + UNIT_RANGE_TOLERANCE:
            fail("gtscore", f"has values outside [0, 1] (range [{low:g}, {high:g}])")
    if record.gtsummary is not None and not np.all(np.isin(record.gtsummary, (0, 1))):
        bad = np.asarray(record.gtsummary)[~np.isin(record.gtsummary, (0, 1))]
        fail("gtsummary", f"expected binary values 0/1, got {bad[0]:g}")
    for name in ("user_summary", "user_anno"):
        values = getattr(record, name)
        if values is None:
            continue
        values = np.asarray(values)
        width = values.shape[1] if values.ndim == 2 else -1
        if values.ndim != 2 or values.shape[0] == 0 or (n_frames is not None and width != n_frames):
            fail(
                name,
                f"expected shape (n_users, n_frames={n_frames}), got {values.shape}",
            )
        if not np.all(np.isfinite(values)):
            fail(name, "contains NaN or infinite values")
    if record.user_summary is not None:
        # F1 counts selected frames: anything but 0/1 would silently change the overlap.
        if not np.all(np.isin(record.user_summary, (0, 1))):
            fail("user_summary", "expected binary values 0/1")
        # with no selected frame in any row every F1 is 0: a broken video, not a hard one
        if not np.any(record.user_summary):
            fail("user_summary", "every user summary is empty (no frame selected by any user)")
    if record.user_anno is not None:
        anno = np.asarray(record.user_anno)
        if anno.min() < 1 or anno.max() > 5:
            fail(
                "user_anno",
                f"has scores outside 1..5 (range [{anno.min():g}, {anno.max():g}])",
            )


#: the fields whose presence decides what a video can be used for
PRESENCE_FIELDS = (*REQUIRED_FIELDS, *EVALUATION_FIELDS, "fps", "gtscore", "gtsummary",
                   "user_anno")


def record_fields(record: VideoRecord) -> frozenset[str]:
    """The fields of :data:`PRESENCE_FIELDS` that ``record`` holds (not None)."""
    return frozenset(name for name in PRESENCE_FIELDS if record.has_field(name))


def missing_fields(fields: frozenset[str] | set[str], use: str,
                   style: str | None = None) -> list[str]:
    """:func:`missing_for` on a video's set of present fields (what a lazy index keeps)."""
    if use not in USES:
        raise ValueError(f"unknown use {use!r}; expected one of {USES}")
    if use == "train":
        needed: tuple[str, ...] = ("gtscore",)
    elif use == "evaluate" or style == "summe":
        needed = EVALUATION_FIELDS
    else:
        needed = (*EVALUATION_FIELDS, "user_anno")
    return [name for name in needed if name not in fields]


def missing_for(record: VideoRecord, use: str, style: str | None = None) -> list[str]:
    """The fields ``record`` lacks for ``use``: ``train`` (gtscore), ``evaluate`` (F1: picks,
    n_frames, change_points, n_frame_per_seg, user_summary) or ``rank`` (evaluation plus the
    annotators that rank correlation compares with: ``user_anno`` unless ``style`` is summe,
    whose annotators are the ``user_summary`` rows)."""
    return missing_fields(record_fields(record), use, style)


def require_fps(record: VideoRecord, source: str | os.PathLike | None = None, why: str = "") -> float:
    """The record's frame rate, or a one-line error saying where it comes from: the published
    files have none; attaching the original annotations adds it."""
    if record.fps is None:
        need = f" ({why})" if why else ""
        raise DatasetError(
            f"{_where(source, record.key, 'fps')}: frame rate unknown{need}; the published files "
            f"carry none: add it from the original annotations with `{ATTACH_COMMAND}`"
        )
    return float(record.fps)


def decode_text(value: Any, where: str = "text") -> str:
    """A string stored as bytes, a one-element or byte array, or a str, as str (UTF-8);
    :class:`DatasetError` starting with ``where`` when the bytes are not UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{where}: not UTF-8 text ('{printable(value)}'; expected a "
                               "UTF-8 string)") from exc
    if isinstance(value, np.ndarray):
        return decode_text(value.item() if value.size == 1 else value.tobytes(), where)
    return str(value)


def _corrupt(where: str, exc: BaseException) -> DatasetError:
    reason = str(exc).strip("'\"").splitlines()[0] if str(exc) else exc.__class__.__name__
    return DatasetError(f"{where}: unreadable, the file is corrupt or truncated ({reason}); "
                        "download or build it again")


#: what h5py raises on an object whose bytes are damaged (KeyError on open, OSError on read)
H5_READ_ERRORS = (KeyError, OSError, RuntimeError, ValueError)


def h5_item(group: h5py.Group, name: str, where: str) -> Any:
    """``group[name]``, or :class:`DatasetError` naming ``where`` when the object is corrupt."""
    try:
        return group[name]
    except H5_READ_ERRORS as exc:
        raise _corrupt(where, exc) from exc


def h5_names(group: h5py.Group, where: str) -> list[str]:
    """The member names of ``group``; :class:`DatasetError` on a name that is not UTF-8 (h5py
    returns such names as bytes) or on a group whose index is corrupt."""
    try:
        names = list(group)
    except H5_READ_ERRORS as exc:
        raise _corrupt(where, exc) from exc
    for name in names:
        if isinstance(name, bytes):
            raise DatasetError(f"{where}: holds a member named '{printable(name)}', which is not "
                               "UTF-8 text (expected UTF-8 names such as video_1 or features)")
    return names


def _missing(path: Path, key: str, name: str) -> DatasetError:
    spec = FIELD_SPECS.get(name)
    expected = f" (expected {spec})" if spec else ""
    return DatasetError(f"{_where(path, key, name)}: missing required field{expected}")


def _read_value(group: h5py.Group, name: str, path: Path, key: str) -> Any:
    where = _where(path, key, name)
    item = h5_item(group, name, where)
    if not isinstance(item, h5py.Dataset):
        raise DatasetError(
            f"{where}: expected an h5 dataset, got a group "
            f"(expected {FIELD_SPECS.get(name, 'an array')})"
        )
    try:
        return item[()]
    except H5_READ_ERRORS as exc:
        raise _corrupt(where, exc) from exc


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


def read_count(group: h5py.Group, name: str, path: Path, key: str) -> int:
    """An integral scalar field (``n_frames``); stored as a float in the published files."""
    value = _read_scalar(group, name, path, key)
    if value != round(value):
        raise DatasetError(
            f"{_where(path, key, name)}: got {value} (expected {FIELD_SPECS[name]})"
        )
    return int(round(value))


def _read_record(group: h5py.Group, path: Path, key: str,
                 features_from: Any = None) -> VideoRecord:
    """One video's record; with ``features_from`` (a lazy dataset) its features are not read
    here but on access (:class:`vsumlab.data.lazy.LazyFeaturesRecord`)."""
    members = set(h5_names(group, f"{printable(path)}: video '{key}'"))
    for name in REQUIRED_FIELDS:
        if name not in members:
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

    def int_array(name: str) -> np.ndarray | None:
        return _read_int_array(group, name, path, key) if name in group else None

    n_frames = read_count(group, "n_frames", path, key) if "n_frames" in members else None
    fps = _read_scalar(group, "fps", path, key) if "fps" in group else None
    strings: dict[str, str | None] = {}
    attributes = _attributes(group, f"{printable(path)}: video '{key}'")
    for name in STRING_ATTRS:
        where = _where(path, key, name)
        if name in attributes:
            strings[name] = decode_text(attributes[name], where)
        elif name in members and isinstance(h5_item(group, name, where), h5py.Dataset):
            strings[name] = decode_text(_read_value(group, name, path, key), where)
        else:
            strings[name] = None
    known = {*REQUIRED_FIELDS, *EVALUATION_FIELDS, "fps", *OPTIONAL_ARRAY_FIELDS, *STRING_ATTRS}
    extra = {
        name: np.asarray(_read_value(group, name, path, key))
        for name in sorted(members - known)
        if isinstance(h5_item(group, name, _where(path, key, name)), h5py.Dataset)
    }
    cps = int_array("change_points")
    if cps is not None and cps.ndim == 1 and cps.size == 2:
        cps = cps.reshape(1, 2)
    picks = int_array("picks")
    n_frame_per_seg = int_array("n_frame_per_seg")
    if features_from is not None:
        from vsumlab.data.lazy import LazyFeaturesRecord

        make: Any = lambda **fields: LazyFeaturesRecord(features_from, **fields)  # noqa: E731
        features = None
    else:
        make = VideoRecord
        features = array("features")
        assert features is not None
    record = make(
        key=key,
        features=features,
        picks=None if picks is None else picks.reshape(-1),
        n_frames=n_frames,
        fps=fps,
        change_points=cps,
        n_frame_per_seg=None if n_frame_per_seg is None else n_frame_per_seg.reshape(-1),
        gtscore=array("gtscore"),
        gtsummary=array("gtsummary"),
        user_summary=array("user_summary"),
        user_anno=array("user_anno"),
        extra=extra,
        **strings,
    )
    from vsumlab.data.mrhisum import complete_mrhisum_record

    # Mr. HiSum's published layout (features, gtscore, change_points, gt_summary) lacks the
    # evaluation fields the standard layout stores: they follow from its one step per second
    return complete_mrhisum_record(record, path)


def open_h5(path: Path) -> h5py.File:
    """Open a standard h5 file for reading, with a one-line DatasetError when it is missing or
    not HDF5."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path}: not a readable HDF5 file ({exc})") from exc


def video_group_keys(handle: h5py.File, path: Path) -> list[str]:
    """The file's video groups in natural order (video_1, video_2, ...); at least one.
    :class:`DatasetError` on a key that is not UTF-8 or an object that cannot be opened."""
    names = h5_names(handle, printable(path))
    keys = sorted((k for k in names
                   if isinstance(h5_item(handle, k, f"{printable(path)}: video '{k}'"), h5py.Group)),
                  key=natural_key)
    if not keys:
        raise DatasetError(f"{path}: contains no video groups")
    return keys


def read_dataset(path: str | os.PathLike, validate: bool = True) -> Dataset:
    """Read a standard h5 file; keys come back in natural order (video_1, video_2, ...)."""
    path = Path(path)
    with open_h5(path) as handle:
        attrs = {name: _attr_value(value, f"{printable(path)}: file attribute '{name}'")
                 for name, value in _attributes(handle, printable(path)).items()}
        keys = video_group_keys(handle, path)
        records = {key: _read_record(handle[key], path, key) for key in keys}
    if validate:
        for record in records.values():
            validate_record(record, path)
        check_feature_width(records.values(), path)
    return Dataset(records=records, attrs=attrs, path=path)


def check_feature_width(records: Iterable[VideoRecord], source: str | os.PathLike) -> None:
    """One feature width per file: a model has one input width, so a file mixing widths would
    only fail later, inside training, far from its cause."""
    first: VideoRecord | None = None
    for record in records:
        if first is None:
            first = record
        elif record.feature_dim != first.feature_dim:
            raise DatasetError(
                f"{_where(source, record.key, 'features')}: has {record.feature_dim}-d features "
                f"but video '{printable(first.key)}' has {first.feature_dim}-d (expected one "
                "feature width per file)"
            )


def _attributes(obj: h5py.HLObject, where: str) -> dict[str, Any]:
    """The attributes of an h5 object; :class:`DatasetError` on corrupt or non-UTF-8 names."""
    try:
        names = list(obj.attrs)
    except H5_READ_ERRORS as exc:
        raise _corrupt(f"{where}: attributes", exc) from exc
    values: dict[str, Any] = {}
    for name in names:
        if isinstance(name, bytes):
            raise DatasetError(f"{where}: attribute name '{printable(name)}' is not UTF-8 text")
        try:
            values[name] = obj.attrs[name]
        except H5_READ_ERRORS as exc:
            raise _corrupt(f"{where}: attribute '{name}'", exc) from exc
    return values


def _attr_value(value: Any, where: str) -> Any:
    if isinstance(value, bytes | np.bytes_):
        return decode_text(bytes(value), where)
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_record(group: h5py.Group, record: VideoRecord) -> None:
    """Write one record into an (empty) h5 group in the standard layout."""
    # shuffle groups the float bytes by significance, which gzip then compresses far better
    group.create_dataset(
        "features", data=record.features.astype(np.float32), compression="gzip", shuffle=True
    )
    for name in ("picks", "change_points", "n_frame_per_seg"):
        value = getattr(record, name)
        if value is not None:
            group.create_dataset(name, data=np.asarray(value).astype(np.int64))
    if record.n_frames is not None:
        group.create_dataset("n_frames", data=np.int64(record.n_frames))
    if record.fps is not None:
        group.create_dataset("fps", data=np.float64(record.fps))
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
    check_feature_width(records, path)

    def fill(handle: h5py.File) -> None:
        for name, value in (attrs or {}).items():
            if value is not None:
                handle.attrs[name] = value
        for record in records:
            write_record(handle.create_group(record.key), record)

    return write_h5_atomic(path, fill)


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
