"""Synthetic category videos with a planted event: DeSumNet's learnable test-bed.

Every video shows a shared kind of background (a drifting grey texture with noise, its phase
random per video) and, during one known frame range, its category's event: a saturated square
of the category's colour moving in the category's direction. Only the event tells categories
apart, so a classifier trained on clips must learn the events, and a good importance map must
peak on them. ``distractor=True`` adds another category's event elsewhere in the video (the
irrelevant content of noisy web videos that progressive adaptation should discard).

:func:`write_event_dataset` writes the matching standard h5 (TVSum style: 1..5 per-user scores
high on the event), so ``vsumlab eval`` scores importance predictions on these videos.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsumlab.data.schema import VideoRecord, write_dataset

#: saturated, mutually distinct event colours (RGB); background is grey, so none is confusable
EVENT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 30, 30),
    (30, 200, 40),
    (40, 70, 240),
    (240, 220, 20),
    (220, 40, 220),
    (20, 210, 220),
    (250, 130, 10),
    (140, 60, 20),
    (120, 240, 160),
    (20, 20, 120),
)


@dataclass(frozen=True)
class SyntheticVideo:
    """A written video and what was planted in it (frame ranges are inclusive)."""

    path: Path
    category: str
    n_frames: int
    fps: float
    event: tuple[int, int]
    distractor: tuple[int, int] | None = None
    layout: np.ndarray = field(default_factory=lambda: np.zeros((0, 12)), compare=False, repr=False)


def category_name(index: int) -> str:
    return f"cat{index}"


def render_frames(
    n_frames: int,
    size: tuple[int, int],
    events: Sequence[tuple[int, int, int]],
    n_categories: int,
    rng: np.random.Generator,
    texture: float = 25.0,
    noise: float = 6.0,
    strength: float = 1.0,
    background: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Frames uint8 (n_frames, H, W, 3); ``events`` are (category, first, last) frame ranges.

    ``texture`` and ``noise`` are the background's pattern amplitude and pixel noise (grey
    levels); ``background`` = (phase, drift, grey level) of the pattern (drawn from ``rng``
    when None). ``strength`` blends the event square over the background (1: opaque colour,
    lower: a fainter tint).
    """
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if background is None:
        background = (*rng.uniform(0, 2 * np.pi, size=2), rng.uniform(90, 150))
    phase, drift, base = background
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    side = max(4, height // 2)
    for t in range(n_frames):
        pattern = texture * np.sin(xs / 5.0 + phase + 0.05 * t) * np.cos(ys / 7.0 + drift)
        grey = base + pattern + rng.normal(0, noise, size=(height, width))
        image = np.repeat(grey[..., None], 3, axis=2)
        for category, first, last in events:
            if not first <= t <= last:
                continue
            # the square crosses the frame in the category's own direction during the event
            progress = (t - first) / max(last - first, 1)
            angle = 2 * math.pi * category / max(n_categories, 1)
            cy = height / 2 + math.sin(angle) * (progress - 0.5) * (height - side) * 0.8
            cx = width / 2 + math.cos(angle) * (progress - 0.5) * (width - side) * 0.8
            top, left = int(round(cy - side / 2)), int(round(cx - side / 2))
            colour = np.asarray(EVENT_COLOURS[category % len(EVENT_COLOURS)], dtype=np.float32)
            region = image[max(top, 0) : top + side, max(left, 0) : left + side]
            region[...] = (1 - strength) * region + strength * colour
        frames[t] = np.clip(image, 0, 255).astype(np.uint8)
    return frames


def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: float) -> Path:
    """Encode RGB frames (N, H, W, 3), even H and W, as an H.264 mp4 (near-lossless, crf 12)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=int(round(fps)))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "12"}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _layout_features(frames: np.ndarray) -> np.ndarray:
    """Mean colour of each 2x2 grid cell per frame (N, 12): a cheap stand-in feature."""
    n, h, w, _ = frames.shape
    cells = frames[:, : h // 2 * 2, : w // 2 * 2].reshape(n, 2, h // 2, 2, w // 2, 3)
    return cells.mean(axis=(2, 4)).reshape(n, 12).astype(np.float32) / 255.0


def make_category_videos(
    out_dir: str | os.PathLike,
    n_categories: int = 3,
    videos_per_category: int = 4,
    n_frames: int = 64,
    event_len: int = 16,
    size: tuple[int, int] = (64, 48),
    fps: float = 8.0,
    seed: int = 0,
    distractor: bool = False,
    category_offset: int = 0,
    align: int = 1,
    texture: float = 25.0,
    noise: float = 6.0,
    strength: float = 1.0,
    shared_background: bool = True,
    background_seed: int = 0,
) -> list[SyntheticVideo]:
    """Write ``out_dir/<category>/<category>_<i>.mp4`` (the UCF101 layout) and describe them.

    ``size`` is (width, height). Event starts are random, multiples of ``align``.
    ``category_offset`` shifts category indices (a disjoint "action" set for pretraining).
    ``shared_background``: every video (of every call with the same ``background_seed``, so
    training and test sets alike) shows the same background pattern, only the pixel noise
    differs, so a clip without the event carries no information about the video; otherwise
    each video's pattern differs and a classifier can memorise training videos by their
    background instead of learning the events.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    drawn = np.random.default_rng(background_seed)
    shared = (*drawn.uniform(0, 2 * np.pi, size=2), drawn.uniform(90, 150))
    span = event_len * (2 if distractor else 1)
    if n_frames < span:
        raise ValueError(f"n_frames={n_frames} too short for the event(s) of {event_len} frames")
    total = n_categories + category_offset
    videos = []
    for c in range(category_offset, total):
        for i in range(videos_per_category):
            slots = np.arange(0, n_frames - event_len + 1, align)
            first = int(rng.choice(slots))
            event = (first, first + event_len - 1)
            events = [(c, *event)]
            other = None
            if distractor:  # another category's event where it does not overlap this one
                free = [s for s in slots if s + event_len <= first or s > event[1]]
                if free:
                    start = int(rng.choice(free))
                    other = (start, start + event_len - 1)
                    wrong = int(rng.choice([k for k in range(total) if k != c] or [c]))
                    events.append((wrong, *other))
            frames = render_frames(
                n_frames, size, events, total, rng, texture, noise, strength,
                shared if shared_background else None,
            )
            name = category_name(c)
            path = write_mp4(out_dir / name / f"{name}_{i:02d}.mp4", frames, fps)
            videos.append(
                SyntheticVideo(path, name, n_frames, fps, event, other, _layout_features(frames))
            )
    return videos


