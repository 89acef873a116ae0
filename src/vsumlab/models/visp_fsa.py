"""ViSP's "(+) FSA" ablation (visp.txt, Table 3 and section 4.3): pretraining on *fixed*
pseudo-summaries instead of sampled ones, then the same fine-tuning.

The paper builds the pseudo-summaries from another dataset's ground truth ("the top 15% of the
TVSum video ... based on Eq. (13)", pretrain on TVSum, fine-tune on SumMe, and the reverse):
Eq. (13) is the protocol's keyshot selection, the 0/1 knapsack over KTS shots scored by their
mean gtscore with a length budget of 15%.
:func:`vsumlab.data.pseudo_summaries.pseudo_summary` is exactly that selection
(:func:`vsumlab.protocol.keyshots.keyshot_summary` on ``gtscore``) read back at the sampled
steps, and :class:`vsumlab.data.pseudo_summaries.FSAPretrainDataModule` gives the videos with
them. The summarizer is trained on it with a binary classification loss
(:func:`pseudo_summary_bce`: binary cross-entropy of the logits, mean over valid steps).
Checkpoints carry ``summarizer_state_dict`` as ViSP's do, so fine-tuning is the supervised
harness with ``model.pretrained: PATH``; ``reset_head`` is the same option as ViSP's.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vsumlab.models.summarizer import SummarizerModule
from vsumlab.models.visp import PretrainedSummarizerExport


def pseudo_summary_bce(logits: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Binary cross-entropy of the logits against the 0/1 pseudo-summary, mean over valid steps."""
    weights = mask.to(torch.float32)
    per_step = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return (per_step * weights).sum() / weights.sum().clamp_min(1.0)


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
        pretrained: str | None = None,
        reset_head: bool = True,
    ) -> None:
        super().__init__(
            summarizer=summarizer,
            summarizer_args=summarizer_args,
            input_dim=input_dim,
            lr=lr,
            weight_decay=weight_decay,
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
