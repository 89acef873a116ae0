"""ViSP's objective (visp.txt eqs. 3 and 10): InfoNCE over the batch plus size and binary
penalties of the summary variables.

``L_N = -sum_i log exp(s(X_s^i, X_o^i)) / sum_j [exp(s(X_s^i, X_o^j)) + exp(s(X_s^i, X_r^j))]``
where the ``X_r`` terms (random summaries, hard negatives) are optional and ``s`` is the inner
product of encoder outputs (``similarity="dot"``, the paper) or their cosine
(``similarity="cosine"``), divided by ``temperature``.

Scales (``reduction``): the paper's (``"sum"``, visp.txt eq. 3 sums L_N over the batch's N videos
and section 3.4 sets ``R_size = ||Y||_1``, ``R_binary = Y (1 - Y)``: every term is a sum over
frames and videos, so the Table 1 ranges of beta_size and beta_binary weigh sums), or ours
(``"mean"``: L_N averaged over the batch, each penalty averaged over a video's frames, then
over the batch, so the weights depend on neither the batch size nor the video length). On ours
the paper's betas are off by the video length T: ``beta_ours = T * beta_paper`` (eq. 10 with
every term divided by N), and T varies by video, so the ranges are not converted: a run that
uses the paper's ranges (experiments/sweeps/visp.yaml, experiments/visp/pretrain_paper.yaml)
uses the paper's scale, ``loss_scale: paper``.
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


#: the module's ``loss_scale`` -> the reduction of every term of eq. 10
LOSS_SCALES = {"paper": "sum", "mean": "mean"}


def _reduce(per_step: Tensor, mask: Tensor, reduction: str) -> Tensor:
    weights = mask.to(per_step.dtype)
    per_video = (per_step * weights).sum(1)
    if reduction == "sum":
        return per_video.sum()
    if reduction != "mean":
        raise ConfigError(f"visp: penalty reduction={reduction!r}; expected sum or mean")
    return (per_video / weights.sum(1).clamp_min(1.0)).mean()


def size_penalty(y: Tensor, mask: Tensor, reduction: str = "mean") -> Tensor:
    """R_size: ``"sum"`` = sum over the batch of ||y||_1 (visp.txt section 3.4); ``"mean"`` =
    ||y||_1 / T per video (the kept share), averaged over the batch."""
    return _reduce(y.abs(), mask, reduction)


def binary_penalty(y: Tensor, mask: Tensor, reduction: str = "mean") -> Tensor:
    """R_binary = y (1 - y) (0 when y is binary): ``"sum"`` over frames and videos (the paper's
    elementwise term reduced as its R_size, by the l1 norm, and over the batch as eq. 3);
    ``"mean"`` over each video's frames, then over the batch."""
    return _reduce(y * (1 - y), mask, reduction)
