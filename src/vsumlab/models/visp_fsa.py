"""ViSP's "(+) FSA" ablation (visp.txt, Table 3 and section 4.3): pretraining on *fixed*
pseudo-summaries instead of sampled ones, then the same fine-tuning.

The paper builds the pseudo-summaries from another dataset's ground truth ("the top 15% of the
TVSum video ... based on Eq. (13)", pretrain on TVSum, fine-tune on SumMe, and the reverse):
Eq. (13) is the protocol's keyshot selection, the 0/1 knapsack over KTS shots scored by their
mean gtscore with a length budget of 15%. :func:`pseudo_summary` is exactly that selection
(:func:`vsumlab.evaluation.keyshots.keyshot_summary` on ``gtscore``) read back at the sampled
steps. The summarizer is trained on it with a binary classification loss
(:func:`pseudo_summary_bce`: binary cross-entropy of the logits, mean over valid steps).
Checkpoints carry ``summarizer_state_dict`` as ViSP's do, so fine-tuning is the supervised
harness with ``model.pretrained: PATH``; ``reset_head`` is the same option as ViSP's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.datamodules import pad_videos
from vsumlab.data.schema import VideoRecord
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.evaluation.keyshots import keyshot_summary
from vsumlab.evaluation.protocol import Protocol
from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp import PretrainedSummarizerExport, ViSPPretrainDataModule


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


def pseudo_summary_bce(logits: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Binary cross-entropy of the logits against the 0/1 pseudo-summary, mean over valid steps."""
    weights = mask.to(torch.float32)
    per_step = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return (per_step * weights).sum() / weights.sum().clamp_min(1.0)


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
        budget: float = 0.15,
    ) -> None:
        super().__init__(datasets, batch_size, fraction, val_fraction, seed, num_workers)
        self.protocol = Protocol(budget=budget)

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        items = list(self.records[stage].items())
        return DataLoader(
            PseudoSummaryVideos(items, self.protocol),
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(items) > self.batch_size,
            num_workers=self.num_workers,
            collate_fn=collate_pseudo,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if not self.records["train"]:
            raise ConfigError("FSA pretraining needs at least 1 training video")
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.records["val"] else []


class FSAPretrainModule(PretrainedSummarizerExport, SummarizerModule):
    """Pretraining of any registry summarizer on fixed pseudo-summaries (BCE), Table 3 "(+) FSA".

    Args (besides :class:`SummarizerModule`'s): ``reset_head`` as in
    :class:`vsumlab.models.visp.ViSPPretrainModule` (exported head freshly initialised).
    """

    def __init__(
        self,
        summarizer: str = "csta",
        summarizer_args: dict[str, Any] | None = None,
        input_dim: int = 1024,
        lr: float = 1e-3,
        weight_decay: float = 1e-7,
        protocol: dict[str, Any] | None = None,
        pretrained: str | None = None,
        reset_head: bool = True,
    ) -> None:
        super().__init__(
            summarizer=summarizer,
            summarizer_args=summarizer_args,
            input_dim=input_dim,
            lr=lr,
            weight_decay=weight_decay,
            protocol=protocol,
            pretrained=pretrained,
        )

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        logits = self.summarizer(batch["features"], batch["mask"])
        loss = pseudo_summary_bce(logits, batch["pseudo"], batch["mask"])
        with torch.no_grad():
            weights = batch["mask"].to(torch.float32)
            hits = ((logits > 0).float() == batch["pseudo"]).float() * weights
            accuracy = hits.sum() / weights.sum().clamp_min(1.0)
        return loss, {"bce": loss.detach(), "accuracy": accuracy}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss, logs = self.training_loss(batch)
        size = len(batch["keys"])
        self.log("val/loss", loss, batch_size=size, sync_dist=True)
        self.log("val/accuracy", logs["accuracy"], batch_size=size, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        """No summarization metrics here: the validation videos are the source dataset's."""

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if isinstance(datamodule, ViSPPretrainDataModule) and datamodule.feature_dim != self.input_dim:
            raise ConfigError(
                f"feature dimension mismatch: the pretraining data ({', '.join(datamodule.paths)})"
                f" has {datamodule.feature_dim}-d features but model.input_dim is {self.input_dim}"
            )
        super().setup(stage)
