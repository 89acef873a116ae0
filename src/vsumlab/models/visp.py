"""ViSP pretraining (visp.txt): a summarizer learns which frames make a summary informative by
maximising a contrastive lower bound of I(X_s; X_o), on unlabeled videos.

:class:`ViSPPretrainModule` wraps any summarizer of the registry (CSTA by default). Per batch:
the summarizer gives logits alpha; a summary y is sampled (:class:`SummarySampler`); the video
encoder E (same architecture, CLS output) embeds the summary X_s and every original video X_o;
InfoNCE over the batch (optionally with random summaries as hard negatives) plus
``beta_binary * R_binary + beta_size * R_size`` is minimised (eq. 10). Checkpoints carry
``summarizer_state_dict`` (written by :class:`SummarizerModule`), so fine-tuning is the
supervised harness with ``model.pretrained: PATH``; the encoder is discarded.

:class:`ViSPPretrainDataModule` concatenates any standard h5 files and ignores their labels.

Synthetic data: ViSP finds informative frames as the ones that tell a video apart from the others
of the batch. The default synthetic sets plant importance along a direction shared by every video,
so there planted frames are not distinctive and pretraining does not find them; the sets made with
``background="generic"`` (:mod:`vsumlab.data.synthetic`) show generic scenes outside the planted
segments, the premise holds, and :func:`planted_lift` measures what pretraining discovered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.datamodules import pad_videos
from vsumlab.data.schema import Dataset, VideoRecord, read_dataset
from vsumlab.errors import ConfigError
from vsumlab.models.components.registry import SummarizerSpec, build_summarizer
from vsumlab.models.components.visp import (
    SummarySampler,
    VideoEncoder,
    partner_videos,
    random_summary,
)
from vsumlab.models.losses.contrastive import (
    binary_penalty,
    info_nce,
    similarity_logits,
    size_penalty,
)
from vsumlab.models.summarizer import SummarizerModule


class UnlabeledVideos(TorchDataset):
    """Features only (gtscore zeros: labels are ignored); ``planted`` passes through for
    monitoring on synthetic sets, never for training."""

    def __init__(self, records: Sequence[tuple[str, VideoRecord]]):
        self.items = list(records)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, record = self.items[index]
        item: dict[str, Any] = {
            "key": key,
            "features": torch.from_numpy(np.asarray(record.features, dtype=np.float32)),
            "gtscore": torch.zeros(record.n_steps),
        }
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

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        items = list(self.records[stage].items())
        return DataLoader(
            UnlabeledVideos(items),
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(items) > self.batch_size,
            num_workers=self.num_workers,
            collate_fn=collate_unlabeled,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if len(self.records["train"]) < 2:
            raise ConfigError("ViSP pretraining needs at least 2 training videos")
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if len(self.records["val"]) >= 2 else []


def planted_lift(logits: Tensor, planted: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """(expected planted share of a sampled summary, planted share of the video) per video.

    A summary drawn with keep probabilities sigmoid(alpha) contains planted steps in the
    proportion sum(p * planted) / sum(p); a random summary of any length keeps them in the
    video's planted share. The difference is what pretraining discovered.
    """
    weights = mask.to(torch.float32)
    probs = torch.sigmoid(logits.float()) * weights
    kept = (probs * planted).sum(1) / probs.sum(1).clamp_min(1e-8)
    share = (planted * weights).sum(1) / weights.sum(1).clamp_min(1.0)
    return kept, share


class PretrainedSummarizerExport:
    """Checkpoints of a pretraining stage: ``summarizer_state_dict`` (what fine-tuning loads,
    scoring head freshly initialised when ``hparams.reset_head``) and ``summarizer_config``."""

    def export_summarizer_state(self) -> dict[str, Tensor]:
        """The summarizer weights fine-tuning starts from (head reset if ``reset_head``)."""
        state = {k: v.detach().cpu().clone() for k, v in self.summarizer.state_dict().items()}
        if not self.hparams.get("reset_head", True):
            return state
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # a fixed fresh head: exports are reproducible
            fresh = build_summarizer(
                self.hparams.summarizer, self.input_dim, **(self.hparams.summarizer_args or {})
            )
        for key, value in fresh.state_dict().items():
            if key.startswith("head."):
                state[key] = value
        return state

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["summarizer_state_dict"] = self.export_summarizer_state()
        # What a fine-tuning recipe must match to load summarizer_state_dict.
        checkpoint["summarizer_config"] = {
            "summarizer": self.hparams.summarizer,
            "summarizer_args": dict(self.hparams.summarizer_args or {}),
            "input_dim": self.input_dim,
        }


class ViSPPretrainModule(PretrainedSummarizerExport, SummarizerModule):
    """ViSP pretraining of any registry summarizer (visp.txt eqs. 3, 6, 9, 10).

    Args (besides :class:`SummarizerModule`'s):
        encoder_args: arguments of the encoder network (default: the summarizer's own).
        reparameterization: concrete | gumbel | sigmoid (Table 1).
        gradient_flow: gating | marginalization | ste (Table 1).
        hard_negative: add random summaries of the batch's videos as negatives (Table 1).
        temperature: lambda of the relaxation (Table 1 range 0.05-5).
        gumbel_draws: k of the Gumbel-Softmax subset sampler ("expected": the concrete
            sampler's mean summary size, or a share of the frames; see components/visp.py).
        beta_size, beta_binary: penalty weights (Table 1 ranges 0.01-1000 and 0.01-100).
        similarity: dot (the paper's inner product) | cosine; nce_temperature divides it.
        projection_dim: optional linear projection of the encoder's CLS state.
        alpha_scale: pretraining-only output layer alpha = alpha_scale * logits (the paper adds
            "an extra output layer for pretraining only" where needed). With a scale > 1 the
            summarizer reaches near-binary summaries with moderate logits, so sigmoid(logits)
            is not saturated when fine-tuning with MSE starts.
        reset_head: the exported ``summarizer_state_dict`` (what fine-tuning loads) carries a
            freshly initialised scoring head, i.e. the head acts as an output layer for
            pretraining only. Why: pretraining drives the logits to near-binary, saturated
            values; fine-tuning the saturated head with MSE on sigmoid scores measured worse
            than a fresh head on the pretrained body. The module's own ``state_dict`` keeps the
            pretrained head (resuming, zero-shot scoring).
        optimizer, lr_scheduler, lr_scheduler_config: as :class:`SummarizerModule`.
    """

    def __init__(
        self,
        summarizer: SummarizerSpec = "csta",
        summarizer_args: dict[str, Any] | None = None,
        input_dim: int = 1024,
        lr: float = 1e-3,
        weight_decay: float = 1e-7,
        protocol: dict[str, Any] | None = None,
        pretrained: str | None = None,
        encoder_args: dict[str, Any] | None = None,
        reparameterization: str = "concrete",
        gradient_flow: str = "gating",
        hard_negative: bool = False,
        temperature: float = 0.5,
        gumbel_draws: str | float = "expected",
        beta_size: float = 1.0,
        beta_binary: float = 0.1,
        similarity: str = "dot",
        nce_temperature: float = 1.0,
        projection_dim: int | None = None,
        alpha_scale: float = 1.0,
        reset_head: bool = True,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        lr_scheduler_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            summarizer=summarizer,
            summarizer_args=summarizer_args,
            input_dim=input_dim,
            lr=lr,
            weight_decay=weight_decay,
            protocol=protocol,
            pretrained=pretrained,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            lr_scheduler_config=lr_scheduler_config,
        )
        for name, value in (("beta_size", beta_size), ("beta_binary", beta_binary)):
            if value < 0:
                raise ConfigError(f"visp: {name}={value} must be >= 0")
        if alpha_scale <= 0:
            raise ConfigError(f"visp: alpha_scale={alpha_scale} must be > 0")
        self.alpha_scale = alpha_scale
        self.sampler = SummarySampler(
            reparameterization, gradient_flow, temperature, gumbel_draws
        )
        args = dict(summarizer_args or {}) if encoder_args is None else dict(encoder_args)
        self.encoder = VideoEncoder(summarizer, input_dim, projection_dim, **args)
        self.hard_negative = hard_negative
        self.beta_size = beta_size
        self.beta_binary = beta_binary
        self.similarity = similarity
        self.nce_temperature = nce_temperature
        # fail at construction, not at the first batch, on a bad similarity or temperature
        similarity_logits(torch.zeros(1, 1), torch.zeros(1, 1), similarity, nce_temperature)

    def visp_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """Eq. 10 on one batch, with the parts to log."""
        features, mask = batch["features"], batch["mask"]
        logits = self.summarizer(features, mask) * self.alpha_scale  # alpha of eq. 6
        y, soft = self.sampler(logits, mask)
        partner = None
        if self.sampler.gradient_flow == "marginalization":
            partner = partner_videos(features.shape[0], features.device)
        summaries = self.encoder(self.sampler.summarize(features, y, mask, partner), mask)
        videos = self.encoder(features, mask)
        negatives = None
        if self.hard_negative:
            y_random = random_summary(y, mask)
            negatives = self.encoder(
                self.sampler.summarize(features, y_random, mask, partner), mask
            )
        nce = info_nce(summaries, videos, negatives, self.similarity, self.nce_temperature)
        size = size_penalty(soft, mask)
        binary = binary_penalty(soft, mask)
        loss = nce + self.beta_binary * binary + self.beta_size * size
        with torch.no_grad():
            weights = mask.to(torch.float32)
            keep = (torch.sigmoid(logits.float()) * weights).sum() / weights.sum()
            sims = similarity_logits(summaries.detach(), videos.detach(), self.similarity)
            accuracy = (sims.argmax(1) == torch.arange(len(sims), device=sims.device)).float()
        logs = {
            "nce": nce.detach(),
            "size": size.detach(),
            "binary": binary.detach(),
            "keep": keep,
            "nce_accuracy": accuracy.mean(),
        }
        if "planted" in batch:
            kept, share = planted_lift(logits.detach(), batch["planted"], mask)
            logs["planted_lift"] = (kept - share).mean()
        return loss, logs

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        return self.visp_loss(batch)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss, logs = self.visp_loss(batch)
        size = len(batch["keys"])
        self.log("val/loss", loss, batch_size=size, sync_dist=True)
        for name, value in logs.items():
            self.log(f"val/{name}", value, batch_size=size, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        """Pretraining has no labels: nothing to reduce beyond the logged losses."""

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if isinstance(datamodule, ViSPPretrainDataModule) and datamodule.feature_dim != self.input_dim:
            raise ConfigError(
                f"feature dimension mismatch: the pretraining data ({', '.join(datamodule.paths)})"
                f" has {datamodule.feature_dim}-d features but model.input_dim is {self.input_dim}"
            )
        super().setup(stage)
