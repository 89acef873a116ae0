"""Video decoding with PyAV: probing, exact frame sampling (``picks``) and streaming decode.

Frame indices count decoded frames of the first video stream from 0, the convention of the
standard benchmark files (``picks[i]`` is the frame index of step i, ``n_frames`` the count).
Timestamps derived from them assume a constant frame rate (``index / fps``), as those files do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsumlab.errors import VsumError

#: file suffixes treated as videos when a folder is scanned
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")


class VideoError(VsumError):
    """A video file cannot be used: missing, unreadable, empty, without frames or video stream."""


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (``n_frames`` counted when the header lacks it)."""

    n_frames: int
    fps: float
    width: int
    height: int
    duration: float
    has_audio: bool


def open_video(path: str | os.PathLike):
    """An open PyAV container with at least one video stream, or a :class:`VideoError`."""
    import av

    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such video file")
    if path.is_dir():
        raise VideoError(f"{path}: is a folder, expected a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes), expected a video")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"{path}: not a readable video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: contains no video stream")
    return container


def _stream_fps(stream, path: Path) -> float:
    # average_rate is the container's measured rate; guessed_rate covers streams lacking it
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if rate is None or float(rate) <= 0:
        raise VideoError(f"{path}: video stream has no frame rate")
    return float(rate)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Frame count, rate, size, duration and audio presence of a video.

    When the header has no frame count the packets are counted (demuxing only, no decoding).
    """
    path = Path(path)
    container = open_video(path)
    with container:
        stream = container.streams.video[0]
        fps = _stream_fps(stream, path)
        n_frames = int(stream.frames or 0)
        if n_frames <= 0:
            n_frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
        if n_frames <= 0:
            raise VideoError(f"{path}: zero-length video (no video frames)")
        width = int(stream.codec_context.width)
        height = int(stream.codec_context.height)
        if width <= 0 or height <= 0:
            raise VideoError(f"{path}: video stream has no frame size ({width}x{height})")
        has_audio = len(container.streams.audio) > 0
    return VideoInfo(
        n_frames=n_frames,
        fps=fps,
        width=width,
        height=height,
        duration=n_frames / fps,
        has_audio=has_audio,
    )


def sample_picks(
    n_frames: int, fps: float, target_fps: float = 2.0, stride: int | None = None
) -> np.ndarray:
    """Frame indices of the sampled steps, strictly increasing, starting at frame 0.

    ``stride`` takes every ``stride``-th frame (15 in the standard files). Otherwise steps are
    taken every ``1 / target_fps`` seconds: step k is the frame showing time ``k / target_fps``,
    i.e. ``floor(k * fps / target_fps)``; at 30 fps and 2 fps this equals stride 15.
    """
    if n_frames <= 0:
        raise VideoError(f"cannot sample a video of {n_frames} frames; expected at least one")
    if stride is not None:
        if int(stride) < 1:
            raise VideoError(f"sampling stride={stride} must be a positive number of frames")
        return np.arange(0, n_frames, int(stride), dtype=np.int64)
    if not (math.isfinite(fps) and fps > 0):
        raise VideoError(f"video frame rate fps={fps} must be positive")
    if not (math.isfinite(target_fps) and target_fps > 0):
        raise VideoError(f"sampling rate target_fps={target_fps} must be positive")
    step = fps / target_fps
    n_steps = int(math.floor((n_frames - 1) / step + 1e-9)) + 1
    # the small epsilon keeps exact multiples (e.g. 30/2 * k) from flooring one frame early
    picks = np.floor(np.arange(n_steps, dtype=np.float64) * step + 1e-9).astype(np.int64)
    return np.unique(picks[picks < n_frames])


class FrameStream(Iterator[tuple[int, np.ndarray]]):
    """Iterator over ``(frame_index, rgb uint8 (H, W, 3))`` of the picked frames.

    Decodes sequentially and converts only picked frames to RGB, so memory does not depend on
    the video length. ``n_decoded`` counts frames decoded so far; if the stream ends before the
    last pick it is the true frame count (headers sometimes overstate it).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        picks: np.ndarray | None = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.picks = None if picks is None else np.asarray(picks, dtype=np.int64).reshape(-1)
        if self.picks is not None and self.picks.size > 1 and np.any(np.diff(self.picks) <= 0):
            raise VideoError(f"{self.path}: picks must be strictly increasing frame indices")
        if self.picks is not None and self.picks.size and self.picks[0] < 0:
            raise VideoError(f"{self.path}: picks must be >= 0, got {self.picks[0]}")
        if size is not None and (len(size) != 2 or min(size) <= 0):
            raise VideoError(f"resize size={size} must be (width, height) with positive values")
        self.size = size
        self.n_decoded = 0
        self.finished = False
        self._iterator = self._generate()

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> tuple[int, np.ndarray]:
        return next(self._iterator)

    def close(self) -> None:
        self._iterator.close()

    def _generate(self) -> Iterator[tuple[int, np.ndarray]]:
        import av

        container = open_video(self.path)
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame + slice threads: decoding is the costly part
            picks = self.picks
            if picks is not None and picks.size == 0:
                return
            next_pick = 0
            kwargs: dict = {"format": "rgb24"}
            if self.size is not None:
                kwargs.update(width=int(self.size[0]), height=int(self.size[1]))
            try:
                for frame in container.decode(stream):
                    index = self.n_decoded
                    self.n_decoded += 1
                    if picks is None:
                        yield index, frame.to_ndarray(**kwargs)
                        continue
                    if index != picks[next_pick]:
                        continue
                    yield index, frame.to_ndarray(**kwargs)
                    next_pick += 1
                    if next_pick == picks.size:
                        return
            except av.error.FFmpegError as exc:
                raise VideoError(
                    f"{self.path}: decoding failed at frame {self.n_decoded} ({exc})"
                ) from exc
            self.finished = True
            if self.n_decoded == 0:
                raise VideoError(f"{self.path}: zero-length video (no frame could be decoded)")
        finally:
            container.close()


def iter_frames(
    path: str | os.PathLike,
    picks: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
) -> FrameStream:
    """Stream ``(frame_index, rgb (H, W, 3) uint8)`` for the picked frames (all when ``None``).

    ``size`` is ``(width, height)`` (the PyAV/PIL order), resized by swscale while converting.
    Picks beyond the end of the stream are silently not yielded; check ``n_decoded``.
    """
    return FrameStream(path, picks, size)


def find_videos(folder: str | os.PathLike) -> list[Path]:
    """Video files directly inside ``folder`` (by suffix), sorted case-insensitively by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoError(f"{folder}: not a folder of videos")
    videos = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        raise VideoError(
            f"{folder}: no video files found (looked for {', '.join(VIDEO_SUFFIXES)})"
        )
    return sorted(videos, key=lambda p: (p.name.lower(), p.name))
