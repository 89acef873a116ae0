"""ViSP's objective (visp.txt eqs. 3 and 10): InfoNCE over the batch plus size and binary
penalties of the summary variables.

``L_N = -sum_i log exp(s(X_s^i, X_o^i)) / sum_j [exp(s(X_s^i, X_o^j)) + exp(s(X_s^i, X_r^j))]``
where the ``X_r`` terms (random summaries, hard negatives) are optional and ``s`` is the inner
product of encoder outputs (``similarity="dot"``, the paper) or their cosine
(``similarity="cosine"``), divided by ``temperature``. The paper sums over the batch; the default
``reduction="mean"`` divides by the batch size so loss weights do not depend on it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vsumlab.errors import ConfigError

SIMILARITIES = ("dot", "cosine")


def similarity_logits(
    queries: Tensor, keys: Tensor, similarity: str = "dot", temperature: float = 1.0
) -> Tensor:
    """(B, B) matrix of s(queries_i, keys_j) / temperature."""
    if similarity not in SIMILARITIES:
        raise ConfigError(
            f"visp: similarity={similarity!r} is unknown; expected one of {', '.join(SIMILARITIES)}"
        )
    if temperature <= 0:
        raise ConfigError(f"visp: nce_temperature={temperature} must be > 0")
    if similarity == "cosine":
        queries, keys = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)
    return queries @ keys.T / temperature


def info_nce(
    summaries: Tensor,
    videos: Tensor,
    random_summaries: Tensor | None = None,
    similarity: str = "dot",
    temperature: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """Eq. 3: each summary must pick its own video among the batch's videos (and the batch's
    random summaries, when given). Inputs are encoder outputs (B, d)."""
    logits = similarity_logits(summaries, videos, similarity, temperature)
    if random_summaries is not None:
        negatives = similarity_logits(summaries, random_summaries, similarity, temperature)
        logits = torch.cat([logits, negatives], dim=1)
    target = torch.arange(summaries.shape[0], device=summaries.device)
    return F.cross_entropy(logits.float(), target, reduction=reduction)


def size_penalty(y: Tensor, mask: Tensor) -> Tensor:
    """R_size = ||y||_1 / T per video (the kept share), averaged over the batch."""
    weights = mask.to(y.dtype)
    return ((y.abs() * weights).sum(1) / weights.sum(1).clamp_min(1.0)).mean()


def binary_penalty(y: Tensor, mask: Tensor) -> Tensor:
    """R_binary = mean over steps of y (1 - y) per video (0 when y is binary), batch mean."""
    weights = mask.to(y.dtype)
    return ((y * (1 - y) * weights).sum(1) / weights.sum(1).clamp_min(1.0)).mean()
