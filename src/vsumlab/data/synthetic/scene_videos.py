"""Small synthetic videos with known structure (coloured scenes of known lengths, optional audio).

Used by tests and benchmarks, and handy to try ``vsumlab summarize`` without any data: the
scene cuts are known, so shots found by KTS can be checked against them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

#: distinct, saturated scene colours (RGB)
PALETTE: tuple[tuple[int, int, int], ...] = (
    (220, 40, 40),
    (40, 180, 60),
    (40, 80, 220),
    (230, 200, 40),
    (180, 60, 200),
    (40, 200, 200),
    (240, 140, 40),
    (120, 120, 120),
)


def scene_starts(scene_lengths: Sequence[int]) -> np.ndarray:
    """First frame of every scene after the first (the planted cuts)."""
    return np.cumsum(np.asarray(scene_lengths, dtype=np.int64))[:-1]


def scene_colour(frame: int, scene_lengths: Sequence[int]) -> tuple[int, int, int]:
    """Base colour of ``frame`` in a video written with the default palette."""
    scene = int(np.searchsorted(np.cumsum(scene_lengths), frame, side="right"))
    if scene >= len(scene_lengths):
        raise IndexError(f"frame {frame} is beyond the {sum(scene_lengths)} frames")
    return PALETTE[scene % len(PALETTE)]


def write_scene_video(
    path: str | os.PathLike,
    scene_lengths: Sequence[int],
    fps: int = 30,
    size: tuple[int, int] = (64, 48),
    audio: bool = False,
    sample_rate: int = 16000,
    colours: Sequence[tuple[int, int, int]] | None = None,
    seed: int = 0,
) -> Path:
    """Write an H.264 mp4 of solid-colour scenes (with a little moving texture and noise).

    ``size`` is ``(width, height)``, even numbers (yuv420p). With ``audio`` an AAC mono track
    plays a tone whose pitch changes at every scene cut, exactly as long as the video.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    colours = list(colours or PALETTE)
    rng = np.random.default_rng(seed)
    n_total = int(sum(scene_lengths))
    with av.open(str(path), "w", format="mp4") as container:
        vstream = container.add_stream("libx264", rate=fps)
        vstream.width, vstream.height, vstream.pix_fmt = width, height, "yuv420p"
        vstream.options = {"preset": "ultrafast", "crf": "18"}
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
        xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
        # a few noise images, cycled: fresh noise per frame costs more than encoding it
        noises = rng.normal(0.0, 4.0, size=(7, height, width, 3)).astype(np.float32)
        index = 0
        for scene, length in enumerate(scene_lengths):
            base = np.asarray(colours[scene % len(colours)], dtype=np.float32)
            for offset in range(int(length)):
                # a slowly moving bright stripe gives frames some within-scene variation
                stripe = 30.0 * np.cos(2 * np.pi * (xs - offset / max(length, 1)))
                image = np.clip(base + stripe + noises[index % 7], 0, 255).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                index += 1
                for packet in vstream.encode(frame):
                    container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None:
            _write_tones(container, astream, scene_lengths, fps, sample_rate, n_total)
    return path


def _write_tones(container, astream, scene_lengths, fps, sample_rate, n_total) -> None:
    import av

    samples_per_frame = Fraction(sample_rate, fps)
    bounds = [int(round(samples_per_frame * n)) for n in np.cumsum([0, *scene_lengths])]
    signal = np.zeros(int(round(samples_per_frame * n_total)), dtype=np.float32)
    for scene in range(len(scene_lengths)):
        start, end = bounds[scene], bounds[scene + 1]
        t = np.arange(end - start, dtype=np.float32) / sample_rate
        signal[start:end] = 0.3 * np.sin(2 * np.pi * (220.0 + 110.0 * scene) * t)
    chunk = 1024
    for start in range(0, len(signal), chunk):
        piece = signal[start : start + chunk]
        frame = av.AudioFrame.from_ndarray(piece[None, :], format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        for packet in astream.encode(frame):
            container.mux(packet)
    for packet in astream.encode():
        container.mux(packet)
