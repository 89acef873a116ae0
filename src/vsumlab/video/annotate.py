"""Ground truth for records extracted from raw SumMe/TVSum videos (``--annotations``).

The original annotations are read by DATA's importers; here each video file is matched to its
annotated video by name (SumMe) or YouTube id (TVSum), and the frame-level annotations are
re-derived at this file's own picks and KTS shots, exactly as the importers derive them at theirs.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.errors import DatasetError

#: largest frame-count difference between a video file and its annotation that is accepted
#: (decoders and annotation tools disagree by a few frames at the end of some videos)
FRAME_TOLERANCE = 0.01


def load_annotations(path: str | os.PathLike) -> Dataset:
    """SumMe ``GT`` folder or TVSum ``ydata-tvsum50.mat``, by what ``path`` is."""
    from vsumlab.data.importers import import_summe, import_tvsum

    path = Path(path)
    if path.is_dir():
        return import_summe(path)
    if path.is_file() and path.suffix.lower() == ".mat":
        return import_tvsum(path)
    raise DatasetError(
        f"{path}: --annotations expects a SumMe GT folder of .mat files or TVSum's "
        "ydata-tvsum50.mat"
    )


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name).strip().lower()


def match_videos(videos: list[Path], annotations: Dataset, source: str | os.PathLike) -> dict:
    """{video path: annotation key}; every video must have an annotation (else an error)."""
    by_name: dict[str, str] = {}
    for record in annotations:
        for name in (record.video_name, record.video_id):
            if name:
                by_name[_normal(name)] = record.key
    matched, missing = {}, []
    for video in videos:
        key = by_name.get(_normal(video.stem))
        if key is None:
            missing.append(video.name)
        else:
            matched[video] = key
    if missing:
        known = sorted({r.video_name or r.key for r in annotations})
        raise DatasetError(
            f"{source}: no annotation for video file(s) {', '.join(missing)}; annotated videos "
            f"are named like {', '.join(known[:5])} ... (file name = video name or YouTube id)"
        )
    return matched


def _conform(values: np.ndarray, n_frames: int) -> np.ndarray:
    """(U, n) -> (U, n_frames), truncating or repeating the last frame's annotation."""
    if values.shape[1] >= n_frames:
        return values[:, :n_frames]
    pad = np.repeat(values[:, -1:], n_frames - values.shape[1], axis=1)
    return np.concatenate([values, pad], axis=1)


def attach_annotations(
    record: VideoRecord, annotation: VideoRecord, style: str, source: str | os.PathLike
) -> VideoRecord:
    """``record`` (own picks and shots) with the annotation's ground truth re-derived on them."""
    from vsumlab.data.importers import derive_gt_fields, tvsum_user_summaries

    n_ann, n = annotation.n_frames, record.n_frames
    if abs(n_ann - n) > max(2, FRAME_TOLERANCE * n_ann):
        raise DatasetError(
            f"{source}: video '{annotation.key}' ({annotation.video_name}) field 'n_frames': "
            f"the annotation covers {n_ann} frames but the video file has {n}; wrong video?"
        )
    if style == "tvsum":
        if annotation.user_anno is None:
            raise DatasetError(f"{source}: video '{annotation.key}' field 'user_anno' missing")
        user_anno = _conform(annotation.user_anno, n)
        user_summary = tvsum_user_summaries(user_anno, record.change_points)
        frame_mean = user_anno.mean(axis=0)
    else:
        if annotation.user_summary is None:
            raise DatasetError(f"{source}: video '{annotation.key}' field 'user_summary' missing")
        user_anno = None
        user_summary = _conform(annotation.user_summary, n)
        frame_mean = user_summary.mean(axis=0)
    gtscore, gtsummary = derive_gt_fields(frame_mean, record.picks, record.change_points, n)
    return replace(
        record,
        key=annotation.key,
        gtscore=gtscore,
        gtsummary=gtsummary,
        user_summary=user_summary.astype(np.float32),
        user_anno=None if user_anno is None else user_anno.astype(np.float32),
        video_name=annotation.video_name or record.video_name,
        video_id=annotation.video_id,
        category=annotation.category,
        title=annotation.title,
    )
