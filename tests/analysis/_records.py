"""Hand-made records for the analysis tests."""

from __future__ import annotations

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord


def record(
    key: str = "video_1",
    n_frames: int = 10,
    picks: list[int] | None = None,
    change_points: list[list[int]] | None = None,
    user_summary: list[list[int]] | None = None,
    user_anno: list[list[float]] | None = None,
    gtscore: list[float] | None = None,
    fps: float = 30.0,
) -> VideoRecord:
    picks_arr = np.asarray(picks if picks is not None else [0, 5], dtype=np.int64)
    cps = np.asarray(change_points or [[0, 4], [5, 9]], dtype=np.int64).reshape(-1, 2)
    return VideoRecord(
        key=key,
        features=np.zeros((len(picks_arr), 4), dtype=np.float32),
        picks=picks_arr,
        n_frames=n_frames,
        fps=fps,
        change_points=cps,
        n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
        gtscore=None if gtscore is None else np.asarray(gtscore, np.float32),
        user_summary=None if user_summary is None else np.asarray(user_summary, np.float32),
        user_anno=None if user_anno is None else np.asarray(user_anno, np.float32),
    )


def dataset(*records: VideoRecord, style: str = "tvsum", name: str = "toy") -> Dataset:
    return Dataset(records={r.key: r for r in records},
                   attrs={"annotation_style": style, "dataset_name": name})
