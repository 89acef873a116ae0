"""Original SumMe / TVSum annotations -> standard benchmark records.

What the importers write, per video (keys ``video_1..N`` in the standard order):

* ``picks`` every 15th frame (2 fps at 30 fps, as the standard feature files), ``n_frames``,
  ``fps`` (SumMe: the file's ``FPS``; TVSum: ``nframes / length``).
* ``user_summary`` (n_users, n_frames) 0/1. SumMe: ``user_score > 0`` transposed, as in the
  standard h5. TVSum: each annotator's 1..5 scores turned into that annotator's keyshot summary
  by the 15% knapsack over the video's shots (:func:`tvsum_user_summaries`), the usual way to
  obtain TVSum reference summaries.
* ``user_anno`` (TVSum only): the per-user 1..5 scores, (n_users, n_frames); rank correlation
  needs them.
* ``gtscore``: the annotators' mean (SumMe: share of users selecting the frame; TVSum: mean
  1..5 score) taken at the picks and **min-max normalised to [0, 1] per video** (a constant
  video gets all zeros), so it can be a regression target for sigmoid outputs on both sets.
* ``gtsummary``: the 15% keyshot summary of ``gtscore`` at the picks (default protocol).
* ``change_points`` / ``n_frame_per_seg``: KTS (:func:`vsumlab.segmentation.kts.video_shots`)
  on the features.
* features: ``<features_dir>/<key>.npy`` or ``<features_dir>/<video name>.npy`` of shape
  (n_steps, dim), one row per pick; without a folder, seeded synthetic stand-ins (scene-like,
  unrelated to the annotations) and the file attribute ``synthetic_features=True``.

Names, YouTube ids, categories and titles go to the group attributes; the file attributes
hold ``dataset_name``, ``annotation_style`` and ``synthetic_features``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.data.synthetic.standin_features import standin_features
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.protocol.keyshots import keyshot_summary

#: frames between feature steps in the standard files
STRIDE = 15
GTSCORE_NOTE = "mean annotation at picks, min-max normalised to [0, 1] per video"


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant vector becomes zeros (nothing stands out)."""
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    if span <= 0:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - values.min()) / span).astype(np.float32)


def derive_gt_fields(
    frame_mean: np.ndarray, picks: np.ndarray, change_points: np.ndarray, n_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """(gtscore, gtsummary) at the picks from the annotators' mean per frame."""
    gtscore = minmax(np.asarray(frame_mean)[picks])
    summary = keyshot_summary(gtscore, change_points, n_frames, picks)
    return gtscore, summary[picks].astype(np.float32)


def tvsum_user_summaries(user_anno: np.ndarray, change_points: np.ndarray) -> np.ndarray:
    """(n_users, n_frames) 0/1: each user's scores -> 15% knapsack keyshots over the shots."""
    n_users, n_frames = user_anno.shape
    every_frame = np.arange(n_frames)
    return np.stack(
        [keyshot_summary(user_anno[u], change_points, n_frames, every_frame) for u in range(n_users)]
    ).astype(np.float32)


def standard_picks(n_frames: int) -> np.ndarray:
    return np.arange(0, n_frames, STRIDE, dtype=np.int64)


class FeatureSource:
    """Features per video from a folder of .npy files, or seeded synthetic stand-ins."""

    def __init__(self, folder: str | os.PathLike | None, seed: int = 0) -> None:
        self.folder = None if folder is None else Path(folder)
        if self.folder is not None and not self.folder.is_dir():
            raise DatasetError(f"{self.folder}: features folder does not exist")
        self.seed = int(seed)
        self.dim: int | None = None
        self.dim_file: Path | None = None

    @property
    def synthetic(self) -> bool:
        return self.folder is None

    def load(self, index: int, key: str, name: str | None, n_steps: int) -> np.ndarray:
        if self.folder is None:
            return standin_features(n_steps, np.random.default_rng([self.seed, index]))
        candidates = [self.folder / f"{key}.npy"]
        if name:
            candidates.append(self.folder / f"{name}.npy")
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = " or ".join(p.name for p in candidates)
            raise DatasetError(f"{self.folder}: no features for video '{key}' (looked for {tried})")
        try:
            feats = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path}: video '{key}' field 'features': not a readable .npy ({exc})") from exc
        where = f"{path}: video '{key}' field 'features'"
        expected = f"(n_steps={n_steps}, dim{'' if self.dim is None else '=' + str(self.dim)})"
        if feats.ndim != 2 or feats.shape[0] != n_steps or not np.issubdtype(feats.dtype, np.number):
            raise DatasetError(
                f"{where}: got shape {feats.shape} dtype {feats.dtype}, expected {expected} "
                f"(one row per {STRIDE}th frame)"
            )
        if self.dim is None:
            self.dim, self.dim_file = int(feats.shape[1]), path
        elif feats.shape[1] != self.dim:
            raise DatasetError(
                f"{where}: got dimension {feats.shape[1]}, expected {expected} "
                f"like {self.dim_file.name if self.dim_file else 'the first video'}"
            )
        if not np.all(np.isfinite(feats)):
            raise DatasetError(f"{where}: contains NaN or infinite values")
        return feats.astype(np.float32)


def _shots(
    features: np.ndarray, picks: np.ndarray, n_frames: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    from vsumlab.segmentation.kts import video_shots  # loaded on demand, like all heavy parts

    cps, nfps = video_shots(features, picks, n_frames, source=source)
    return np.asarray(cps, dtype=np.int64), np.asarray(nfps, dtype=np.int64)


# ---------------------------------------------------------------------------------------- SumMe


def _loadmat(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        return loadmat(path)
    except (OSError, ValueError, TypeError, NotImplementedError, MatReadError) as exc:
        raise DatasetError(f"{path}: not a readable SumMe ground-truth .mat file ({exc})") from exc


def _summe_field(mat: dict[str, Any], name: str, path: Path, expected: str) -> np.ndarray:
    if name not in mat:
        raise DatasetError(f"{path}: missing field '{name}' (expected {expected})")
    return np.asarray(mat[name])


@dataclass(frozen=True)
class SumMeVideo:
    """One video of the original SumMe ground truth (``GT/<name>.mat``)."""

    name: str
    fps: float
    user_score: np.ndarray  # (n_frames, n_users), > 0 where a user selected the frame

    @property
    def n_frames(self) -> int:
        return int(self.user_score.shape[0])


def summe_files(gt_dir: str | os.PathLike) -> list[Path]:
    """The ``GT/*.mat`` files in the standard order: names sorted case-insensitively
    (``video_1`` = the first)."""
    gt_dir = Path(gt_dir)
    if not gt_dir.is_dir():
        raise DatasetError(f"{gt_dir}: not a folder of SumMe ground-truth .mat files")
    files = sorted(gt_dir.glob("*.mat"), key=lambda p: (p.stem.lower(), p.stem))
    if not files:
        raise DatasetError(f"{gt_dir}: contains no .mat files (expected SumMe GT/<video>.mat)")
    return files


def read_summe_video(path: Path) -> SumMeVideo:
    """One SumMe ground-truth file, checked (frame count against ``nFrames``)."""
    mat = _loadmat(path)
    user_score = _summe_field(mat, "user_score", path, "(n_frames, n_users) selections")
    if user_score.ndim != 2 or min(user_score.shape) == 0:
        raise DatasetError(
            f"{path}: field 'user_score' has shape {user_score.shape}, "
            "expected (n_frames, n_users)"
        )
    n_frames = int(user_score.shape[0])
    declared = mat.get("nFrames")
    if declared is not None and int(np.asarray(declared).item()) != n_frames:
        raise DatasetError(
            f"{path}: field 'nFrames' = {int(np.asarray(declared).item())} but 'user_score' "
            f"has {n_frames} rows (expected one row per frame)"
        )
    fps = float(_summe_field(mat, "FPS", path, "a scalar frame rate").item())
    return SumMeVideo(name=path.stem, fps=fps, user_score=user_score)


def import_summe(
    gt_dir: str | os.PathLike,
    features_dir: str | os.PathLike | None = None,
    seed: int = 0,
    *,
    keys: Sequence[str] | None = None,
) -> Dataset:
    """SumMe from its original ``GT/*.mat`` files; ``video_1..`` = names sorted case-insensitively.

    ``keys`` imports only those videos (numbered as in the whole folder).
    """
    gt_dir = Path(gt_dir)
    files = summe_files(gt_dir)
    source = FeatureSource(features_dir, seed)
    wanted = _wanted(keys, len(files), gt_dir)
    records = {}
    for index, path in enumerate(files):
        if index not in wanted:
            continue
        video = read_summe_video(path)
        user_summary = (video.user_score > 0).T.astype(np.float32)
        record = _annotated_record(
            source, index, path.stem, video.n_frames, video.fps, user_summary.mean(axis=0), path,
            user_summary=user_summary, video_name=path.stem,
        )
        records[record.key] = record
    return Dataset(records=records, attrs=_file_attrs("summe", source, gt_dir.name))


# ---------------------------------------------------------------------------------------- TVSum

TVSUM_FIELDS = ("video", "category", "title", "length", "nframes", "user_anno")


def _mat_string(handle: h5py.File, ref: Any) -> str:
    """MATLAB v7.3 char arrays are uint16 code units behind an object reference."""
    codes = np.asarray(handle[ref][()]).ravel()
    return "".join(chr(int(c)) for c in codes)


def _mat_array(handle: h5py.File, ref: Any) -> np.ndarray:
    return np.asarray(handle[ref][()])


@dataclass(frozen=True)
class TVSumVideo:
    """One video of ``ydata-tvsum50.mat``."""

    video_id: str
    category: str
    title: str
    length: float  # seconds
    n_frames: int
    user_anno: np.ndarray  # (n_users, n_frames) scores 1..5

    @property
    def fps(self) -> float:
        return self.n_frames / self.length


def read_tvsum_videos(
    mat_path: str | os.PathLike, indices: set[int] | None = None
) -> tuple[int, dict[int, TVSumVideo]]:
    """(number of videos, index -> video) of ``ydata-tvsum50.mat`` in the file's order
    (index i is ``video_{i+1}``); ``indices`` reads only those."""
    mat_path = Path(mat_path)
    if not mat_path.is_file():
        raise DatasetError(f"{mat_path}: no such file (expected ydata-tvsum50.mat)")
    try:
        handle = h5py.File(mat_path, "r")
    except OSError as exc:
        raise DatasetError(
            f"{mat_path}: not a MATLAB v7.3 (HDF5) file like ydata-tvsum50.mat ({exc})"
        ) from exc
    videos = {}
    with handle:
        if "tvsum50" not in handle or not isinstance(handle["tvsum50"], h5py.Group):
            raise DatasetError(f"{mat_path}: missing struct 'tvsum50' (expected ydata-tvsum50.mat)")
        struct = handle["tvsum50"]
        for name in TVSUM_FIELDS:
            if name not in struct:
                raise DatasetError(f"{mat_path}: struct 'tvsum50' has no field '{name}'")
        refs = {name: np.asarray(struct[name][()]).ravel() for name in TVSUM_FIELDS}
        n_videos = len(refs["video"])
        if any(len(r) != n_videos for r in refs.values()):
            raise DatasetError(f"{mat_path}: struct 'tvsum50' fields have different lengths")
        for index in sorted(range(n_videos) if indices is None else indices):
            video_id = _mat_string(handle, refs["video"][index])
            user_anno = _mat_array(handle, refs["user_anno"][index]).astype(np.float32)
            n_frames = int(_mat_array(handle, refs["nframes"][index]).item())
            # h5py reads MATLAB's column-major (n_frames x 20) as (20, n_frames)
            if user_anno.ndim != 2 or user_anno.shape[1] != n_frames:
                raise DatasetError(
                    f"{mat_path}: video 'video_{index + 1}' ({video_id}) field 'user_anno' has "
                    f"shape {user_anno.shape}, expected (n_users, n_frames={n_frames})"
                )
            videos[index] = TVSumVideo(
                video_id=video_id,
                category=_mat_string(handle, refs["category"][index]),
                title=_mat_string(handle, refs["title"][index]),
                length=float(_mat_array(handle, refs["length"][index]).item()),
                n_frames=n_frames,
                user_anno=user_anno,
            )
    return n_videos, videos


def tvsum_video_count(mat_path: str | os.PathLike) -> int:
    return read_tvsum_videos(mat_path, indices=set())[0]


def import_tvsum(
    mat_path: str | os.PathLike,
    features_dir: str | os.PathLike | None = None,
    seed: int = 0,
    *,
    keys: Sequence[str] | None = None,
) -> Dataset:
    """TVSum from ``ydata-tvsum50.mat`` (MATLAB v7.3); ``video_1..`` in the file's order.

    ``keys`` imports only those videos.
    """
    mat_path = Path(mat_path)
    source = FeatureSource(features_dir, seed)
    wanted = _wanted(keys, tvsum_video_count(mat_path), mat_path)
    _, videos = read_tvsum_videos(mat_path, wanted)
    records = {}
    for index, video in videos.items():
        record = _annotated_record(
            source, index, video.video_id, video.n_frames, video.fps, video.user_anno.mean(axis=0),
            mat_path, user_anno=video.user_anno, video_name=video.video_id,
            video_id=video.video_id, category=video.category, title=video.title,
        )  # fmt: skip
        record.user_summary = tvsum_user_summaries(video.user_anno, record.change_points)
        records[record.key] = record
    return Dataset(records=records, attrs=_file_attrs("tvsum", source, mat_path.name))


def _annotated_record(
    source: FeatureSource,
    index: int,
    name: str,
    n_frames: int,
    fps: float,
    frame_scores: np.ndarray,
    where: Path,
    **annotations: Any,
) -> VideoRecord:
    """``video_<index+1>`` with standard picks, features from ``source``, shots and the gtscore /
    gtsummary derived from the annotators' mean ``frame_scores``; user summaries are the
    caller's (their construction differs between the two datasets)."""
    key = f"video_{index + 1}"
    picks = standard_picks(n_frames)
    features = source.load(index, key, name, len(picks))
    change_points, n_frame_per_seg = _shots(
        features, picks, n_frames, f"{where}: video '{key}' features"
    )
    gtscore, gtsummary = derive_gt_fields(frame_scores, picks, change_points, n_frames)
    return VideoRecord(
        key=key, features=features, picks=picks, n_frames=n_frames, fps=fps,
        change_points=change_points, n_frame_per_seg=n_frame_per_seg, gtscore=gtscore,
        gtsummary=gtsummary, **annotations,
    )  # fmt: skip


def _wanted(keys: Sequence[str] | None, n_videos: int, source: Path) -> set[int]:
    """Indices of the requested ``video_<i>`` keys (all when ``keys`` is None)."""
    if keys is None:
        return set(range(n_videos))
    valid = {f"video_{i + 1}": i for i in range(n_videos)}
    unknown = [k for k in keys if k not in valid]
    if unknown:
        raise ConfigError(
            f"{source}: unknown video keys {', '.join(unknown[:5])}; "
            f"expected video_1 .. video_{n_videos}"
        )
    return {valid[k] for k in keys}


def _file_attrs(name: str, source: FeatureSource, annotations: str) -> dict[str, Any]:
    return {
        "dataset_name": name,
        "annotation_style": name,
        "synthetic_features": source.synthetic,
        "annotations_source": annotations,
        "features_source": "synthetic stand-ins" if source.folder is None else str(source.folder),
        "gtscore": GTSCORE_NOTE,
        "stride": STRIDE,
    }
