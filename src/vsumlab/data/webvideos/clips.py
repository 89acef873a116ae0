"""16-frame clips of a video: where they start, decoding them in one pass, and a disk cache.

A clip is ``clip_len`` frames taken every ``frame_stride`` frames from ``start``, resized to
``resize = (height, width)`` (the paper's 128x171); crops happen later (augmentation), so one
cached clip serves every crop and flip. Frames past the end of a short video repeat the last
frame, so every clip has exactly ``clip_len`` frames.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsumlab.data.video_decode import VideoError, iter_frames
from vsumlab.errors import ConfigError


@dataclass(frozen=True)
class ClipSpec:
    """How clips are cut from a video (also part of the cache key)."""

    clip_len: int = 16
    frame_stride: int = 1
    resize: tuple[int, int] = (128, 171)

    def __post_init__(self) -> None:
        if self.clip_len < 1 or self.frame_stride < 1:
            raise ConfigError(
                f"clips: clip_len={self.clip_len} and frame_stride={self.frame_stride} "
                "must be positive"
            )
        if len(self.resize) != 2 or min(self.resize) < 1:
            raise ConfigError(f"clips: resize={self.resize} must be (height, width) > 0")
        object.__setattr__(self, "resize", (int(self.resize[0]), int(self.resize[1])))

    @property
    def span(self) -> int:
        """Frames of the video one clip covers (a segment, in the paper's words)."""
        return self.clip_len * self.frame_stride

    def frames(self, start: int, n_frames: int) -> np.ndarray:
        """Frame indices of the clip at ``start`` (clamped to the last frame)."""
        idx = start + np.arange(self.clip_len, dtype=np.int64) * self.frame_stride
        return np.minimum(idx, n_frames - 1)


def segment_starts(n_frames: int, spec: ClipSpec) -> np.ndarray:
    """Starts of consecutive, non-overlapping segments covering the whole video."""
    return np.arange(0, max(n_frames, 1), spec.span, dtype=np.int64)


def clip_starts(n_frames: int, spec: ClipSpec, clips_per_video: int | None) -> np.ndarray:
    """Clip starts sampled across a video.

    ``None``: every segment (:func:`segment_starts`). ``k``: ``k`` evenly spaced clips from the
    first to the last full one (fewer when the video is short), deterministic so they cache.
    """
    if clips_per_video is None:
        return segment_starts(n_frames, spec)
    if clips_per_video < 1:
        raise ConfigError(f"clips: clips_per_video={clips_per_video} must be >= 1 or None")
    last = max(n_frames - spec.span, 0)
    starts = np.round(np.linspace(0, last, clips_per_video)).astype(np.int64)
    return np.unique(starts)


def decode_clips(
    path: str | os.PathLike, starts: Sequence[int], n_frames: int, spec: ClipSpec
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(i, clip uint8 (clip_len, H, W, 3))`` for ``starts[i]``, in one decoding pass.

    Streaming: a clip is yielded as soon as its last frame is decoded, so memory holds only
    the clips that overlap the current frame. When the stream ends early (headers can
    overstate ``n_frames``) the missing frames repeat the last decoded one.
    """
    starts = [int(s) for s in starts]
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    wanted = [spec.frames(starts[i], n_frames) for i in range(len(starts))]
    picks = np.unique(np.concatenate(wanted)) if wanted else np.zeros(0, dtype=np.int64)
    height, width = spec.resize
    frames: dict[int, np.ndarray] = {}
    next_clip = 0  # position in ``order`` of the next clip to complete
    last_frame: np.ndarray | None = None
    for index, image in iter_frames(path, picks, size=(width, height)):
        frames[index] = image
        last_frame = image
        while next_clip < len(order) and wanted[order[next_clip]][-1] <= index:
            i = order[next_clip]
            yield i, np.stack([frames[f] for f in wanted[i]])
            next_clip += 1
            # drop frames no pending clip needs
            keep_from = wanted[order[next_clip]][0] if next_clip < len(order) else index + 1
            for old in [f for f in frames if f < keep_from]:
                del frames[old]
    if next_clip < len(order):
        if last_frame is None:
            raise VideoError(f"{path}: no frame decoded for clips starting at {starts[:3]}")
        for i in order[next_clip:]:
            yield i, np.stack([frames.get(int(f), last_frame) for f in wanted[i]])


class ClipCache:
    """Decoded clips as ``.npy`` uint8 files, keyed by video path + mtime + size + clip params.

    A changed video (new mtime or size) or other clip parameters give new keys, so stale clips
    are never served. Files are written atomically, so concurrent data-loader workers are safe.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self.stores = 0  # clips decoded and written by this process

    def key(self, path: str | os.PathLike, start: int, spec: ClipSpec) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        text = (
            f"{path}|{stat.st_mtime_ns}|{stat.st_size}|{spec.clip_len}|{spec.frame_stride}|"
            f"{spec.resize[0]}x{spec.resize[1]}|{int(start)}"
        )
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def file(self, path: str | os.PathLike, start: int, spec: ClipSpec) -> Path:
        key = self.key(path, start, spec)
        return self.root / key[:2] / f"{key}.npy"

    def get(self, path: str | os.PathLike, start: int, spec: ClipSpec) -> np.ndarray | None:
        file = self.file(path, start, spec)
        try:
            clip = np.load(file)
        except (FileNotFoundError, ValueError, OSError):  # absent or truncated: decode again
            self.misses += 1
            return None
        self.hits += 1
        return clip

    def put(self, path: str | os.PathLike, start: int, spec: ClipSpec, clip: np.ndarray) -> None:
        file = self.file(path, start, spec)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(clip, dtype=np.uint8))
        os.replace(tmp, file)
        self.stores += 1


def load_clips(
    path: str | os.PathLike,
    starts: Sequence[int],
    n_frames: int,
    spec: ClipSpec,
    cache: ClipCache | None = None,
) -> list[np.ndarray]:
    """Clips at ``starts`` (in that order), from the cache where present, else decoded once."""
    clips: list[np.ndarray | None] = [None] * len(starts)
    missing = []
    for i, start in enumerate(starts):
        clips[i] = cache.get(path, start, spec) if cache is not None else None
        if clips[i] is None:
            missing.append(i)
    if missing:
        for j, clip in decode_clips(path, [starts[i] for i in missing], n_frames, spec):
            clips[missing[j]] = clip
            if cache is not None:
                cache.put(path, starts[missing[j]], spec, clip)
    return clips  # type: ignore[return-value]