def write_event_dataset(
    videos: Sequence[SyntheticVideo],
    out_path: str | os.PathLike,
    n_users: int = 5,
    step: int = 4,
    shot_len: int = 8,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """A TVSum-style standard h5 of the videos: annotators rate event frames 4-5, others 1-2.

    Steps every ``step`` frames, shots every ``shot_len`` frames (a fixed grid: cutting at the
    event boundaries would leave short shots beside every event, which the knapsack favours,
    so even uniform scores would find the events),
    features = 2x2 mean colours (``synthetic_features``); ``planted`` marks event steps.
    """
    rng = np.random.default_rng(seed)
    records = []
    for number, video in enumerate(videos, start=1):
        n = video.n_frames
        on = np.zeros(n, dtype=bool)
        on[video.event[0] : video.event[1] + 1] = True
        anno = np.where(on, rng.integers(4, 6, (n_users, n)), rng.integers(1, 3, (n_users, n)))
        picks = np.arange(0, n, step, dtype=np.int64)
        starts = np.arange(0, n, shot_len, dtype=np.int64)
        ends = np.concatenate([starts[1:] - 1, [n - 1]])
        gtscore = anno.mean(axis=0)[picks].astype(np.float32)
        records.append(
            VideoRecord(
                key=f"video_{number}",
                features=video.layout[picks] if len(video.layout) else np.zeros((len(picks), 12)),
                picks=picks,
                n_frames=n,
                fps=float(video.fps),
                change_points=np.stack([starts, ends], axis=1),
                n_frame_per_seg=ends - starts + 1,
                gtscore=(gtscore - gtscore.min()) / max(np.ptp(gtscore), 1e-9),
                user_anno=anno.astype(np.float32),
                user_summary=np.repeat(on[None].astype(np.float32), n_users, axis=0),
                video_name=video.path.stem,
                category=video.category,
                extra={"planted": on[picks].astype(np.float32)},
            )
        )
    attrs = {"dataset_name": "synthetic_web", "annotation_style": "tvsum", "synthetic_features": 1}
    return write_dataset(out_path, records, attrs=attrs, force=force)


def make_demo_videos(
    out_dir: str | os.PathLike,
    n_categories: int = 3,
    videos_per_category: int = 10,
    n_frames: int = 64,
    seed: int = 0,
    force: bool = False,
    size: tuple[int, int] = (64, 48),
    fps: float = 8.0,
) -> dict[str, Path]:
    """The demo world of the DeSumNet make targets, under ``out_dir``:

    - ``pretrain/``: an "action recognition" set of other categories (cross-dataset
      pretraining, the UCF101 role), 32-frame videos;
    - ``target/``: the summarization set (the TVSum role) with ``target_train.txt`` /
      ``target_test.txt`` (80/20 of each category's videos) and ``target_test.h5``, the test
      videos' standard h5 with annotations high on the planted events;
    - ``web/``: longer, noisy web videos of the target categories, each also showing another
      category's event (what refinement must discard).
    """
    from vsumlab.data.webvideos.sources import VideoEntry, write_list_file
    from vsumlab.io import check_writable

    out_dir = Path(out_dir)
    h5_path = check_writable(out_dir / "target_test.h5", force)
    # events start on 16-frame segment boundaries, so segments are all event or all background
    make_category_videos(
        out_dir / "pretrain", n_categories + 1, videos_per_category, 32, size=size, fps=fps,
        seed=seed + 1, category_offset=n_categories, align=16,
    )
    target = make_category_videos(
        out_dir / "target", n_categories, videos_per_category, n_frames, size=size, fps=fps,
        seed=seed + 2, align=16,
    )
    make_category_videos(
        out_dir / "web", n_categories, videos_per_category, 2 * n_frames, size=size, fps=fps,
        seed=seed + 3, distractor=True, align=16,
    )
    n_test = max(1, int(round(0.2 * videos_per_category)))
    test = [v for v in target if int(v.path.stem.rsplit("_", 1)[1]) < n_test]
    train = [v for v in target if v not in test]
    for name, videos in (("target_train.txt", train), ("target_test.txt", test)):
        entries = [VideoEntry(v.path, v.category) for v in videos]
        write_list_file(out_dir / name, entries, force=True)
    write_event_dataset(test, h5_path, seed=seed, force=True)
    return {
        "pretrain": out_dir / "pretrain",
        "target": out_dir / "target",
        "target_train": out_dir / "target_train.txt",
        "target_test": out_dir / "target_test.txt",
        "target_test_h5": h5_path,
        "web": out_dir / "web",
    }
