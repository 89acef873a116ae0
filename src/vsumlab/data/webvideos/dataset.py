"""A torch Dataset of category-labelled clips sampled across videos."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from vsumlab.data.video_decode import probe
from vsumlab.data.webvideos.augment import ClipAugment
from vsumlab.data.webvideos.clips import ClipCache, ClipSpec, clip_starts, load_clips
from vsumlab.data.webvideos.sources import VideoEntry
from vsumlab.errors import ConfigError


class WebVideoClips(Dataset):
    """Clips of ``entries``: each item is a dict

    ``clip`` uint8 (3, T, crop, crop), ``label`` (category index), ``video`` (index of the
    video file in :attr:`videos`, for video-level accuracy) and ``start`` (first frame).

    Entries without ``start`` give ``clips_per_video`` evenly spaced clips (every segment
    when ``None``); entries with ``start`` give that one clip. With ``cache`` (a folder or a
    :class:`ClipCache`) a cache miss decodes every clip of that video in one pass and stores
    them, so the first epoch decodes each video once and later epochs only read ``.npy``.
    """

    def __init__(
        self,
        entries: Sequence[VideoEntry],
        categories: Sequence[str],
        spec: ClipSpec,
        augment: ClipAugment,
        clips_per_video: int | None = 8,
        cache: ClipCache | str | os.PathLike | None = None,
    ) -> None:
        self.categories = list(categories)
        self.spec = spec
        self.augment = augment
        self.cache = ClipCache(cache) if isinstance(cache, (str, os.PathLike)) else cache
        augment.check_input(*spec.resize)
        index = {name: i for i, name in enumerate(self.categories)}
        self.videos: list[str] = []
        self.n_frames: list[int] = []
        self.video_labels: list[int] = []
        video_of: dict[str, int] = {}
        # per video: every clip start the dataset uses, so a miss can decode them all at once
        self._starts: list[list[int]] = []
        self.items: list[tuple[int, int, int]] = []  # (video, start, label)
        for entry in entries:
            if entry.category not in index:
                raise ConfigError(
                    f"{entry.path}: category {entry.category!r} is not one of {self.categories}"
                )
            key = str(entry.path)
            if key not in video_of:
                video_of[key] = len(self.videos)
                self.videos.append(key)
                self.n_frames.append(probe(entry.path).n_frames)
                self.video_labels.append(index[entry.category])
                self._starts.append([])
            video = video_of[key]
            if entry.start is None:
                starts = clip_starts(self.n_frames[video], spec, clips_per_video).tolist()
            else:
                starts = [min(int(entry.start), self.n_frames[video] - 1)]
            for start in starts:
                self.items.append((video, int(start), index[entry.category]))
                self._starts[video].append(int(start))
        self._starts = [sorted(set(s)) for s in self._starts]

    def __len__(self) -> int:
        return len(self.items)

    def raw_clip(self, item: int) -> np.ndarray:
        """The decoded clip (T, H, W, 3) uint8 at the resize size, before cropping."""
        video, start, _ = self.items[item]
        path, n_frames = self.videos[video], self.n_frames[video]
        if self.cache is None:
            return load_clips(path, [start], n_frames, self.spec)[0]
        clip = self.cache.get(path, start, self.spec)
        if clip is None:
            starts = self._starts[video]
            clips = load_clips(path, starts, n_frames, self.spec, self.cache)
            clip = clips[starts.index(start)]
        return clip

    def warm_cache(self) -> int:
        """Decode and store every clip not cached yet (one pass per video); returns clips added."""
        if self.cache is None:
            return 0
        added = 0
        for video, starts in enumerate(self._starts):
            path = self.videos[video]
            todo = [s for s in starts if not self.cache.file(path, s, self.spec).exists()]
            if todo:
                load_clips(path, todo, self.n_frames[video], self.spec, self.cache)
                added += len(todo)
        return added

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        video, start, label = self.items[item]
        return {
            "clip": self.augment(self.raw_clip(item)),
            "label": torch.tensor(label, dtype=torch.long),
            "video": torch.tensor(video, dtype=torch.long),
            "start": torch.tensor(start, dtype=torch.long),
        }
