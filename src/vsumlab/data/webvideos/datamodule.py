"""LightningDataModule of category-labelled web videos (DeSumNet's training data).

Defaults follow desumnet.txt: 16-frame clips resized to 128x171, 112x112 crops, mini-batches of
50; evaluation takes 10 clips per video (the paper averages 10 segment predictions per video).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from vsumlab.data.webvideos.augment import ClipAugment
from vsumlab.data.webvideos.clips import ClipCache, ClipSpec
from vsumlab.data.webvideos.dataset import WebVideoClips
from vsumlab.data.webvideos.sources import VideoEntry, category_names, load_sources
from vsumlab.errors import ConfigError

Sources = str | list[str] | None


def _as_list(sources: Sources) -> list[str]:
    if sources is None:
        return []
    return [sources] if isinstance(sources, (str, os.PathLike)) else [str(s) for s in sources]


def hold_out_videos(
    entries: Sequence[VideoEntry], fraction: float, seed: int
) -> tuple[list[VideoEntry], list[VideoEntry]]:
    """Split entries by video file, ``fraction`` of each category's videos held out.

    Whole videos go to one side (clips of one video never straddle train and validation), and
    every category with at least two videos keeps one on each side.
    """
    rng = np.random.default_rng(seed)
    by_category: dict[str, list[str]] = {}
    for entry in entries:
        paths = by_category.setdefault(entry.category, [])
        if str(entry.path) not in paths:
            paths.append(str(entry.path))
    held: set[str] = set()
    for paths in by_category.values():
        n_held = int(round(fraction * len(paths)))
        n_held = min(max(n_held, 1 if len(paths) > 1 else 0), len(paths) - 1)
        held.update(rng.permutation(paths)[:n_held].tolist())
    train = [e for e in entries if str(e.path) not in held]
    val = [e for e in entries if str(e.path) in held]
    return train, val


class WebVideoDataModule(L.LightningDataModule):
    """Clips from folders of videos per category and/or list files.

    ``train`` / ``val`` / ``test``: sources (folders in the UCF101 layout or list files, see
    :mod:`vsumlab.data.webvideos.sources`). Without ``val``, ``val_fraction`` of the training
    videos of each category are held out for validation. ``categories`` fixes the class list
    and order (default: sorted names found in ``train``). ``cache_dir`` stores decoded clips.
    Augmentations (training only): ``flip``, ``scales`` (multi-scale jitter, the paper's
    [128, 112, 96, 84]) and ``corner_crops``.
    """

    def __init__(
        self,
        train: Sources,
        val: Sources = None,
        test: Sources = None,
        categories: list[str] | None = None,
        val_fraction: float = 0.0,
        clip_len: int = 16,
        frame_stride: int = 1,
        resize: tuple[int, int] = (128, 171),
        crop: int = 112,
        clips_per_video: int | None = 8,
        eval_clips_per_video: int | None = 10,
        flip: bool = False,
        scales: list[int] | None = None,
        corner_crops: bool = False,
        cache_dir: str | None = None,
        batch_size: int = 50,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"web videos: val_fraction={val_fraction} must be in [0, 1)")
        if batch_size < 1:
            raise ConfigError(f"web videos: batch_size={batch_size} must be >= 1")
        self.spec = ClipSpec(clip_len=clip_len, frame_stride=frame_stride, resize=tuple(resize))
        self.train_augment = ClipAugment(
            crop=crop, train=True, flip=flip, scales=scales, corner_crops=corner_crops
        )
        self.eval_augment = ClipAugment(crop=crop, train=False)
        self.train_augment.check_input(*self.spec.resize)
        self.cache = ClipCache(cache_dir) if cache_dir else None
        self._entries: dict[str, list[VideoEntry]] | None = None
        self.datasets: dict[str, WebVideoClips] = {}
        self.categories: list[str] = list(categories) if categories else []

    @property
    def num_classes(self) -> int:
        return len(self._split()["categories"])  # type: ignore[arg-type]

    def _split(self) -> dict[str, list]:
        """Entries per stage and the class list (scanned once)."""
        if self._entries is None:
            hp = self.hparams
            train = load_sources(_as_list(hp.train))
            val = load_sources(_as_list(hp.val)) if hp.val else []
            if not val and hp.val_fraction > 0:
                train, val = hold_out_videos(train, hp.val_fraction, hp.seed)
            test = load_sources(_as_list(hp.test)) if hp.test else []
            self.categories = category_names(train, hp.categories)
            for entries in (val, test):
                category_names(entries, self.categories)  # raises on unknown categories
            self._entries = {"train": train, "val": val, "test": test}
        return {**self._entries, "categories": self.categories}

    def dataset(self, stage: str) -> WebVideoClips:
        """The clips of ``stage`` ("train", "val" or "test"), built on first use."""
        if stage not in self.datasets:
            split = self._split()
            entries = split[stage]
            if not entries:
                raise ConfigError(f"web videos: no {stage} videos configured")
            train = stage == "train"
            self.datasets[stage] = WebVideoClips(
                entries,
                self.categories,
                self.spec,
                self.train_augment if train else self.eval_augment,
                clips_per_video=(
                    self.hparams.clips_per_video if train else self.hparams.eval_clips_per_video
                ),
                cache=self.cache,
            )
        return self.datasets[stage]

    def prepare_data(self) -> None:
        # decode every clip once up front (rank 0 only), so workers and epochs only read .npy
        if self.cache is not None:
            for stage in ("train", "val", "test"):
                if self._split()[stage]:
                    self.dataset(stage).warm_cache()

    def setup(self, stage: str | None = None) -> None:
        self._split()

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(stage),
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self._split()["val"] else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
