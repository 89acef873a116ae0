"""Batched feature extraction with decoding overlapped with the model.

A background thread probes, decodes and preprocesses frames (PyAV and swscale release the GIL)
and hands batches through a bounded queue; the calling thread only runs the encoder, so the
model is busy while the next frames are decoded, also across video boundaries.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsumlab.data.schema import VideoRecord
from vsumlab.data.video_decode import VideoError, VideoInfo, iter_frames, probe, sample_picks
from vsumlab.errors import VsumError
from vsumlab.video.encoders import FrameEncoder

#: batches decoded ahead of the model; bounds memory (batch_size frames each)
PREFETCH_BATCHES = 3


@dataclass
class Sampling:
    """How steps are taken: every ``stride``-th frame, else ``target_fps`` per second."""

    target_fps: float = 2.0
    stride: int | None = None

    def picks(self, info: VideoInfo) -> np.ndarray:
        return sample_picks(info.n_frames, info.fps, self.target_fps, self.stride)

    def describe(self) -> str:
        return f"stride={self.stride}" if self.stride else f"fps={self.target_fps:g}"


@dataclass
class VideoFeatures:
    """Features of one video at its picks (``n_frames`` is the decoded count when it differs)."""

    path: Path
    features: np.ndarray
    picks: np.ndarray
    n_frames: int
    fps: float
    info: VideoInfo
    notes: list[str] = field(default_factory=list)


@dataclass
class VideoFailure:
    """A video of a batch job that could not be read (the others go on)."""

    path: Path
    error: VsumError


def decode_size(info: VideoInfo, shorter_side: int | None) -> tuple[int, int] | None:
    """(width, height) keeping the aspect ratio with the shorter side at ``shorter_side``.

    Only downscales: converting a 1080p frame to RGB costs far more than a 224-pixel one.
    """
    if shorter_side is None or min(info.width, info.height) <= shorter_side:
        return None
    scale = shorter_side / min(info.width, info.height)
    return max(shorter_side, round(info.width * scale)), max(shorter_side, round(info.height * scale))


_END = object()


class _Decoder(threading.Thread):
    """Producer: for each video, ("start", i, info, picks), ("batch", i, n, tensor)..., ("end",
    i, n_decoded, finished) or ("error", i, exc); then _END."""

    def __init__(
        self,
        paths: Sequence[Path],
        encoder: FrameEncoder,
        sampling: Sampling,
        batch_size: int,
        out: queue.Queue,
    ) -> None:
        super().__init__(daemon=True, name="vsumlab-decoder")
        self.paths, self.encoder, self.sampling = paths, encoder, sampling
        self.batch_size, self.out = batch_size, out
        self.stop = threading.Event()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _flush(self, index: int, frames: list[np.ndarray]) -> bool:
        batch = self.encoder.preprocess(np.stack(frames))
        return self._put(("batch", index, len(frames), batch))

    def run(self) -> None:
        try:
            for index, path in enumerate(self.paths):
                if not self._video(index, path):
                    return
        except BaseException as exc:  # a bug must reach the caller, not die with the thread
            self._put(("error", -1, exc))
        finally:
            self._put(_END)

    def _video(self, index: int, path: Path) -> bool:
        try:
            info = probe(path)
            picks = self.sampling.picks(info)
            if not self._put(("start", index, info, picks)):
                return False
            stream = iter_frames(path, picks, decode_size(info, self.encoder.input_size))
            frames: list[np.ndarray] = []
            for _, image in stream:
                frames.append(image)
                if len(frames) == self.batch_size:
                    if not self._flush(index, frames):
                        stream.close()
                        return False
                    frames = []
            if frames and not self._flush(index, frames):
                return False
            return self._put(("end", index, stream.n_decoded, stream.finished))
        except VsumError as exc:
            return self._put(("error", index, exc))


def iter_video_features(
    paths: Sequence[str | os.PathLike],
    encoder: FrameEncoder,
    sampling: Sampling | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> Iterator[VideoFeatures | VideoFailure]:
    """Features of each video in order; unreadable videos come back as :class:`VideoFailure`.

    Memory holds at most ``PREFETCH_BATCHES`` decoded batches plus the current video's features.
    """
    if batch_size < 1:
        raise VsumError(f"batch size {batch_size} must be >= 1")
    paths = [Path(p) for p in paths]
    sampling = sampling or Sampling()
    channel: queue.Queue = queue.Queue(maxsize=PREFETCH_BATCHES)
    decoder = _Decoder(paths, encoder, sampling, batch_size, channel)
    bar = _progress_bar(progress)
    decoder.start()
    try:
        info, picks, chunks = None, None, []
        while True:
            item = channel.get()
            if item is _END:
                return
            kind, index = item[0], item[1]
            if kind == "start":
                info, picks, chunks = item[2], item[3], []
                if bar is not None:
                    bar.total = (bar.total or 0) + len(picks)
                    bar.set_postfix_str(paths[index].name, refresh=False)
            elif kind == "batch":
                chunks.append(encoder.encode(item[3]))
                if bar is not None:
                    bar.update(item[2])
            elif kind == "end":
                assert info is not None and picks is not None
                yield _assemble(paths[index], info, picks, chunks, item[2], item[3], encoder.dim)
            elif kind == "error":
                if not isinstance(item[2], VsumError):
                    raise item[2]
                yield VideoFailure(paths[index], item[2])
    finally:
        decoder.stop.set()
        decoder.join(timeout=5)
        if bar is not None:
            bar.close()


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=0, unit="frame", desc="features", dynamic_ncols=True)


def _assemble(
    path: Path,
    info: VideoInfo,
    picks: np.ndarray,
    chunks: list[torch.Tensor],
    n_decoded: int,
    finished: bool,
    dim: int,
) -> VideoFeatures | VideoFailure:
    features = torch.cat(chunks).numpy() if chunks else np.zeros((0, dim), np.float32)
    n_frames, notes = info.n_frames, []
    if len(features) < len(picks):
        # the header overstated the length: keep what was decoded, with the true frame count
        picks = picks[: len(features)]
        n_frames = n_decoded
        notes.append(f"header says {info.n_frames} frames, {n_decoded} decoded")
    elif finished and n_decoded != info.n_frames:
        n_frames = n_decoded
    if len(features) == 0:
        return VideoFailure(path, VideoError(f"{path}: zero-length video (no frame decoded)"))
    return VideoFeatures(path, features.astype(np.float32), picks, n_frames, info.fps, info, notes)


def extract_video_features(
    path: str | os.PathLike,
    encoder: FrameEncoder,
    sampling: Sampling | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> VideoFeatures:
    """Features of one video; raises :class:`VideoError` when it cannot be read."""
    result = next(iter(iter_video_features([path], encoder, sampling, batch_size, progress)))
    if isinstance(result, VideoFailure):
        raise result.error
    return result


def video_record(key: str, video: VideoFeatures, **kts_kwargs: Any) -> VideoRecord:
    """A standard record (no annotations) with KTS shots on the features."""
    from vsumlab.segmentation.kts import video_shots  # written by the KTS engineer

    cps, nfps = video_shots(video.features, video.picks, video.n_frames, **kts_kwargs)
    return VideoRecord(
        key=key,
        features=video.features,
        picks=np.asarray(video.picks, dtype=np.int64),
        n_frames=int(video.n_frames),
        fps=float(video.fps),
        change_points=np.asarray(cps, dtype=np.int64).reshape(-1, 2),
        n_frame_per_seg=np.asarray(nfps, dtype=np.int64).reshape(-1),
        video_name=video.path.stem,
    )
