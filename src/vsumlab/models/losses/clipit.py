"""CLIP-It losses: weighted BCE against keyshot labels (supervised) and reconstruction +
diversity (unsupervised, with a summary-length term so that reconstruction cannot be won by
keeping every frame)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsumlab.data.schema import VideoRecord
from vsumlab.errors import DatasetError
from vsumlab.protocol.keyshots import keyshot_summary
from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol


def keyshot_labels(record: VideoRecord, protocol: Protocol = DEFAULT_PROTOCOL) -> np.ndarray:
    """(T,) 0/1 step labels: the knapsack summary (protocol budget, 15% by default) of the
    ground-truth scores, read back at the picks. This is how the standard ``gtsummary`` is made."""
    if record.gtscore is None:
        raise DatasetError(
            f"video '{record.key}' field 'gtscore': missing; keyshot labels need shape "
            f"({record.n_steps},)"
        )
    summary = keyshot_summary(
        record.gtscore, record.change_points, record.n_frames, record.picks, protocol
    )
    return summary[np.asarray(record.picks, dtype=np.int64)].astype(np.float32)


def weighted_bce(
    logits: Tensor, labels: Tensor, mask: Tensor, pos_weight: float | None = None
) -> Tensor:
    """Binary cross-entropy over valid steps; positives weighted by ``pos_weight``.

    Keyshots are ~15% of the steps, so by default positives are weighted by #neg/#pos of the
    batch (both classes then count equally); an explicit ``pos_weight`` fixes it instead.
    """
    mask = mask.bool()
    labels = labels.float()
    if pos_weight is None:
        n_pos = (labels * mask).sum()
        n_neg = mask.sum() - n_pos
        weight = (n_neg / n_pos.clamp(min=1.0)).clamp(min=1.0).detach()
    else:
        weight = torch.as_tensor(float(pos_weight), device=logits.device)
    loss = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight, reduction="none")
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def reconstruction_loss(reconstructed: Tensor, features: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error between rebuilt and original features over valid steps."""
    per_step = ((reconstructed - features) ** 2).mean(dim=-1)
    mask = mask.float()
    return (per_step * mask).sum() / mask.sum().clamp(min=1.0)


def diversity_loss(features: Tensor, scores: Tensor, mask: Tensor) -> Tensor:
    """Repelling term on selected frames: mean cosine similarity between pairs of distinct
    frames, each pair weighted by the product of their scores (soft selection), per video.

    0 when selected frames are orthogonal; 1 when they are all the same direction.
    """
    unit = F.normalize(features, dim=-1)
    similarity = unit @ unit.transpose(1, 2)  # (B,T,T)
    weights = (scores * mask.float()).unsqueeze(2) * (scores * mask.float()).unsqueeze(1)
    eye = torch.eye(features.shape[1], dtype=torch.bool, device=features.device)
    weights = weights.masked_fill(eye, 0.0)
    per_video = (weights * similarity).sum(dim=(1, 2)) / weights.sum(dim=(1, 2)).clamp(min=1e-8)
    return per_video.mean()


def length_loss(scores: Tensor, mask: Tensor, target: float) -> Tensor:
    """(mean valid score - target)^2 per video, averaged: the summary keeps ~target of frames."""
    mask = mask.float()
    mean = (scores * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return ((mean - target) ** 2).mean()
