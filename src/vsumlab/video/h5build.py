"""A standard benchmark h5 from a folder of videos: resumable, and atomic per video.

Each finished video is written to its own small file in ``<out>.parts/`` (temporary file, then
rename), so an interruption never leaves a half-written video. At the end the output file is
rebuilt atomically from its previous content plus the parts, and the parts are removed. A new
run skips every video already in the output file or in the parts folder. Files are built in
memory and written as finished bytes (:func:`vsumlab.io.write_h5_atomic`), so a full disk ends in
one line naming the file, never inside the HDF5 library. Video file names that cannot be h5 keys
(not UTF-8, ``..mp4`` whose key would be ``.``) are refused before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from vsumlab.data.schema import (
    H5_READ_ERRORS,
    Dataset,
    decode_text,
    h5_item,
    h5_names,
    validate_record,
    write_record,
)
from vsumlab.data.video_decode import VideoError, find_videos
from vsumlab.errors import ConfigError, DatasetError, VsumError, printable
from vsumlab.io import check_writable, write_h5_atomic
from vsumlab.video.encoders import FrameEncoder
from vsumlab.video.features import Sampling, VideoFailure, iter_video_features, video_record

#: file attributes that must agree between a resumed file and the current run
COMPAT_ATTRS = ("feature_model", "feature_dim", "sampling")


@dataclass
class BuildReport:
    out: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def _keys_and_attrs(path: Path) -> tuple[list[str], dict[str, Any]]:
    where = printable(path)
    try:
        with h5py.File(path, "r") as handle:
            keys = [k for k in h5_names(handle, where)
                    if isinstance(h5_item(handle, k, f"{where}: video '{k}'"), h5py.Group)]
            return keys, {k: _plain(v, f"{where}: attribute '{k}'")
                          for k, v in handle.attrs.items()}
    except DatasetError as exc:
        raise VsumError(f"{exc}; or pass --force to rebuild it") from exc
    except H5_READ_ERRORS as exc:
        raise VsumError(f"{where}: not a readable HDF5 file ({exc}); pass --force to rebuild") from exc


def _plain(value: Any, where: str) -> Any:
    if isinstance(value, bytes):
        return decode_text(value, where)
    return value.item() if hasattr(value, "item") and getattr(value, "size", 2) == 1 else value


def check_key(video: Path, key: str) -> str:
    """A video key that an h5 file can hold and every message can print, from a file name."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of the file name, kept as surrogates
        raise VideoError(
            f"{printable(video)}: file name is not UTF-8 text, so it cannot be a video key; "
            "rename the file (expected a UTF-8 name)"
        ) from None
    if key in ("", ".", "..") or "/" in key:
        raise VideoError(
            f"{printable(video)}: file name gives the video key {key!r}, which an h5 file cannot "
            "hold; rename the file"
        )
    return key


def _check_compatible(path: Path, attrs: dict[str, Any], wanted: dict[str, Any]) -> None:
    for name in COMPAT_ATTRS:
        if name in attrs and str(attrs[name]) != str(wanted[name]):
            raise ConfigError(
                f"{path}: was built with {name}={attrs[name]}, this run uses {name}={wanted[name]}"
                "; pass --force to rebuild it or choose another --out"
            )


def _video_keys(
    videos: list[Path], annotations: Dataset | None, source: str | os.PathLike | None
) -> dict[Path, str]:
    if annotations is not None:
        from vsumlab.video.annotate import match_videos

        return match_videos(videos, annotations, source or "annotations")
    keys: dict[Path, str] = {}
    seen: dict[str, Path] = {}
    for video in videos:
        check_key(video, video.stem)
        if video.stem in seen:
            raise VideoError(
                f"{video}: same name as {seen[video.stem].name}; keys are file names without "
                "suffix, rename one of them"
            )
        seen[video.stem] = video
        keys[video] = video.stem
    return keys


