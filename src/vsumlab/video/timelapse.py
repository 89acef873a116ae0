"""Importance-driven time-lapse (desumnet.txt, section 4.2).

Segment i of ``k_i`` frames with importance ``I_i`` gets the removal rate
``r_i = 1 - I_i / sum_j I_j`` and loses ``round(r_i * k_i)`` frames; the frames it keeps are
spread uniformly over the segment. Important segments therefore play slower than the rest.
Every segment keeps at least ``min_keep`` frames (a time-lapse shows all of the video, the
paper notes). Importance must be non-negative (``vsumlab timelapse`` passes DeSumNet's
importance scaled to [0, 1] per video, as the paper shows it): negative values count as 0, and
all-zero importance treats the segments alike.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from vsumlab.errors import ConfigError
from vsumlab.io import atomic_path, check_writable


def keep_counts(lengths: np.ndarray, importance: np.ndarray, min_keep: int = 1) -> np.ndarray:
    """Frames each segment keeps under the paper's rule (int64, 1 <= keep <= length)."""
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    importance = np.clip(np.asarray(importance, dtype=np.float64).reshape(-1), 0.0, None)
    if lengths.shape != importance.shape:
        raise ConfigError(
            f"time-lapse: {importance.size} importance values for {lengths.size} segments"
        )
    if lengths.size == 0 or np.any(lengths < 1):
        raise ConfigError("time-lapse: expected at least one segment, each of >= 1 frame")
    if min_keep < 1:
        raise ConfigError(f"time-lapse: min_keep={min_keep} must be >= 1")
    total = importance.sum()
    share = importance / total if total > 0 else np.full(lengths.size, 1.0 / lengths.size)
    rate = 1.0 - share  # the paper's r_i
    keep = lengths - np.round(rate * lengths).astype(np.int64)
    return np.clip(keep, np.minimum(min_keep, lengths), lengths)


def timelapse_frames(
    segments: np.ndarray, importance: np.ndarray, min_keep: int = 1
) -> np.ndarray:
    """Sorted frame indices of the time-lapse; ``segments`` are (S, 2) inclusive ranges."""
    segments = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
    lengths = segments[:, 1] - segments[:, 0] + 1
    keep = keep_counts(lengths, importance, min_keep)
    frames = []
    for (start, _), length, n in zip(segments, lengths, keep):
        # centres of n equal parts of the segment: uniform spacing, symmetric at both ends
        offsets = np.floor((np.arange(n) + 0.5) * length / n).astype(np.int64)
        frames.append(start + offsets)
    return np.concatenate(frames)


def write_video(
    source: str | os.PathLike,
    frames: np.ndarray,
    out_path: str | os.PathLike,
    fps: float,
    force: bool = False,
    codec: str = "libx264",
) -> Path:
    """Write the given frames of ``source`` (decoded in one streaming pass) as an mp4.

    The output plays at ``fps`` (the source rate, so skipped frames speed the video up).
    Audio is not carried over: a time-lapse has no meaningful soundtrack.
    """
    import av

    from vsumlab.data.video_decode import iter_frames

    out_path = check_writable(out_path, force)
    frames = np.unique(np.asarray(frames, dtype=np.int64))
    if frames.size == 0:
        raise ConfigError(f"{out_path}: no frames to write")
    rate = Fraction(fps).limit_denominator(1001)
    written = 0
    with atomic_path(out_path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = None
            for _, image in iter_frames(source, frames):
                if stream is None:
                    stream = container.add_stream(codec, rate=rate)
                    # yuv420p needs even sizes; drop a last odd row/column if any
                    stream.height, stream.width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
                    stream.pix_fmt = "yuv420p"
                image = image[: stream.height, : stream.width]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts = written
                written += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
            if stream is None:
                raise ConfigError(f"{source}: none of the time-lapse frames could be decoded")
            for packet in stream.encode():
                container.mux(packet)
    return out_path
