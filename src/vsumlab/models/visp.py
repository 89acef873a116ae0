"""ViSP pretraining (visp.txt): a summarizer learns which frames make a summary informative by
maximising a contrastive lower bound of I(X_s; X_o), on unlabeled videos.

:class:`ViSPPretrainModule` wraps any summarizer of the registry (CSTA by default). Per batch:
the summarizer gives logits alpha; a summary y is sampled (:class:`SummarySampler`); the video
encoder E (same architecture, CLS output) embeds the summary X_s and every original video X_o;
InfoNCE over the batch (optionally with random summaries as hard negatives) plus
``beta_binary * R_binary + beta_size * R_size`` is minimised (eq. 10). Checkpoints carry
``summarizer_state_dict`` (written by :class:`SummarizerModule`), so fine-tuning is the
supervised harness with ``model.pretrained: PATH``; the encoder is discarded.

:class:`~vsumlab.data.unlabeled_videos.ViSPPretrainDataModule` concatenates any standard h5 files
and ignores their labels.

Synthetic data: ViSP finds informative frames as the ones that tell a video apart from the others
of the batch. The default synthetic sets plant importance along a direction shared by every video,
so there planted frames are not distinctive and pretraining does not find them; the sets made with
``background="generic"`` (:mod:`vsumlab.data.synthetic.benchmark`) show generic scenes outside the
planted segments, the premise holds, and :func:`planted_lift` measures what pretraining discovered.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from vsumlab.data.unlabeled_videos import ViSPPretrainDataModule
from vsumlab.errors import ConfigError
from vsumlab.models.components.registry import SummarizerSpec, build_summarizer
from vsumlab.models.components.visp import (
    SummarySampler,
    VideoEncoder,
    partner_videos,
    random_summary,
)
from vsumlab.models.losses.contrastive import (
    LOSS_SCALES,
    binary_penalty,
    info_nce,
    similarity_logits,
    size_penalty,
)
from vsumlab.models.summarizer import SummarizerModule


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
    """What every pretraining stage (ViSP's, FSA's) shares: checkpoints carry
    ``summarizer_state_dict`` (what fine-tuning loads, scoring head freshly initialised when
    ``hparams.reset_head``) and ``summarizer_config``; validation reports only the logged losses;
    the pretraining data's feature dimension must match ``input_dim``."""

    def on_validation_epoch_end(self) -> None:
        """No summarization metrics: pretraining videos carry no labels of the target dataset."""

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if isinstance(datamodule, ViSPPretrainDataModule) and datamodule.feature_dim != self.input_dim:
            raise ConfigError(
                f"feature dimension mismatch: the pretraining data ({', '.join(datamodule.paths)})"
                f" has {datamodule.feature_dim}-d features but model.input_dim is {self.input_dim}"
            )
        super().setup(stage)

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
        reparameterization: concrete | gumbel | sigmoid (Table 1; gumbel: per-frame keep/drop
            Gumbel-Softmax, straight-through) | gumbel_subset (our k-draw extra).
        gradient_flow: gating | marginalization | ste (Table 1).
        hard_negative: add random summaries of the batch's videos as negatives (Table 1).
        temperature: lambda of the relaxation (Table 1 range 0.05-5).
        gumbel_draws: k of the gumbel_subset sampler ("expected": the concrete
            sampler's mean summary size, or a share of the frames; see components/visp.py).
        beta_size, beta_binary: penalty weights (Table 1 ranges 0.01-1000 and 0.01-100).
        similarity: dot (the paper's inner product) | cosine; nce_temperature divides it.
        loss_scale: ``paper`` (InfoNCE summed over the batch, eq. 3; R_size = ||Y||_1 and
            R_binary summed over frames and videos, section 3.4: the scale of Table 1's beta
            ranges) | ``mean`` (ours, the default: batch means, per-frame means; the betas of
            experiments/visp/pretrain.yaml were chosen on it). See losses/contrastive.py.
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
        loss_scale: str = "mean",
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
            pretrained=pretrained,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
            lr_scheduler_config=lr_scheduler_config,
        )
        for name, value in (("beta_size", beta_size), ("beta_binary", beta_binary)):
            if value < 0:
                raise ConfigError(f"visp: {name}={value} must be >= 0")
        if loss_scale not in LOSS_SCALES:
            raise ConfigError(
                f"visp: loss_scale={loss_scale!r} is unknown; expected one of "
                + ", ".join(LOSS_SCALES)
            )
        self.reduction = LOSS_SCALES[loss_scale]
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
        nce = info_nce(summaries, videos, negatives, self.similarity, self.nce_temperature,
                       self.reduction)
        size = size_penalty(soft, mask, self.reduction)
        binary = binary_penalty(soft, mask, self.reduction)
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
