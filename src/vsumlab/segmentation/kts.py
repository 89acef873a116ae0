"""Kernel temporal segmentation (KTS, Potapov et al., ECCV 2014) with the automatic choice of
the number of change points, and the shots it gives a video.

Linear kernel on L2-normalised features; ``S(m)`` = least total within-segment scatter with
``m`` change points (``m + 1`` segments); ``cost(m) = S(m)/n + vmax * m/(2n) * (log(n/m) + 1)``
(``cost(0) = S(0)/n``); the answer is the least-cost ``m <= max_change_points`` (ties: smallest
``m``) and its optimal segmentation (ties: earliest change points, counted from the end). The
result equals the plain ``O(m n^2)`` dynamic program's, found by an exact hull search
(:mod:`vsumlab.segmentation.hull`) in a fraction of its time and without the n x n Gram matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vsumlab.errors import ConfigError, DatasetError
from vsumlab.segmentation.hull import choose_change_points
from vsumlab.segmentation.scatter import SegmentScatter


def check_features(features: Any, source: str = "features") -> np.ndarray:
    """``features`` as a finite float (T, D) array with T, D >= 1, or a one-line DatasetError."""
    arr = np.asarray(features)
    if arr.ndim != 2:
        raise DatasetError(
            f"{source}: expected a 2-D (steps, dim) feature array, got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DatasetError(f"{source}: expected (steps >= 1, dim >= 1) features, got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise DatasetError(f"{source}: expected numeric features, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise DatasetError(f"{source}: features contain NaN or inf (first at step {bad})")
    return arr


def _check_options(max_change_points: int | None, vmax: float, n: int) -> tuple[int, float]:
    if max_change_points is None:
        cap = n - 1
    elif isinstance(max_change_points, (bool, np.bool_)) or not isinstance(
        max_change_points, (int, np.integer)
    ):
        raise ConfigError(f"max_change_points: expected an integer >= 0, got {max_change_points!r}")
    elif max_change_points < 0:
        raise ConfigError(f"max_change_points: expected an integer >= 0, got {max_change_points}")
    else:
        cap = min(int(max_change_points), n - 1)  # n steps allow at most n - 1 change points
    try:
        v = float(vmax)
    except (TypeError, ValueError):
        raise ConfigError(f"vmax: expected a finite number >= 0, got {vmax!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"vmax: expected a finite number >= 0, got {vmax!r}")
    return cap, v


def kts(
    features: np.ndarray,
    max_change_points: int | None = None,
    vmax: float = 1.0,
    *,
    source: str = "features",
) -> np.ndarray:
    """Step indices (sorted int64, 0 excluded) where KTS starts a new segment.

    ``max_change_points`` defaults to ``T - 1`` (larger values are clamped to it); ``vmax``
    weighs the penalty (larger: fewer segments). ``source`` names the input in error messages.
    """
    arr = check_features(features, source)
    cap, v = _check_options(max_change_points, vmax, arr.shape[0])
    return choose_change_points(SegmentScatter(arr), cap, v)


def _check_picks(picks: Any, n_steps: int, n_frames: Any, source: str) -> tuple[np.ndarray, int]:
    if isinstance(n_frames, (bool, np.bool_)) or not isinstance(n_frames, (int, np.integer)):
        raise DatasetError(f"{source}: n_frames: expected an integer >= 1, got {n_frames!r}")
    n_frames = int(n_frames)
    arr = np.asarray(picks)
    if arr.shape != (n_steps,):
        raise DatasetError(
            f"{source}: picks: expected shape ({n_steps},) (one frame per step), got {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise DatasetError(f"{source}: picks: expected integer frame indices, got {arr.dtype}")
    arr = arr.astype(np.int64)
    if n_frames < 1 or arr.min() < 0 or arr.max() >= n_frames:
        raise DatasetError(
            f"{source}: picks: expected frame indices in [0, {n_frames - 1}] (n_frames="
            f"{n_frames}), got range [{arr.min()}, {arr.max()}]"
        )
    if np.any(np.diff(arr) <= 0):
        raise DatasetError(f"{source}: picks: expected strictly increasing frame indices")
    return arr, n_frames


def video_shots(
    features: np.ndarray,
    picks: np.ndarray,
    n_frames: int,
    *,
    source: str = "features",
    **kts_kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """KTS shots of a video as ``(change_points (S, 2) inclusive frame ranges,
    n_frame_per_seg (S,))`` covering frames ``0 .. n_frames - 1``.

    A segment starting at step ``t`` starts at frame ``picks[t]``; the first shot starts at frame
    0 and each shot ends one frame before the next starts, the last at ``n_frames - 1``.
    """
    arr = check_features(features, source)
    frames, n_frames = _check_picks(picks, arr.shape[0], n_frames, source)
    steps = kts(arr, source=source, **kts_kwargs)
    starts = np.concatenate([[0], frames[steps]]).astype(np.int64)
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]]).astype(np.int64)
    return np.stack([starts, ends], axis=1), ends - starts + 1
