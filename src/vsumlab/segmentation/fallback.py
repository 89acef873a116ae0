"""Shots a summary budget can hold: KTS shots longer than a limit split into equal pieces.

A keyshot summary is a 0/1 knapsack over shots, so a shot longer than the budget can never be
chosen; on a video whose KTS finds one long shot (a single continuous take) nothing can. Such
shots are split into the fewest equal-length pieces no longer than the limit (a video of one
shot becomes fixed-length segments), and the other shots keep KTS's boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsumlab.errors import ConfigError


@dataclass(frozen=True)
class FittedShots:
    """Shots after splitting: ``change_points`` (S, 2) inclusive frame ranges, how many of the
    original shots were split, and the piece limit used (frames)."""

    change_points: np.ndarray
    n_split: int
    max_frames: int

    @property
    def n_frame_per_seg(self) -> np.ndarray:
        return self.change_points[:, 1] - self.change_points[:, 0] + 1


def split_long_shots(change_points: np.ndarray, max_frames: int) -> FittedShots:
    """Split every shot longer than ``max_frames`` into ``ceil(length / max_frames)`` pieces of
    equal length (the first ones one frame longer when it does not divide); others unchanged."""
    if isinstance(max_frames, bool) or int(max_frames) != max_frames or max_frames < 1:
        raise ConfigError(f"max_frames: expected an integer >= 1, got {max_frames!r}")
    shots = np.asarray(change_points, dtype=np.int64).reshape(-1, 2)
    pieces: list[tuple[int, int]] = []
    n_split = 0
    for start, end in shots:
        length = int(end - start + 1)
        if length <= max_frames:
            pieces.append((int(start), int(end)))
            continue
        n_split += 1
        count = -(-length // int(max_frames))
        sizes = np.full(count, length // count) + (np.arange(count) < length % count)
        bounds = int(start) + np.concatenate([[0], np.cumsum(sizes)])
        pieces += [(int(a), int(b) - 1) for a, b in zip(bounds[:-1], bounds[1:])]
    return FittedShots(np.asarray(pieces, dtype=np.int64).reshape(-1, 2), n_split,
                       int(max_frames))