def build_feature_file(
    video_dir: str | os.PathLike,
    out: str | os.PathLike,
    encoder: FrameEncoder,
    sampling: Sampling | None = None,
    batch_size: int = 32,
    annotations: str | os.PathLike | Dataset | None = None,
    force: bool = False,
    progress: bool = False,
    kts_kwargs: dict[str, Any] | None = None,
    on_video: Callable[[str], None] | None = None,
) -> BuildReport:
    """Extract features of every video in ``video_dir`` into the standard h5 ``out``.

    ``annotations``: SumMe GT folder, TVSum .mat, or a dataset DATA's importers returned.
    Raises :class:`VideoError` at the end when some videos could not be read (the others are
    written). ``on_video(key)`` is called after each video is safely stored.
    """
    out = check_writable(out, force=True)  # an --out that cannot be written: before extracting
    sampling = sampling or Sampling()
    parts = parts_dir(out)
    videos = find_videos(video_dir)
    dataset = None
    if isinstance(annotations, Dataset):  # already imported (saves re-reading in a session)
        dataset, annotations = annotations, annotations.path or annotations.name
    elif annotations is not None:
        from vsumlab.video.annotate import load_annotations

        dataset = load_annotations(annotations)
    keys = _video_keys(videos, dataset, annotations)
    source = str(Path(video_dir).resolve())
    try:  # recorded in the file's attributes, which hold UTF-8 text
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise VideoError(f"{printable(source)}: folder name is not UTF-8 text; rename it") from None
    attrs = {
        "dataset_name": dataset.name if dataset is not None else Path(video_dir).resolve().name,
        "synthetic_features": False,
        "feature_model": encoder.name,
        "feature_weights": encoder.weights or "",
        "feature_dim": encoder.dim,
        "sampling": sampling.describe(),
        "videos_source": str(Path(video_dir).resolve()),
    }
    if dataset is not None:
        attrs["annotation_style"] = dataset.attrs.get("annotation_style", dataset.name)
        attrs["annotations_source"] = str(annotations)
        attrs["gtscore"] = str(dataset.attrs.get("gtscore", ""))

    if force:  # the previous output stays until the new one replaces it
        shutil.rmtree(parts, ignore_errors=True)
    done: set[str] = set()
    if out.exists() and not force:
        existing, old_attrs = _keys_and_attrs(out)
        _check_compatible(out, old_attrs, attrs)
        done.update(existing)
    for part in sorted(parts.glob("*.h5")) if parts.is_dir() else []:
        part_keys, part_attrs = _keys_and_attrs(part)
        _check_compatible(part, part_attrs, attrs)
        done.update(part_keys)

    report = BuildReport(out=out)
    todo = [v for v in videos if keys[v] not in done]
    report.skipped = sorted(keys[v] for v in videos if keys[v] in done)
    failures: list[VideoFailure] = []
    for result in iter_video_features(todo, encoder, sampling, batch_size, progress):
        if isinstance(result, VideoFailure):
            failures.append(result)
            continue
        key = keys[result.path]
        record = video_record(key, result, **(kts_kwargs or {}))
        if dataset is not None:
            from vsumlab.video.annotate import attach_annotations

            style = str(attrs["annotation_style"])
            record = attach_annotations(record, dataset[key], style, annotations or "")
        validate_record(record, result.path)
        for note in result.notes:
            print(f"vsumlab: note: {result.path}: {note}", file=sys.stderr)
        _write_part(parts, record, attrs)
        report.written.append(key)
        if on_video is not None:
            on_video(key)
    if report.written or parts.is_dir():
        merge_parts(out, attrs, keep_existing=not force)
    report.failed = [f.path.name for f in failures]
    if failures:
        reasons = "; ".join(str(f.error) for f in failures)
        stored = report.written or (not force and out.is_file())
        where = f"the others are in {out}" if stored else f"{out} was not written"
        raise VideoError(
            f"{len(failures)} of {len(videos)} videos could not be read ({reasons}); {where}"
        )
    return report


def _part_name(key: str) -> str:
    # keys come from file names or video_N; keep the part name a plain file name
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]  # keeps sanitised names distinct
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) + f".{digest}.h5"


def _write_part(parts: Path, record, attrs: dict[str, Any]) -> None:
    def fill(handle: h5py.File) -> None:
        handle.attrs.update(attrs)
        write_record(handle.create_group(record.key), record)

    write_h5_atomic(parts / _part_name(record.key), fill)


def merge_parts(out: Path, attrs: dict[str, Any], keep_existing: bool = True) -> None:
    """Rewrite ``out`` atomically as its current videos (unless not ``keep_existing``) plus the
    parts; then drop the parts (they stay when the write fails: a rerun resumes from them)."""
    parts = parts_dir(out)
    part_files = sorted(parts.glob("*.h5")) if parts.is_dir() else []

    def fill(dst: h5py.File) -> None:
        if keep_existing and out.exists():
            with h5py.File(out, "r") as src:
                dst.attrs.update(src.attrs)
                for key in src:
                    src.copy(src[key], dst, name=key)
        dst.attrs.update(attrs)
        for part in part_files:
            with h5py.File(part, "r") as src:
                for key in src:
                    if key not in dst:
                        src.copy(src[key], dst, name=key)

    write_h5_atomic(out, fill)
    shutil.rmtree(parts, ignore_errors=True)
