"""Caption events on the feature step axis.

Features are one vector per step. Step ``i`` covers ``[t_i, t_{i+1})`` seconds
(``t_T = duration``): ``t_i = picks[i] / fps`` for a standard-schema h5 with picks and fps,
else steps split the duration evenly. An event covers every step it overlaps (at least one);
its box is ``(first / T, (last + 1) / T)`` of the step axis as (center, length).
:func:`select_videos` filters videos by duration and by the share their events cover.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vsumlab.data.captions.format import CaptionVideo


def uniform_step_times(duration: float, n_steps: int) -> np.ndarray:
    return np.arange(n_steps, dtype=np.float64) * (duration / n_steps)


def event_step_range(
    start: float, end: float, duration: float, n_steps: int, step_times: np.ndarray | None = None
) -> tuple[int, int]:
    """Inclusive (first, last) steps an event overlaps; step i covers [t_i, t_{i+1})."""
    times = uniform_step_times(duration, n_steps) if step_times is None else step_times
    start, end = min(max(start, 0.0), duration), min(max(end, 0.0), duration)
    first = int(np.searchsorted(times, start, side="right")) - 1
    last = int(np.searchsorted(times, end, side="left")) - 1
    first = min(max(first, 0), n_steps - 1)
    return first, min(max(last, first), n_steps - 1)


def event_boxes(
    video: CaptionVideo, n_steps: int, step_times: np.ndarray | None = None
) -> np.ndarray:
    """(G, 2) (center, length) of each event on the step axis, in [0, 1]."""
    boxes = np.zeros((len(video.events), 2), dtype=np.float32)
    for g, event in enumerate(video.events):
        first, last = event_step_range(event.start, event.end, video.duration, n_steps, step_times)
        boxes[g] = [(first + last + 1) / (2 * n_steps), (last + 1 - first) / n_steps]
    return boxes


def captioned_mask(boxes: np.ndarray, n_steps: int) -> np.ndarray:
    """(T,) 1 on steps inside any event (from step-axis boxes), else 0."""
    mask = np.zeros(n_steps, dtype=np.float32)
    for center, length in boxes:
        first = int(round((center - length / 2) * n_steps))
        last = int(round((center + length / 2) * n_steps))
        mask[first:last] = 1.0
    return mask




def select_videos(
    videos: Mapping[str, CaptionVideo],
    n: int | None,
    max_duration: float | None = None,
    max_coverage: float | None = None,
) -> dict[str, CaptionVideo]:
    """The first ``n`` videos (file order; None = all) within a duration and coverage limit.

    Coverage = share of the video inside some event; ActivityNet events cover ~99% of a median
    video, so learning "captioned spans score higher" needs videos that leave some uncovered.
    """
    chosen: dict[str, CaptionVideo] = {}
    for vid, video in videos.items():
        if n is not None and len(chosen) >= n:
            break
        if max_duration is not None and video.duration > max_duration:
            continue
        if max_coverage is not None:
            mask = captioned_mask(event_boxes(video, 200), 200)
            if mask.mean() > max_coverage:
                continue
        chosen[vid] = video
    return chosen
