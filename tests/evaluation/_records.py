"""Small hand-made records for evaluation tests (no dependence on other packages' generators)."""

from __future__ import annotations

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord


def make_record(
    key: str,
    n_frames: int,
    picks: list[int] | np.ndarray,
    change_points: list[list[int]] | np.ndarray,
    user_summary: list[list[int]] | np.ndarray | None = None,
    user_anno: list[list[float]] | np.ndarray | None = None,
) -> VideoRecord:
    picks = np.asarray(picks, dtype=np.int64)
    cps = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    return VideoRecord(
        key=key,
        features=np.zeros((len(picks), 4), dtype=np.float32),
        picks=picks,
        n_frames=int(n_frames),
        fps=30.0,
        change_points=cps,
        n_frame_per_seg=cps[:, 1] - cps[:, 0] + 1,
        user_summary=None if user_summary is None else np.asarray(user_summary, np.float32),
        user_anno=None if user_anno is None else np.asarray(user_anno, np.float32),
    )


def random_record(
    rng: np.random.Generator,
    key: str,
    n_frames: int,
    n_users: int = 5,
    tvsum: bool = True,
    segment: int = 60,
) -> VideoRecord:
    """A TVSum-like video: picks every 15th frame, shots of 30..150 frames, piecewise-constant
    1..5 annotations over ``segment``-frame (2 s) segments and ~15% keyshot user summaries."""
    picks = np.arange(0, n_frames, 15)
    starts = [0]
    while starts[-1] < n_frames:
        starts.append(starts[-1] + int(rng.integers(30, 150)))
    starts = np.asarray(starts[:-1])
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]])
    cps = np.stack([starts, ends], axis=1)
    n_segments = -(-n_frames // segment)
    anno = np.repeat(rng.integers(1, 6, size=(n_users, n_segments)), segment, axis=1)[:, :n_frames]
    summary = np.zeros((n_users, n_frames), dtype=np.float32)
    for u in range(n_users):
        for start, end in cps[rng.permutation(len(cps))[: max(1, len(cps) // 7)]]:
            summary[u, start : end + 1] = 1
    return make_record(key, n_frames, picks, cps, summary, anno if tvsum else None)


def make_dataset(records: list[VideoRecord], **attrs: object) -> Dataset:
    return Dataset(records={r.key: r for r in records}, attrs=dict(attrs))
