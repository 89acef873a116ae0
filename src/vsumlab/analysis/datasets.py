"""Dataset explorer: how much annotators agree, how long shots and summaries are."""

from __future__ import annotations

from typing import Any

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord, require_fps
from vsumlab.errors import DatasetError
from vsumlab.evaluation import metrics
from vsumlab.evaluation.correlation import tau_rho_pairwise
from vsumlab.protocol.options import Protocol


def user_summaries(record: VideoRecord) -> np.ndarray:
    """(U, n_frames) 0/1 summaries: SumMe selections, or TVSum's per-user keyshot summaries."""
    if record.user_summary is None:
        raise DatasetError(
            f"video '{record.key}' field 'user_summary': missing; agreement needs "
            "(n_users, n_frames) 0/1 summaries"
        )
    return (np.asarray(record.user_summary) > 0).astype(np.int64)


def pairwise_f1(record: VideoRecord) -> np.ndarray:
    """(U, U) F1 (percent) between every two annotators' summaries; 100 on the diagonal of
    non-empty summaries. F = 2 |a & b| / (|a| + |b|), 0 without overlap."""
    users = user_summaries(record)
    overlap = users @ users.T
    sizes = users.sum(axis=1)
    total = sizes[:, None] + sizes[None, :]
    return np.where(overlap > 0, 200.0 * overlap / np.maximum(total, 1), 0.0)


def pairwise_rank(
    record: VideoRecord, protocol: Protocol | None = None, style: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(U, U) Kendall tau-b and Spearman rho between annotators' frame scores (``style``
    tvsum refuses a video without ``user_anno`` under ``rank_annotations=auto``)."""
    protocol = protocol or Protocol()
    annotators = metrics.rank_annotators(record, protocol, style)
    # the protocol's rank rate, exactly as the human reference row samples annotators
    return tau_rho_pairwise(metrics._at_rate(annotators, record, protocol))


def annotator_agreement(dataset: Dataset, protocol: Protocol | None = None) -> list[dict[str, Any]]:
    """Per video: annotators, leave-one-out human F1 / tau / rho, summary length (share)."""
    protocol = protocol or Protocol()
    style = metrics.annotation_style(dataset)
    rows = []
    for record in dataset:
        human = metrics.human_video(record, protocol, style)
        users = user_summaries(record)
        rows.append({
            "key": record.key,
            "name": record.video_name or record.title or "",
            "n_users": int(users.shape[0]),
            "duration_s": record.n_frames / require_fps(record, dataset.path, "durations"),
            "human_f1": human.f1,
            "human_kendall": human.kendall,
            "human_spearman": human.spearman,
            "summary_share": float(users.mean()),
        })
    return rows


def shot_lengths(dataset: Dataset) -> np.ndarray:
    """Length in seconds of every shot (change point segment) of every video."""
    lengths = [
        np.asarray(r.n_frame_per_seg, dtype=np.float64) / require_fps(r, dataset.path, "shot lengths")
        for r in dataset
    ]
    return np.concatenate(lengths) if lengths else np.zeros(0)


def overview(dataset: Dataset) -> dict[str, Any]:
    """Counts and ranges for the explorer's first cell."""
    durations = np.array([r.n_frames / require_fps(r, dataset.path, "durations") for r in dataset])
    shots = shot_lengths(dataset)
    return {
        "name": dataset.name,
        "path": str(dataset.path) if dataset.path else None,
        "synthetic": dataset.synthetic,
        "style": metrics.annotation_style(dataset),
        "videos": len(dataset),
        "duration_s_min": float(durations.min()),
        "duration_s_median": float(np.median(durations)),
        "duration_s_max": float(durations.max()),
        "annotators": sorted({int(user_summaries(r).shape[0]) for r in dataset}),
        "shots": int(shots.size),
        "shot_s_median": float(np.median(shots)),
        "feature_dim": dataset[dataset.keys[0]].feature_dim,
    }
