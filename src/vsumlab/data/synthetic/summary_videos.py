"""Generated videos with annotated important events: the offline "your own video" demo set.

Each video is a sequence of 2-5 s scenes, each a drifting grey texture of its own grey level
and phase (the cuts are what KTS finds); in about a third of the scenes an event happens: a
saturated square of one of :data:`EVENT_COLOURS` crosses the frame (drawn by
:func:`vsumlab.data.synthetic.event_videos.render_frames`). Simulated TVSum-style annotators
score every frame 1..5, one score per user and scene: 4-5 for event scenes, 1-2 for the others.

The videos are real mp4 files and the annotations cover their frames, so any frame encoder
(``colorhist`` needs no weights) turns them into a standard h5 with
:func:`vsumlab.video.h5build.build_feature_file`, exactly as raw SumMe/TVSum videos are.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vsumlab.data.schema import Dataset, VideoRecord
from vsumlab.data.synthetic.event_videos import EVENT_COLOURS, render_frames, write_mp4
from vsumlab.data.synthetic.standin_features import standin_features

#: what the h5 built from these videos is called (``dataset_name``)
DATASET_NAME = "generated_videos"


def _scenes(
    rng: np.random.Generator, n_frames: int, fps: float, seconds: tuple[float, float]
) -> list[tuple[int, int]]:
    """Consecutive (first, last) frame ranges of ``seconds`` each (the last one takes the rest)."""
    scenes, start = [], 0
    while start < n_frames:
        length = int(round(rng.uniform(*seconds) * fps))
        end = min(n_frames, start + length)
        if n_frames - end < seconds[0] * fps:  # no scene shorter than the shortest allowed
            end = n_frames
        scenes.append((start, end - 1))
        start = end
    return scenes


def _backgrounds(rng: np.random.Generator, n: int) -> list[tuple[float, float, float]]:
    """(phase, drift, grey level) per scene; consecutive grey levels at least 40 apart, so every
    cut changes the colour histogram (what KTS finds)."""
    greys = [float(rng.uniform(60, 190))]
    while len(greys) < n:
        grey = float(rng.uniform(60, 190))
        if abs(grey - greys[-1]) >= 40:
            greys.append(grey)
    return [(*rng.uniform(0, 2 * np.pi, size=2), grey) for grey in greys]


def _annotators(
    rng: np.random.Generator, scenes: list[tuple[int, int]], important: list[bool],
    n_users: int,
) -> np.ndarray:
    """(n_users, n_frames) 1..5 scores, one per user and scene: 4-5 for scenes with an event,
    1-2 for the others."""
    scores = np.empty((n_users, scenes[-1][1] + 1), dtype=np.float32)
    for (first, last), event in zip(scenes, important):
        low, high = (4, 6) if event else (1, 3)
        scores[:, first:last + 1] = rng.integers(low, high, size=(n_users, 1))
    return scores


def make_summary_videos(
    out_dir: str | os.PathLike,
    n_videos: int = 30,
    seed: int = 0,
    fps: float = 8.0,
    seconds: tuple[float, float] = (20.0, 40.0),
    size: tuple[int, int] = (128, 96),
    scene_seconds: tuple[float, float] = (2.0, 5.0),
    event_share: float = 0.3,
    n_users: int = 10,
) -> Dataset:
    """Write ``out_dir/video_<i>.mp4`` and return their annotations (TVSum style, keys
    ``video_<i>``, ``video_name`` = the file name; stand-in features, as an import without
    features has). ``size`` is (width, height), even numbers. A video is a sequence of scenes of
    ``scene_seconds`` (each its own grey level and texture phase); about ``event_share`` of them
    (at least one per video) show an event, a saturated square crossing the frame."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    records = {}
    for number in range(1, n_videos + 1):
        n_frames = int(round(rng.uniform(*seconds) * fps))
        scenes = _scenes(rng, n_frames, fps, scene_seconds)
        important = list(rng.random(len(scenes)) < event_share)
        if not any(important):
            important[int(rng.integers(len(scenes)))] = True
        frames = np.concatenate([
            render_frames(last - first + 1, size,
                          [(int(rng.integers(len(EVENT_COLOURS))), 0, last - first)] if event
                          else [], len(EVENT_COLOURS), rng, noise=1.0, background=background)
            for (first, last), event, background in zip(scenes, important,
                                                        _backgrounds(rng, len(scenes)))
        ])
        name = f"video_{number}"
        write_mp4(out_dir / f"{name}.mp4", frames, fps)
        steps = int(np.ceil(n_frames / fps * 2))
        records[name] = VideoRecord(
            key=name,
            features=standin_features(steps, rng, dim=8),
            n_frames=n_frames,
            fps=float(fps),
            user_anno=_annotators(rng, scenes, important, n_users),
            video_name=name,
        )
    attrs = {"dataset_name": DATASET_NAME, "annotation_style": "tvsum"}
    return Dataset(records=records, attrs=attrs)
