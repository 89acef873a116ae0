"""Where web videos come from: a folder per category, a list file, or TVSum's annotation file.

A *source* is one of
- a folder with one sub-folder per category holding videos (the UCF101 layout, and the layout
  of videos crawled per category keyword);
- a list file, one entry per line: ``path<TAB>category[<TAB>start_frame]`` (tabs allow spaces in
  paths; without a tab the line is split on whitespace). Relative paths are relative to the
  list file. Without a category the video's parent folder names it (UCF101's ``testlist``
  form). With ``start_frame`` the entry is one clip starting there (what progressive
  adaptation writes: the refined segments), otherwise clips are sampled across the video.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsumlab.data.video_decode import VIDEO_SUFFIXES
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.io import check_writable, write_text_atomic

#: TVSum's 10 categories (TRECVid MED), codes as stored in ydata-tvsum50.mat
TVSUM_CATEGORIES: dict[str, str] = {
    "VT": "changing vehicle tire",
    "VU": "getting vehicle unstuck",
    "GA": "grooming an animal",
    "MS": "making sandwich",
    "PK": "parkour",
    "PR": "parade",
    "FM": "flash mob gathering",
    "BK": "beekeeping",
    "BT": "attempting bike tricks",
    "DS": "dog show",
}


@dataclass(frozen=True)
class VideoEntry:
    """One training video (``start`` is None) or one clip of it starting at frame ``start``."""

    path: Path
    category: str
    start: int | None = None


def scan_folder(root: str | os.PathLike) -> list[VideoEntry]:
    """Entries of a ``root/<category>/<video>`` tree, sorted by category then file name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder of category sub-folders")
    entries = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        videos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
        )
        entries += [VideoEntry(path=video, category=folder.name) for video in videos]
    if not entries:
        raise DatasetError(
            f"{root}: no videos found; expected <category>/<video> with suffix "
            + "/".join(VIDEO_SUFFIXES)
        )
    return entries


def read_list_file(path: str | os.PathLike) -> list[VideoEntry]:
    """Entries of a list file (format in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such list file")
    entries = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) > 3:
            raise DatasetError(
                f"{path}: line {number}: expected 'path<TAB>category[<TAB>start_frame]', "
                f"got {len(parts)} fields"
            )
        video = Path(parts[0])
        video = video if video.is_absolute() else path.parent / video
        category = parts[1] if len(parts) > 1 else video.parent.name
        start = None
        if len(parts) == 3:
            try:
                start = int(parts[2])
            except ValueError:
                start = -1
            if start < 0:
                raise DatasetError(
                    f"{path}: line {number}: field start_frame={parts[2]!r}, "
                    "expected a non-negative integer"
                )
        entries.append(VideoEntry(path=video, category=category, start=start))
    if not entries:
        raise DatasetError(f"{path}: list file has no entries")
    return entries


def write_list_file(
    path: str | os.PathLike, entries: Iterable[VideoEntry], force: bool = False
) -> Path:
    """Write entries (absolute paths, tab separated) atomically; refuse to overwrite."""
    path = check_writable(path, force)
    lines = []
    for entry in entries:
        fields = [str(Path(entry.path).resolve()), entry.category]
        if entry.start is not None:
            fields.append(str(int(entry.start)))
        lines.append("\t".join(fields))
    write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))
    return path


def load_sources(sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[VideoEntry]:
    """Entries of one source or several (folders and list files), in the given order."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if not sources:
        raise ConfigError("web videos: no source given; expected folders or list files")
    entries: list[VideoEntry] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            entries += scan_folder(source)
        elif source.is_file():
            entries += read_list_file(source)
        else:
            raise DatasetError(f"{source}: no such folder or list file of videos")
    return entries


