"""Attach the original annotations to a published feature file (``vsumlab data
attach-annotations``).

The published ``eccv16_dataset_{summe,tvsum}_google_pool5.h5`` lack what the original
annotations hold: TVSum's per-user 1..5 scores (``user_anno``, which rank correlation needs),
frame rates, names, YouTube ids, categories and titles. This copies the file byte for byte and
only adds to it, per video: ``fps`` (SumMe ``FPS``; TVSum ``nframes / length``), ``user_anno``
(TVSum) and the group attributes ``video_name``/``video_id``/``category``/``title``; per file:
``annotation_style``, ``annotations_source`` and ``dataset_name`` (the published file's stem, so
the dataset keeps its name whatever the output is called). No published dataset is rewritten.

Videos are matched by the published order: ``video_i`` is the i-th SumMe name in
case-insensitive order, or the i-th video of ``ydata-tvsum50.mat``. Each video's frame count
must equal the annotations' (and a SumMe ``video_name``, when stored, the file name), or the
command stops naming the video and both values.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from vsumlab.data.schema import (
    decode_text,
    h5_item,
    open_h5,
    read_count,
    read_dataset,
    video_group_keys,
)
from vsumlab.errors import DatasetError, printable
from vsumlab.io import check_writable, write_h5_atomic

#: what attach adds per video; refused when already there (the file is not a published one)
ADDED_FIELDS = ("fps", "user_anno")


@dataclass(frozen=True)
class VideoAnnotations:
    """What attach adds to one video, and what it checks."""

    n_frames: int
    fps: float
    names: dict[str, str]
    user_anno: np.ndarray | None = None


@dataclass(frozen=True)
class AttachReport:
    out: Path
    style: str
    videos: int
    added: tuple[str, ...]


def _summe(gt_dir: Path, indices: set[int]) -> tuple[int, dict[int, VideoAnnotations]]:
    from vsumlab.data.importers import read_summe_video, summe_files

    files = summe_files(gt_dir)
    found = {}
    for index in indices:
        if index < len(files):
            video = read_summe_video(files[index])
            found[index] = VideoAnnotations(
                n_frames=video.n_frames, fps=video.fps, names={"video_name": video.name}
            )
    return len(files), found


def _tvsum(mat_path: Path, indices: set[int]) -> tuple[int, dict[int, VideoAnnotations]]:
    from vsumlab.data.importers import read_tvsum_videos, tvsum_video_count

    count = tvsum_video_count(mat_path)
    _, videos = read_tvsum_videos(mat_path, {i for i in indices if i < count})
    found = {
        index: VideoAnnotations(
            n_frames=video.n_frames,
            fps=video.fps,
            names={
                "video_name": video.video_id,
                "video_id": video.video_id,
                "category": video.category,
                "title": video.title,
            },
            user_anno=video.user_anno,
        )
        for index, video in videos.items()
    }
    return count, found


def _video_indices(handle: h5py.File, standard: Path) -> dict[str, int]:
    indices = {}
    for key in video_group_keys(handle, standard):
        match = re.fullmatch(r"video_(\d+)", key)
        if match is None or int(match.group(1)) < 1:
            raise DatasetError(
                f"{standard}: video '{key}' is not named video_<i>; attach matches videos by "
                "the published order video_1 .. video_N"
            )
        indices[key] = int(match.group(1)) - 1
    return indices


def _frame_count(group: h5py.Group, standard: Path, key: str) -> int:
    if "n_frames" not in group:
        raise DatasetError(
            f"{standard}: video '{key}' field 'n_frames': missing; attach needs the frame "
            "count to check the match (is this a train-only file like OVP/YouTube?)"
        )
    return read_count(group, "n_frames", standard, key)  # an array or NaN: one line naming it


def _stored_name(group: h5py.Group, standard: Path, key: str) -> str | None:
    if "video_name" not in group:
        return None
    where = f"{printable(standard)}: video '{key}' field 'video_name'"
    item = h5_item(group, "video_name", where)
    if not isinstance(item, h5py.Dataset):
        raise DatasetError(f"{where}: expected a string dataset, got a group")
    return decode_text(item[()], where)


def attach_annotations(
    standard: str | os.PathLike,
    annotations: str | os.PathLike,
    out: str | os.PathLike,
    force: bool = False,
) -> AttachReport:
    """Write ``out``: ``standard`` plus the annotations' per-user scores, frame rates and names
    (module docstring). ``annotations``: a SumMe ``GT`` folder or ``ydata-tvsum50.mat``."""
    standard, annotations = Path(standard), Path(annotations)
    out = check_writable(out, force)
    if not standard.is_file():
        raise DatasetError(f"{standard}: no such file")
    if out.resolve() == standard.resolve():
        raise DatasetError(f"{out}: --out must differ from the input (it is never altered)")
    if not annotations.exists():
        raise DatasetError(
            f"{annotations}: no such file or folder (expected ydata-tvsum50.mat or a SumMe GT "
            "folder)"
        )
    style = "summe" if annotations.is_dir() else "tvsum"
    reader = _summe if style == "summe" else _tvsum
    source_name = "ydata-tvsum50.mat" if style == "tvsum" else "SumMe GT"
    with open_h5(standard) as handle:
        indices = _video_indices(handle, standard)
        count, found = reader(annotations, set(indices.values()))
        for key, index in indices.items():
            if index not in found:
                raise DatasetError(
                    f"{standard}: video '{key}' has no counterpart in {annotations} "
                    f"({count} videos there)"
                )
            group = h5_item(handle, key, f"{printable(standard)}: video '{key}'")
            video = found[index]
            label = video.names["video_name"]
            frames = _frame_count(group, standard, key)
            if frames != video.n_frames:
                raise DatasetError(
                    f"{standard}: video '{key}' ({label}) has n_frames {frames} but "
                    f"{source_name} gives {video.n_frames}: not the same video (is the file "
                    "in the published order?)"
                )
            stored = _stored_name(group, standard, key)
            if stored is not None and stored != label:
                raise DatasetError(
                    f"{standard}: video '{key}' field 'video_name' is {stored!r} but the "
                    f"published order gives {label!r} from {annotations}"
                )
            for name in ADDED_FIELDS:
                if name in group:
                    raise DatasetError(
                        f"{standard}: video '{key}' already has '{name}': attach adds it to a "
                        "published file that lacks it"
                    )
    # then the input as a whole (values, names, damaged objects): its faults name it, not --out
    read_dataset(standard)

    def add(handle: h5py.File) -> None:  # on the published bytes: additions only
        for key, index in indices.items():
            group, video = handle[key], found[index]
            group.create_dataset("fps", data=np.float64(video.fps))
            if video.user_anno is not None:
                group.create_dataset(
                    "user_anno", data=video.user_anno.astype(np.float32), compression="gzip"
                )
            for name, value in video.names.items():
                if name == "video_name" and "video_name" in group:
                    continue  # SumMe stores it as a dataset already
                group.attrs[name] = value
        handle.attrs["annotation_style"] = style
        handle.attrs["annotations_source"] = annotations.name
        if "dataset_name" not in handle.attrs:
            # keep the published name (qualified keys, split files naming the file)
            handle.attrs["dataset_name"] = standard.stem

    # validated before the rename: an output that fails its own check is never left behind
    # (it would also block a rerun without --force)
    def check(tmp: Path) -> None:
        try:
            read_dataset(tmp)
        except DatasetError as exc:
            raise DatasetError(f"{printable(standard)} with the annotations of "
                               f"{printable(annotations)} does not validate: {exc}") from exc

    write_h5_atomic(out, add, start_from=standard, check=check)
    added = ("fps", "user_anno", "names") if style == "tvsum" else ("fps", "names")
    return AttachReport(out=out, style=style, videos=len(indices), added=added)
