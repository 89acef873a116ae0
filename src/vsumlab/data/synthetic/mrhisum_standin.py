"""Stand-ins in Mr. HiSum's published layout (see :mod:`vsumlab.data.mrhisum`), for tests and
scale benchmarks: ``video_1`` .. ``video_N`` with ``features`` (T, dim), ``gtscore`` (T,) in
[0, 1], ``change_points`` (S, 2) inclusive shots and ``gt_summary`` (T,) 0/1, no file
attributes (the published file has none), and a split object ``{"train_keys", "val_keys",
"test_keys"}``. Random features and scores: nothing here is Mr. HiSum's data.

The h5 is written video by video to a temporary file beside the output and renamed over it at
the end (atomic), not built in memory as :func:`vsumlab.io.write_h5_atomic` does: a 20,000-video
stand-in does not fit in memory. Its ``gt_summary`` takes shots by mean ``gtscore`` while they
fit in 15% of the steps (the first always), a stand-in for the published knapsack summary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from vsumlab.io import atomic_path, check_writable, write_text_atomic

#: the published split's shares (27,892 / 2,000 / 2,000 of 31,892 videos, mrsum_split.json)
VAL_SHARE = TEST_SHARE = 2000 / 31892


def standin_video(rng: np.random.Generator, dim: int, min_steps: int, max_steps: int
                  ) -> dict[str, np.ndarray]:
    n_steps = int(rng.integers(min_steps, max_steps + 1))
    cuts = np.sort(rng.choice(np.arange(1, n_steps), size=min(n_steps - 1, max(1, n_steps // 8)),
                              replace=False))
    starts = np.r_[0, cuts]
    ends = np.r_[cuts - 1, n_steps - 1]
    gtscore = rng.random(n_steps).astype(np.float32)
    means = np.array([gtscore[s:e + 1].mean() for s, e in zip(starts, ends, strict=True)])
    summary = np.zeros(n_steps, dtype=np.float32)
    used = 0
    for shot in np.argsort(-means, kind="stable"):
        length = ends[shot] - starts[shot] + 1
        if used and used + length > 0.15 * n_steps:
            continue
        summary[starts[shot]:ends[shot] + 1] = 1
        used += length
    return {"features": rng.normal(size=(n_steps, dim)).astype(np.float32),
            "gtscore": gtscore, "change_points": np.stack([starts, ends], axis=1),
            "gt_summary": summary}


def write_mrhisum_standin(path: str | os.PathLike, n_videos: int, seed: int = 0,
                          dim: int = 1024, min_steps: int = 20, max_steps: int = 60,
                          split: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Write an ``n_videos`` stand-in (and its split file at ``split``); return the h5 path."""
    path = check_writable(path, force)
    if split is not None:
        check_writable(split, force)
    rng = np.random.default_rng(seed)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            for index in range(1, n_videos + 1):
                group = handle.create_group(f"video_{index}")
                for name, value in standin_video(rng, dim, min_steps, max_steps).items():
                    group.create_dataset(name, data=value)
    if split is not None:
        keys = [f"video_{i}" for i in rng.permutation(np.arange(1, n_videos + 1))]
        n_val = max(1, round(VAL_SHARE * n_videos))
        n_test = max(1, round(TEST_SHARE * n_videos))
        lists = {"train_keys": keys[n_val + n_test:], "val_keys": keys[:n_val],
                 "test_keys": keys[n_val:n_val + n_test]}
        write_text_atomic(split, json.dumps(lists, indent=1) + "\n")
    return path