def category_names(
    entries: Sequence[VideoEntry], categories: Sequence[str] | None = None
) -> list[str]:
    """The class list: ``categories`` as given (checked to cover the entries) or sorted names."""
    found = sorted({entry.category for entry in entries})
    if categories is None:
        return found
    categories = list(categories)
    if len(set(categories)) != len(categories):
        raise ConfigError(f"web videos: categories {categories} contain duplicates")
    unknown = [name for name in found if name not in categories]
    if unknown:
        raise ConfigError(
            f"web videos: categories {unknown} of the videos are not in the configured "
            f"categories {categories}"
        )
    return categories


def tvsum_categories(mat_path: str | os.PathLike) -> dict[str, str]:
    """``{youtube id: category code}`` for the 50 TVSum videos, from ydata-tvsum50.mat."""
    import h5py

    mat_path = Path(mat_path)
    if not mat_path.is_file():
        raise DatasetError(f"{mat_path}: no such TVSum annotation file")
    try:
        handle = h5py.File(mat_path, "r")
    except OSError as exc:
        raise DatasetError(f"{mat_path}: not a MATLAB v7.3 (HDF5) file ({exc})") from exc
    with handle:
        if "tvsum50" not in handle:
            raise DatasetError(f"{mat_path}: missing struct 'tvsum50'")
        struct = handle["tvsum50"]
        for name in ("video", "category"):
            if name not in struct:
                raise DatasetError(f"{mat_path}: struct 'tvsum50' lacks field '{name}'")

        def text(ref) -> str:  # MATLAB char arrays are stored as uint16 codes
            return "".join(chr(int(c)) for c in handle[ref][()].ravel())

        videos = [text(ref) for ref in struct["video"][()].ravel()]
        codes = [text(ref) for ref in struct["category"][()].ravel()]
    return dict(zip(videos, codes))


def tvsum_entries(
    mat_path: str | os.PathLike,
    video_dir: str | os.PathLike,
    video_ids: Sequence[str] | None = None,
) -> list[VideoEntry]:
    """TVSum videos found in ``video_dir`` (named ``<youtube id>.<suffix>``) with categories.

    ``video_ids`` optionally restricts to some video ids (e.g. a training fold). Missing videos are
    an error naming them, so a fold never silently shrinks.
    """
    video_dir = Path(video_dir)
    categories = tvsum_categories(mat_path)
    wanted = list(video_ids) if video_ids is not None else list(categories)
    by_stem = {
        p.stem: p
        for p in (video_dir.iterdir() if video_dir.is_dir() else [])
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
    }
    missing = [vid for vid in wanted if vid not in by_stem]
    if missing:
        raise DatasetError(
            f"{video_dir}: TVSum videos {missing[:5]}{' ...' if len(missing) > 5 else ''} "
            f"not found ({len(missing)} missing); expected <youtube id>.mp4 files"
        )
    unknown = [vid for vid in wanted if vid not in categories]
    if unknown:
        raise DatasetError(f"{mat_path}: video ids {unknown} are not in the annotation file")
    return [VideoEntry(path=by_stem[vid], category=categories[vid]) for vid in wanted]


def dataset_videos(
    records: Iterable[Any], video_dir: str | os.PathLike, source: str | os.PathLike | None = None
) -> dict[str, Path]:
    """``{key: video file}`` for records of a standard h5, found under ``video_dir``.

    A record's file is the video (searched recursively, any video suffix) whose name stem is
    its ``video_name``, else its ``video_id``, else its key. Missing files are an error
    naming the key and the names tried.
    """
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise DatasetError(f"{video_dir}: not a folder of videos")
    by_stem: dict[str, Path] = {}
    for path in sorted(video_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            by_stem.setdefault(path.stem, path)
    found = {}
    for record in records:
        names = [n for n in (record.video_name, record.video_id, record.key) if n]
        match = next((by_stem[n] for n in names if n in by_stem), None)
        if match is None:
            where = f"{source}: " if source is not None else ""
            raise DatasetError(
                f"{where}video '{record.key}' field 'video_name': no video named "
                f"{' or '.join(repr(n) for n in names)} under {video_dir}"
            )
        found[record.key] = match
    return found
