"""Pretraining videos with fixed pseudo-summaries: the data of ViSP's "(+) FSA" ablation
(:class:`vsumlab.models.visp_fsa.FSAPretrainModule`).

:func:`pseudo_summary` is the protocol's keyshot selection (Eq. (13) of visp.txt: the knapsack
over KTS shots scored by their mean gtscore, a 15% budget) read back at the sampled steps.
:class:`FSAPretrainDataModule` gives the videos of
:class:`~vsumlab.data.unlabeled_videos.ViSPPretrainDataModule` with their pseudo-summaries (the
source dataset's labels are read, unlike ViSP's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.schema import VideoRecord
from vsumlab.data.standard_h5 import pad_videos
from vsumlab.data.unlabeled_videos import ViSPPretrainDataModule
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.protocol.keyshots import keyshot_summary
from vsumlab.protocol.options import DEFAULT_BUDGET, Protocol


def pseudo_summary(record: VideoRecord, protocol: Protocol | None = None) -> np.ndarray:
    """0/1 per step: the step's frame lies in a shot that Eq. (13) selects from ``gtscore``
    (knapsack over shots, budget ``protocol.budget`` = 15% of the video by default)."""
    if record.gtscore is None:
        raise DatasetError(
            f"video '{record.key}': FSA pseudo-summaries need field 'gtscore' ({record.n_steps} "
            "step scores); this file has none"
        )
    frames = keyshot_summary(
        np.asarray(record.gtscore, dtype=np.float64),
        record.change_points,
        int(record.n_frames),
        record.picks,
        protocol or Protocol(),
    )
    picks = np.clip(np.asarray(record.picks, dtype=np.int64), 0, int(record.n_frames) - 1)
    return frames[picks].astype(np.float32)


class PseudoSummaryVideos(TorchDataset):
    """Features and the fixed pseudo-summary of each video (computed once, at construction)."""

    def __init__(self, records: Sequence[tuple[str, VideoRecord]], protocol: Protocol):
        self.items = [
            (key, record, torch.from_numpy(pseudo_summary(record, protocol)))
            for key, record in records
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, record, pseudo = self.items[index]
        return {
            "key": key,
            "features": torch.from_numpy(np.asarray(record.features, dtype=np.float32)),
            "pseudo": pseudo,
            "gtscore": torch.zeros(record.n_steps),  # the harness's field; never a target here
        }


def collate_pseudo(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return pad_videos(items, ("gtscore", "pseudo"))


class FSAPretrainDataModule(ViSPPretrainDataModule):
    """The pretraining videos of :class:`ViSPPretrainDataModule` with their pseudo-summaries
    (the source dataset's labels are read, unlike ViSP's). ``budget``: the share of Eq. (13)."""

    def __init__(
        self,
        datasets: list[str],
        batch_size: int = 16,
        fraction: float = 1.0,
        val_fraction: float = 0.0,
        seed: int = 0,
        num_workers: int = 0,
        budget: float = DEFAULT_BUDGET,
    ) -> None:
        super().__init__(datasets, batch_size, fraction, val_fraction, seed, num_workers)
        self.protocol = Protocol(budget=budget)

    def _videos(self, items: Sequence[tuple[str, VideoRecord]]) -> TorchDataset:
        return PseudoSummaryVideos(items, self.protocol)

    collate = staticmethod(collate_pseudo)

    def train_dataloader(self) -> DataLoader:
        if not self.records["train"]:
            raise ConfigError("FSA pretraining needs at least 1 training video")
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.records["val"] else []
