"""Score regularizers of Cap2Sum (paper eqs. 3-5), averaged over the videos of a batch.

Each takes scores S (B,T) in (0,1) and a valid mask (B,T) (True = real step) and reduces each
video over its own valid steps, so padding never changes a video's loss.
"""

from __future__ import annotations

from torch import Tensor


def _per_video_mean(values: Tensor, valid: Tensor) -> Tensor:
    m = valid.to(values.dtype)
    return (values * m).sum(1) / m.sum(1).clamp(min=1.0)


def length_loss(scores: Tensor, valid: Tensor, target: float = 0.3) -> Tensor:
    """(mean S - l)^2 with l = 0.3: keeps the summarizer from scoring everything 1 (eq. 4)."""
    return ((_per_video_mean(scores, valid) - target) ** 2).mean()


def variance_loss(scores: Tensor, valid: Tensor, ceiling: float = 0.25) -> Tensor:
    """0.25 - var(S) (population variance; 0.25 is the largest variance of values in [0,1]):
    pushes scores apart instead of averaging them (eq. 5)."""
    mean = _per_video_mean(scores, valid)
    var = _per_video_mean((scores - mean[:, None]) ** 2, valid)
    return (ceiling - var).mean()


def prior_loss(scores: Tensor, prior: Tensor, valid: Tensor) -> Tensor:
    """MSE(P * S, P) over all valid steps (eq. 3): only steps with P = 1 contribute, where the
    summarizer is pushed towards 1; the mean is over the whole video as the paper writes it."""
    prior = prior.to(scores.dtype)
    return _per_video_mean((prior * scores - prior) ** 2, valid).mean()
