"""Unlabeled videos from standard h5 files: ViSP's pretraining data.

:class:`ViSPPretrainDataModule` concatenates any standard h5 files and ignores their labels;
``planted`` passes through for monitoring on synthetic sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.schema import Dataset, VideoRecord, read_dataset
from vsumlab.data.standard_h5 import VideoFeatureDataset, pad_videos
from vsumlab.errors import ConfigError


class UnlabeledVideos(VideoFeatureDataset):
    """Features only (gtscore zeros: labels are ignored); ``planted`` passes through for
    monitoring on synthetic sets, never for training."""

    def gtscore(self, record: VideoRecord) -> torch.Tensor:
        return torch.zeros(record.n_steps)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = super().__getitem__(index)
        record = self.items[index][1]
        if "planted" in record.extra:
            item["planted"] = torch.from_numpy(np.asarray(record.extra["planted"], np.float32))
        return item


def collate_unlabeled(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The harness's padded batch, plus a padded ``planted`` (B, T) when every item has one."""
    planted = all("planted" in item for item in items)
    return pad_videos(items, ("gtscore", "planted") if planted else ("gtscore",))


class ViSPPretrainDataModule(L.LightningDataModule):
    """Unlabeled pretraining videos: any standard h5 files, concatenated.

    Args:
        datasets: h5 paths (SumMe, TVSum, OVP, YouTube, synthetic sets, ...); keys become
            ``<dataset name>/<key>`` when there are several.
        fraction: share of all videos used (the data-scale study: 0.5x, 1x), drawn with ``seed``.
        val_fraction: videos held out to monitor the contrastive loss (0: none).
        batch_size: videos per InfoNCE batch (the paper recommends >= 8); the last incomplete
            training batch is dropped so every step has the same number of negatives.
    """

    def __init__(
        self,
        datasets: list[str],
        batch_size: int = 16,
        fraction: float = 1.0,
        val_fraction: float = 0.0,
        seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(datasets, str):
            datasets = [datasets]
        if not datasets:
            raise ConfigError("data.datasets: give at least one h5 file of pretraining videos")
        if batch_size < 2:
            raise ConfigError(
                f"data.batch_size={batch_size}: InfoNCE needs other videos in the batch as "
                "negatives (at least 2; the paper recommends >= 8)"
            )
        if not 0.0 < fraction <= 1.0:
            raise ConfigError(f"data.fraction={fraction} must be in (0, 1]")
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={val_fraction} must be in [0, 1)")
        self.save_hyperparameters()
        self.paths = list(datasets)
        self.batch_size = batch_size
        self.fraction = fraction
        self.val_fraction = val_fraction
        self.seed = seed
        self.num_workers = num_workers
        self._records: dict[str, dict[str, VideoRecord]] | None = None

    def _read(self) -> dict[str, Dataset]:
        datasets: dict[str, Dataset] = {}
        for path in self.paths:
            data = read_dataset(path)
            if data.name in datasets:
                raise ConfigError(
                    f"{path}: dataset name '{data.name}' is used by two files; "
                    "each dataset needs its own dataset_name"
                )
            datasets[data.name] = data
        dims = {
            str(data.path): data[data.keys[0]].feature_dim for data in datasets.values()
        }
        if len(set(dims.values())) > 1:
            raise ConfigError(f"pretraining datasets have different feature dimensions: {dims}")
        return datasets

    @property
    def records(self) -> dict[str, dict[str, VideoRecord]]:
        """Records by stage (``train``, ``val``), fixed for a seed."""
        if self._records is None:
            datasets = self._read()
            qualify = len(datasets) > 1
            pool = [
                (f"{name}/{key}" if qualify else key, data[key])
                for name, data in datasets.items()
                for key in data.keys
            ]
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(len(pool))
            pool = [pool[i] for i in order[: max(2, int(round(self.fraction * len(pool))))]]
            n_val = int(round(self.val_fraction * len(pool)))
            self._records = {"val": dict(pool[:n_val]), "train": dict(pool[n_val:])}
        return self._records

    @property
    def feature_dim(self) -> int:
        return next(iter(self.records["train"].values())).feature_dim

    def _videos(self, items: Sequence[tuple[str, VideoRecord]]) -> TorchDataset:
        """The per-video items of a stage (subclasses add targets, e.g. pseudo-summaries)."""
        return UnlabeledVideos(items)

    # a plain function, not a bound method: workers need not pickle the datamodule
    collate = staticmethod(collate_unlabeled)

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        items = list(self.records[stage].items())
        return DataLoader(
            self._videos(items),
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(items) > self.batch_size,
            num_workers=self.num_workers,
            collate_fn=self.collate,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if len(self.records["train"]) < 2:
            raise ConfigError("ViSP pretraining needs at least 2 training videos")
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if len(self.records["val"]) >= 2 else []
