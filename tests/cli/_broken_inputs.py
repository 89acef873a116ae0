"""Broken inputs of the bad-input suite, by class: encodings, corrupt containers, wrong kinds,
range and consistency, duplicate keys, foreign run state. Each builder derives one broken file
from a valid one, so the only fault a command meets is the one the class names."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np


def copy_h5(source: Path, target: Path, edit: Callable[[h5py.File], None]) -> Path:
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as handle:
        edit(handle)
    return target


def _rename_group(old: str, new: bytes) -> Callable[[h5py.File], None]:
    def edit(handle: h5py.File) -> None:
        handle.move(old, new)  # h5py takes bytes names as they are: not UTF-8 here

    return edit


def _set_attr(where: str, name: str, value: object) -> Callable[[h5py.File], None]:
    def edit(handle: h5py.File) -> None:
        handle[where].attrs[name] = value

    return edit


def _replace(field: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[h5py.File], None]:
    def edit(handle: h5py.File) -> None:
        old = handle[field][()]
        del handle[field]
        handle[field] = make(old)

    return edit


def corrupt_object(source: Path, target: Path, field: str = "video_1/gtscore") -> Path:
    """Flip bytes inside one object's header: the file opens, that object does not (a damaged
    download: h5py's "Unable to synchronously open object")."""
    shutil.copyfile(source, target)
    with h5py.File(target, "r") as handle:
        address = h5py.h5o.get_info(handle[field].id).addr
    blob = bytearray(target.read_bytes())
    for offset in range(address + 8, address + 40):
        blob[offset] ^= 0xFF
    target.write_bytes(bytes(blob))
    return target


@dataclass(frozen=True)
class BrokenDataset:
    """A dataset file with one fault: ``named`` and ``also`` must appear in the error line."""

    name: str
    build: Callable[[Path, Path], Path]  # (valid file, target) -> broken file
    named: str
    also: str
    keys_only: bool = False  # a fault in the keys or file attributes (read without records)


def _edited(edit: Callable[[h5py.File], None]) -> Callable[[Path, Path], Path]:
    return lambda source, target: copy_h5(source, target, edit)


BROKEN_DATASETS = [
    # encodings: names that are not UTF-8, quoted escaped
    BrokenDataset("key-not-utf8", _edited(_rename_group("video_2", b"video_\xff")),
                  "video_\\xff", "not UTF-8", keys_only=True),
    BrokenDataset("dataset-name-not-utf8", _edited(_set_attr("/", "dataset_name",
                                                             np.bytes_(b"sum\xe9"))),
                  "file attribute 'dataset_name'", "sum\\xe9", keys_only=True),
    BrokenDataset("video-name-not-utf8", _edited(_set_attr("video_1", "video_name",
                                                           np.bytes_(b"caf\xe9"))),
                  "video 'video_1' field 'video_name'", "caf\\xe9"),
    # corrupt containers: a readable file with one damaged object
    BrokenDataset("corrupt-object", corrupt_object, "video 'video_1' field 'gtscore'",
                  "corrupt or truncated"),
    # wrong kinds
    BrokenDataset("n-frames-array", _edited(_replace("video_1/n_frames",
                                                     lambda v: np.array([v, v]))),
                  "video 'video_1' field 'n_frames'", "expected a numeric scalar"),
    BrokenDataset("n-frames-nan", _edited(_replace("video_1/n_frames",
                                                   lambda v: np.float64("nan"))),
                  "video 'video_1' field 'n_frames'", "got nan"),
    # range and consistency
    BrokenDataset("gtscore-times-5", _edited(_replace("video_1/gtscore", lambda v: v * 5)),
                  "video 'video_1' field 'gtscore'", "outside [0, 1]"),
    BrokenDataset("gtscore-negative", _edited(_replace("video_1/gtscore", lambda v: v - 1)),
                  "video 'video_1' field 'gtscore'", "outside [0, 1]"),
    BrokenDataset("gtsummary-half", _edited(_replace("video_1/gtsummary",
                                                     lambda v: np.full_like(v, 0.5))),
                  "video 'video_1' field 'gtsummary'", "binary values 0/1, got 0.5"),
    BrokenDataset("mixed-feature-widths", _edited(_replace("video_2/features",
                                                           lambda v: v[:, :32])),
                  "video 'video_2' field 'features'", "one feature width per file"),
]


def fake_summe_gt(folder: Path, frame_counts: list[int], fps: float = 30.0) -> Path:
    """A SumMe-style GT folder (MATLAB v5 files, names sorted as video_1, video_2, ...) whose
    frame counts match a dataset's, for attach-annotations."""
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index, n_frames in enumerate(frame_counts):
        score = (rng.random((n_frames, 3)) < 0.2).astype(np.float64)
        savemat(folder / f"video{index:02d}.mat",
                {"user_score": score, "FPS": np.array([[fps]]), "nFrames": np.array([[n_frames]])})
    return folder


def published_like(source: Path, target: Path, n_videos: int = 3) -> Path:
    """The first videos of a synthetic file without what attach adds (fps, user_anno, names)."""
    from vsumlab.data.schema import read_dataset, write_dataset

    dataset = read_dataset(source)
    records = []
    for record in list(dataset)[:n_videos]:
        record.fps, record.user_anno = None, None
        record.video_name = record.video_id = record.category = record.title = None
        records.append(record)
    return write_dataset(target, records, attrs={"dataset_name": "published_like"})


# ----------------------------------------------------------------------- small file systems
@dataclass
class SmallFS:
    """A tmpfs of a few hundred KB mounted for a test (root only)."""

    root: Path
    readonly: bool = False

    def fill(self) -> None:
        """Fill every free byte (the disk is then full: any write of data fails)."""
        fd = os.open(self.root / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            for size in (65536, 4096, 1):
                while True:
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC
                        break
        finally:
            os.close(fd)


def mount_tmpfs(root: Path, size_kb: int, readonly: bool = False) -> SmallFS | str:
    """Mount a tmpfs at ``root``; the reason as a string when this machine does not allow it."""
    root.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if readonly else "")
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(root)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run mount: {exc}"
    if done.returncode != 0:
        return f"cannot mount a tmpfs (needs root): {done.stderr.strip()}"
    return SmallFS(root, readonly)


def unmount(fs: SmallFS) -> None:
    subprocess.run(["umount", "-l", str(fs.root)], capture_output=True, timeout=30, check=False)
