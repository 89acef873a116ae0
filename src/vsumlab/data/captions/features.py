"""Per-video features for dense-caption training, in the layouts ActivityNet features ship in.

Formats (``CaptionDataModule(features_format=...)``):

* ``h5_groups``: one HDF5 file, a group per video holding the features as a named dataset
  (``features_key``, default ``features``). The public C3D file
  ``sub_activitynet_v1-3.c3d.hdf5`` keeps ``c3d_features`` (T, 500) under each ``v_<id>`` group;
  this project's standard-schema h5 keeps ``features``, and its ``picks``/``fps`` (when both are
  present) give the step start times instead of even steps.
* ``h5_flat``: one HDF5 file with a (T, D) dataset per video at the top level (the published
  TSP ``r2plus1d_34-tsp_on_activitynet-*_features.h5``).
* ``npy_dir``: a folder of ``<video id>.npy`` files, each (T, D) (TSP, CLIP features).
* ``pdvc_pairs``: a folder of ``<video id><suffix>.npy`` for each of ``feature_suffixes``
  (default ``_resnet``, ``_bn``: PDVC's TSN features, 2048 + 1024), concatenated on the feature
  axis in that order: (T, D1 + D2). Parts of different lengths are refused
  (``pair_lengths="error"``, the default: the file pair is not from one sampling) or, with
  ``pair_lengths="nearest"``, each part is resampled to the longest part's length by PDVC's
  nearest-neighbour rule (new step ``i`` of ``N`` takes the original step nearest to
  ``i (T - 1) / (N - 1)``, halves rounded down as scipy's ``interp1d(kind="nearest")`` that
  PDVC calls; first and last steps kept). PDVC itself resamples every part to a fixed 100 steps
  (``frame_embedding_num``); keeping the longest length keeps the finest step grid.
* ``auto`` (default): a folder is ``npy_dir``, a file ``h5_groups``.

Video ids: ActivityNet caption files key videos ``v_<id>``; feature files use ``v_<id>`` (C3D,
TSP) or the bare ``<id>`` (PDVC's TSN files). A caption video ``v_X`` takes the entry ``v_X``,
else ``X``; a caption video ``X`` takes ``X``, else ``v_X`` (the exact name wins when a store
holds both). Entries ``<id>~<n>`` are further recordings of one captioned video. Items are
named by the caption id (``v_X``, ``v_X~1``) whatever the file calls them.

Steps: with no step times, the T steps split the video's duration evenly: step ``t`` covers
``[t d / T, (t + 1) d / T)``, the mapping PDVC and the other dense-captioning code use
(``featstamp = T * time / duration``).

Checks: every video's features are a (T, D) floating-point array with T >= 1, finite, and the
same D (per part) as the first video used (:meth:`FeatureStore.check`); anything else is a one-line
:class:`DatasetError` naming the file, the video and key, and the expected shape. ``.npy``
files are read with ``allow_pickle=False`` (never unpickled).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from scipy.interpolate import interp1d

from vsumlab.data.schema import natural_key, open_h5
from vsumlab.errors import ConfigError, DatasetError

RECORDING_SEP = "~"  # feature key "<video_id>~<n>": another recording of the same video
ANET_PREFIX = "v_"  # ActivityNet caption ids are "v_" + the YouTube id
FEATURE_FORMATS = ("auto", "h5_groups", "h5_flat", "npy_dir", "pdvc_pairs")
PAIR_LENGTHS = ("error", "nearest")
DEFAULT_FEATURES_KEY = "features"
DEFAULT_SUFFIXES = ("_resnet", "_bn")


def id_candidates(video_id: str) -> tuple[str, str]:
    """Entry names a caption video may have in a feature store, preferred first."""
    if video_id.startswith(ANET_PREFIX):
        return video_id, video_id[len(ANET_PREFIX) :]
    return video_id, ANET_PREFIX + video_id


def split_recording(key: str) -> tuple[str, str]:
    """``"v_X~2"`` -> ``("v_X", "~2")``; ``"v_X"`` -> ``("v_X", "")``."""
    base, sep, rest = key.partition(RECORDING_SEP)
    return base, sep + rest


def resample_nearest(feats: np.ndarray, n_steps: int) -> np.ndarray:
    """(T, D) -> (n_steps, D) by PDVC's rule: sample points ``i (T - 1) / (n_steps - 1)`` of
    the original step axis, each taking the nearest original step (a single step repeats)."""
    if feats.shape[0] == n_steps:
        return feats
    if feats.shape[0] == 1 or n_steps == 1:
        return np.repeat(feats[:1], n_steps, axis=0)
    points = np.arange(n_steps) * ((feats.shape[0] - 1) / (n_steps - 1))
    nearest = interp1d(np.arange(feats.shape[0]), feats, axis=0, kind="nearest")
    return np.asarray(nearest(points), dtype=feats.dtype)


class FeatureStore:
    """Features of the videos in one file or folder (see the module notes for the formats).

    Subclasses list their entries (:meth:`_entries`), where an entry's parts live
    (:meth:`_sources`), and read a part's header (:meth:`_header`) and array (:meth:`_read`).
    """

    kind = ""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._incomplete: dict[str, str] = {}  # entry -> which part is missing (pairs)
        self._entries_set = set(self._entries())
        self._reference: list[tuple[str, int]] | None = None  # (entry, dim) per part

    # --------------------------------------------------------------------- per format
    def _entries(self) -> Iterable[str]:
        raise NotImplementedError

    def _sources(self, entry: str) -> list[tuple[str, str]]:
        """(file, key) of each part, for messages and reading; key '' for a whole .npy file."""
        raise NotImplementedError

    def _header(self, entry: str, part: int) -> tuple[tuple[int, ...], np.dtype]:
        raise NotImplementedError

    def _read(self, entry: str, part: int) -> np.ndarray:
        raise NotImplementedError

    def _step_times(self, entry: str) -> np.ndarray | None:
        return None

    def _combine(self, entry: str, parts: list[np.ndarray]) -> np.ndarray:
        return parts[0]

    # ------------------------------------------------------------------------- lookup
    def entry_of(self, key: str) -> str | None:
        """The store's entry of a caption-side key (``v_X``, ``v_X~1``), or None."""
        base, recording = split_recording(key)
        for candidate in id_candidates(base):
            if candidate + recording in self._entries_set:
                return candidate + recording
        return None

    def keys_for(self, video_id: str) -> list[str]:
        """Items of a caption video, named by its caption id: ``<id>`` and/or ``<id>~<n>``."""
        if not hasattr(self, "_by_video"):
            by_video: dict[str, list[str]] = {}
            for entry in self._entries_set:
                base, recording = split_recording(entry)
                by_video.setdefault(base, []).append(recording)
            self._by_video = {b: sorted(r, key=natural_key) for b, r in by_video.items()}
        for candidate in id_candidates(video_id):
            if candidate in self._by_video:
                return [video_id + recording for recording in self._by_video[candidate]]
        return []

    def __contains__(self, video_id: str) -> bool:
        return bool(self.keys_for(video_id))

    def incomplete(self, video_id: str) -> str | None:
        """Why a video without features has none, when some of its files exist (pairs)."""
        for candidate in id_candidates(video_id):
            if candidate in self._incomplete:
                return self._incomplete[candidate]
        return None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handle": None}

    # ------------------------------------------------------------------------ checks
    def _where(self, entry: str, part: int) -> str:
        file, key = self._sources(entry)[part]
        return f"{file}: video '{entry}'" + (f" key '{key}'" if key else "")

    def reference_dims(self, first: str | None = None) -> list[tuple[str, int]]:
        """(entry, D) of each part of the reference video, the dimension every other video
        must have: fixed on the first call, by entry ``first`` (:meth:`check` passes the first
        video used) or else the store's first entry in natural order."""
        if self._reference is None:
            if not self._entries_set:
                raise DatasetError(f"{self.path}: holds no video features ({self.kind})")
            first = first or min(self._entries_set, key=natural_key)
            self._reference = []
            for part in range(len(self._sources(first))):
                shape, dtype = self._header(first, part)
                self._check_header(first, part, shape, dtype, expected_dim=None)
                self._reference.append((first, shape[1]))
        return self._reference

    def _check_header(
        self,
        entry: str,
        part: int,
        shape: tuple[int, ...],
        dtype: np.dtype,
        expected_dim: tuple[str, int] | None,
    ) -> None:
        dim = "D" if expected_dim is None else str(expected_dim[1])
        wanted = f"expected shape (n_steps >= 1, {dim}) of floating-point numbers"
        if expected_dim is not None and expected_dim[0] != entry:
            wanted += f" (D of the first video '{expected_dim[0]}')"
        well_formed = len(shape) == 2 and shape[0] > 0 and np.issubdtype(dtype, np.floating)
        if not well_formed or (expected_dim is not None and shape[1] != expected_dim[1]):
            raise DatasetError(f"{self._where(entry, part)}: {wanted}, got {shape} {dtype}")

    def check(self, keys: Sequence[str]) -> None:
        """Check shape and dtype of every item's parts from their headers (no data read),
        so a bad file stops the run before training rather than mid-epoch."""
        reference = self.reference_dims(self._entry(keys[0]) if keys else None)
        for key in keys:
            entry = self._entry(key)
            for part in range(len(reference)):
                shape, dtype = self._header(entry, part)
                self._check_header(entry, part, shape, dtype, reference[part])

    @property
    def dim(self) -> int:
        """D of the features :meth:`load` returns (the parts' dimensions summed)."""
        return sum(dim for _, dim in self.reference_dims())

    def _entry(self, key: str) -> str:
        entry = self.entry_of(key)
        if entry is None:
            raise DatasetError(f"{self.path}: no features of video '{key}'")
        return entry

    # -------------------------------------------------------------------------- read
    def load(self, key: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(features (T, D) float32, step start times in seconds or None for even steps)."""
        entry = self._entry(key)
        reference = self.reference_dims()
        parts = []
        for part in range(len(reference)):
            feats = self._read(entry, part)
            self._check_header(entry, part, feats.shape, feats.dtype, reference[part])
            if not np.all(np.isfinite(feats)):
                raise DatasetError(f"{self._where(entry, part)}: contains NaN or infinite values")
            parts.append(np.asarray(feats, dtype=np.float32))
        feats = self._combine(entry, parts)
        times = self._step_times(entry)
        if times is not None and times.shape != (feats.shape[0],):
            raise DatasetError(
                f"{self.path}: video '{entry}' field 'picks': expected shape "
                f"({feats.shape[0]},), got {times.shape}"
            )
        return feats, times


class _H5Store(FeatureStore):
    """Shared by the HDF5 formats: opened lazily, and again in each DataLoader worker process
    (an h5 handle inherited through a fork is not safe to read from)."""

    _handle: h5py.File | None = None
    _handle_pid: int | None = None

    def _file(self) -> h5py.File:
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle, self._handle_pid = _open_h5(self.path), os.getpid()
        return self._handle

    def _dataset(self, entry: str) -> h5py.Dataset:
        raise NotImplementedError

    def _header(self, entry: str, part: int) -> tuple[tuple[int, ...], np.dtype]:
        data = self._dataset(entry)
        return tuple(data.shape), data.dtype

    def _read(self, entry: str, part: int) -> np.ndarray:
        return np.asarray(self._dataset(entry)[()])


def _open_h5(path: Path) -> h5py.File:
    if not path.is_file():
        raise DatasetError(f"{path}: no such feature file")
    return open_h5(path)


class H5GroupFeatures(_H5Store):
    """A group per video holding dataset ``key`` (C3D: ``c3d_features``; standard schema:
    ``features``, with ``picks``/``fps`` as step times when both are present)."""

    kind = "h5_groups"

    def __init__(self, path: str | os.PathLike, key: str = DEFAULT_FEATURES_KEY):
        self.key = key
        super().__init__(path)

    def _entries(self) -> Iterable[str]:
        with _open_h5(self.path) as handle:
            return [k for k in handle if isinstance(handle[k], h5py.Group)]

    def _sources(self, entry: str) -> list[tuple[str, str]]:
        return [(str(self.path), self.key)]

    def _dataset(self, entry: str) -> h5py.Dataset:
        group = self._file()[entry]
        data = group.get(self.key)
        if not isinstance(data, h5py.Dataset):
            present = ", ".join(k for k in group if isinstance(group[k], h5py.Dataset))
            raise DatasetError(
                f"{self.path}: video '{entry}' key '{self.key}': missing (datasets there: "
                f"{present or 'none'}; set data.init_args.features_key)"
            )
        return data

    def _step_times(self, entry: str) -> np.ndarray | None:
        group = self._file()[entry]
        if "picks" not in group or "fps" not in group:
            return None
        times = np.asarray(group["picks"][()], dtype=np.float64).reshape(-1)
        return times / float(np.asarray(group["fps"][()]).item())


class H5FlatFeatures(_H5Store):
    """A (T, D) dataset per video at the file's top level (TSP's published h5)."""

    kind = "h5_flat"

    def _entries(self) -> Iterable[str]:
        with _open_h5(self.path) as handle:
            return [k for k in handle if isinstance(handle[k], h5py.Dataset)]

    def _sources(self, entry: str) -> list[tuple[str, str]]:
        return [(str(self.path), entry)]

    def _dataset(self, entry: str) -> h5py.Dataset:
        return self._file()[entry]


class NpyDirFeatures(FeatureStore):
    """``<video id><suffix>.npy`` per video and part in a folder; one part (suffix '') for
    ``npy_dir``, several concatenated on the feature axis for ``pdvc_pairs``."""

    kind = "npy_dir"

    def __init__(
        self,
        path: str | os.PathLike,
        suffixes: Sequence[str] = ("",),
        pair_lengths: str = "error",
    ):
        self.suffixes = tuple(suffixes)
        self.pair_lengths = pair_lengths
        super().__init__(path)

    def _entries(self) -> Iterable[str]:
        if not self.path.is_dir():
            raise DatasetError(f"{self.path}: no such feature folder")
        names = {p.name for p in self.path.glob("*.npy")}
        found: dict[str, set[str]] = {}
        for name in names:
            stem = name[: -len(".npy")]
            for suffix in self.suffixes:
                if stem.endswith(suffix) and len(stem) > len(suffix):
                    found.setdefault(stem[: len(stem) - len(suffix)], set()).add(suffix)
        complete = []
        for entry, suffixes in found.items():
            if len(suffixes) == len(self.suffixes):
                complete.append(entry)
            else:
                absent = [s for s in self.suffixes if s not in suffixes]
                self._incomplete[entry] = f"{entry}{absent[0]}.npy missing"
        return complete

    def _sources(self, entry: str) -> list[tuple[str, str]]:
        return [(str(self.path / f"{entry}{suffix}.npy"), "") for suffix in self.suffixes]

    def _load_npy(self, entry: str, part: int, mmap: bool) -> np.ndarray:
        file = self._sources(entry)[part][0]
        try:
            return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DatasetError(
                f"{file}: video '{entry}': not a readable numeric .npy array ({exc})"
            ) from exc

    def _header(self, entry: str, part: int) -> tuple[tuple[int, ...], np.dtype]:
        array = self._load_npy(entry, part, mmap=True)
        return tuple(array.shape), array.dtype

    def _read(self, entry: str, part: int) -> np.ndarray:
        return self._load_npy(entry, part, mmap=False)

    def _combine(self, entry: str, parts: list[np.ndarray]) -> np.ndarray:
        lengths = [p.shape[0] for p in parts]
        if len(set(lengths)) > 1:
            if self.pair_lengths != "nearest":
                files = ", ".join(
                    f"{Path(f).name} {n} steps" for (f, _), n in zip(self._sources(entry), lengths)
                )
                raise DatasetError(
                    f"{self.path}: video '{entry}': feature parts of different lengths "
                    f"({files}); set data.init_args.pair_lengths=nearest to resample them to "
                    f"{max(lengths)} steps as PDVC does"
                )
            parts = [resample_nearest(p, max(lengths)) for p in parts]
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]


def feature_options(
    features_format: str = "auto",
    features_key: str | None = None,
    feature_suffixes: Sequence[str] | None = None,
    pair_lengths: str = "error",
) -> dict[str, Any]:
    """Check the feature options of a caption DataModule; ConfigError on a bad combination."""
    if features_format not in FEATURE_FORMATS:
        raise ConfigError(
            f"data.features_format={features_format!r}: expected one of "
            f"{', '.join(FEATURE_FORMATS)}"
        )
    if pair_lengths not in PAIR_LENGTHS:
        raise ConfigError(
            f"data.pair_lengths={pair_lengths!r}: expected one of {', '.join(PAIR_LENGTHS)}"
        )
    if features_key is not None and features_format not in ("auto", "h5_groups"):
        raise ConfigError(
            f"data.features_key applies to features_format h5_groups (or auto on a file), "
            f"not {features_format}"
        )
    if feature_suffixes is not None:
        if features_format != "pdvc_pairs":
            raise ConfigError("data.feature_suffixes applies to features_format pdvc_pairs only")
        if (
            isinstance(feature_suffixes, str)
            or not feature_suffixes
            or not all(isinstance(s, str) and s for s in feature_suffixes)
        ):
            raise ConfigError(
                f"data.feature_suffixes={feature_suffixes!r}: expected a list of non-empty "
                "file-name suffixes, e.g. [_resnet, _bn]"
            )
        if len(set(feature_suffixes)) != len(feature_suffixes):
            raise ConfigError(f"data.feature_suffixes={list(feature_suffixes)}: repeated suffix")
    return {
        "features_format": features_format,
        "features_key": features_key,
        "feature_suffixes": None if feature_suffixes is None else list(feature_suffixes),
        "pair_lengths": pair_lengths,
    }


def open_features(
    path: str | os.PathLike,
    features_format: str = "auto",
    features_key: str | None = None,
    feature_suffixes: Sequence[str] | None = None,
    pair_lengths: str = "error",
) -> FeatureStore:
    """The feature store of ``path`` in the given format (see the module notes)."""
    feature_options(features_format, features_key, feature_suffixes, pair_lengths)
    path = Path(path)
    if features_format == "auto":
        if path.is_dir():
            features_format = "npy_dir"
        elif path.is_file():
            features_format = "h5_groups"
        else:
            raise DatasetError(f"{path}: no such feature file or folder")
        if features_key is not None and features_format == "npy_dir":
            raise ConfigError(
                f"data.features_key applies to an h5 file; {path} is a folder (npy_dir)"
            )
    if features_format == "h5_groups":
        return H5GroupFeatures(path, features_key or DEFAULT_FEATURES_KEY)
    if features_format == "h5_flat":
        return H5FlatFeatures(path)
    if features_format == "npy_dir":
        return NpyDirFeatures(path)
    store = NpyDirFeatures(path, feature_suffixes or DEFAULT_SUFFIXES, pair_lengths)
    store.kind = "pdvc_pairs"
    return store
