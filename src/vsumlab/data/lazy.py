"""A standard h5 file read lazily: an index once, each video's arrays on demand.

:class:`H5Dataset` answers what :class:`vsumlab.data.schema.Dataset` answers (``attrs``,
``name``, ``path``, ``keys``, ``len``, ``dataset[key]``, iteration) without keeping the videos:
opening a file reads every video once, one at a time, through the same reader and checks as
:func:`~vsumlab.data.schema.read_dataset` (UTF-8 names, corrupt objects, field kinds, value
ranges, one feature width per file) and keeps only an index: each video's number of steps,
feature width and which fields it holds. Afterwards

* :meth:`H5Dataset.features` and :meth:`H5Dataset.gtscore` read one video's arrays;
* :meth:`H5Dataset.annotations` reads one video's annotations, its features left on disk
  (:class:`LazyFeaturesRecord` reads them only if asked): what scoring a fold needs;
* the file handle is opened once per process: a DataLoader worker (forked or spawned) gets the
  index, never the parent's handle, and opens the file itself on its first read.

Peak memory is one video (plus the index: a few dozen bytes per video), whatever the number of
videos; the file is assumed unchanged while it is open (its size and modification time are
checked on every reopen).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from vsumlab.data.schema import (
    VideoRecord,
    _attr_value,
    _attributes,
    _read_record,
    check_feature_width,
    open_h5,
    record_fields,
    validate_record,
    video_group_keys,
)
from vsumlab.errors import DatasetError, printable


@dataclass(frozen=True)
class VideoEntry:
    """What the index keeps of one video."""

    key: str
    n_steps: int
    feature_dim: int
    fields: frozenset[str]


class LazyFeaturesRecord(VideoRecord):
    """A :class:`VideoRecord` whose annotations are in memory and whose ``features`` are read
    from the file each time they are asked for (scoring never asks; ``n_steps`` and
    ``feature_dim`` come from the index)."""

    def __init__(self, source: H5Dataset, **fields: Any) -> None:
        self._source = source
        fields.pop("features", None)
        super().__init__(features=None, **fields)  # type: ignore[arg-type]

    @property  # type: ignore[override]
    def features(self) -> np.ndarray:
        return self._source.features(self.key)

    def has_field(self, name: str) -> bool:
        # features are required of every indexed video: asking must not read them (scoring
        # checks which fields a video has for every video it scores)
        return True if name == "features" else super().has_field(name)

    @features.setter
    def features(self, value: Any) -> None:
        if value is not None:
            raise AttributeError("the features of a lazily read video are the file's")

    @property
    def n_steps(self) -> int:
        return self._source.entry(self.key).n_steps

    @property
    def feature_dim(self) -> int:
        return self._source.entry(self.key).feature_dim


class H5Dataset:
    """A standard h5 file, indexed once and read one video at a time (see the module)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle: h5py.File | None = None
        self._pid: int | None = None
        self.attrs: dict[str, Any] = {}
        self._entries: dict[str, VideoEntry] = {}
        self._layouts: set[str] = set()
        self._build_index()

    # ----------------------------------------------------------------- index
    def _build_index(self) -> None:
        path = self.path
        with open_h5(path) as handle:
            self.attrs = {
                name: _attr_value(value, f"{printable(path)}: file attribute '{name}'")
                for name, value in _attributes(handle, printable(path)).items()
            }
            first: VideoRecord | None = None
            for key in video_group_keys(handle, path):
                # one video in memory at a time (and the first, whose width the message names):
                # read and checked as read_dataset does, then forgotten
                record = _read_record(handle[key], path, key)
                validate_record(record, path)
                if first is None:
                    first = record
                else:
                    check_feature_width([first, record], path)
                self._entries[key] = VideoEntry(
                    key, record.n_steps, record.feature_dim, record_fields(record)
                )
                self._layouts.add(record.layout)
        self._stamp = _stamp(path)

    def entry(self, key: str) -> VideoEntry:
        return self._entries[key]

    @property
    def name(self) -> str:
        if "dataset_name" in self.attrs:
            return str(self.attrs["dataset_name"])
        return self.path.stem

    @property
    def keys(self) -> list[str]:
        return list(self._entries)

    @property
    def synthetic(self) -> bool:
        return bool(self.attrs.get("synthetic_features", False))

    @property
    def feature_dim(self) -> int:
        return next(iter(self._entries.values())).feature_dim

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def fields_of(self, key: str) -> frozenset[str]:
        return self._entries[key].fields

    def any_field(self, name: str) -> bool:
        return any(name in entry.fields for entry in self._entries.values())

    @property
    def layout(self) -> str:
        """``mrhisum`` when every video is in Mr. HiSum's layout, else ``standard``."""
        return "mrhisum" if self._layouts == {"mrhisum"} else "standard"

    def feature_bytes(self) -> int:
        """The float32 bytes of every video's features (what reading them all would take)."""
        return sum(4 * e.n_steps * e.feature_dim for e in self._entries.values())

    # ----------------------------------------------------------------- reading
    def _file(self) -> h5py.File:
        """This process's handle (a worker opens its own; h5py handles do not cross forks)."""
        if self._handle is None or self._pid != os.getpid():
            if _stamp(self.path) != self._stamp:
                raise DatasetError(f"{self.path}: changed on disk while in use (size or "
                                   "modification time differ from when it was indexed)")
            self._handle = open_h5(self.path)
            self._pid = os.getpid()
        return self._handle

    def _group(self, key: str) -> h5py.Group:
        if key not in self._entries:
            raise KeyError(key)
        return self._file()[key]

    def features(self, key: str) -> np.ndarray:
        """Video ``key``'s features (n_steps, dim) float32, read now."""
        return np.asarray(self._group(key)["features"][()], dtype=np.float32)

    def gtscore(self, key: str) -> np.ndarray | None:
        """Video ``key``'s ``gtscore`` (n_steps,) float32, or None without one."""
        if "gtscore" not in self._entries[key].fields:
            return None
        return np.asarray(self._group(key)["gtscore"][()], dtype=np.float32).reshape(-1)

    def annotations(self, key: str) -> VideoRecord:
        """Video ``key``'s record with its annotations read now and its features left on disk."""
        return _read_record(self._group(key), self.path, key, features_from=self)

    def __getitem__(self, key: str) -> VideoRecord:
        """Video ``key``'s full record (features included), read now."""
        return _read_record(self._group(key), self.path, key)

    def __iter__(self) -> Iterator[VideoRecord]:
        """Every video's full record, one at a time."""
        for key in self._entries:
            yield self[key]

    # ----------------------------------------------------------------- processes
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handle"] = None  # a pickled copy (a spawned worker) opens the file itself
        state["_pid"] = None
        return state

    def close(self) -> None:
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns
