"""ViSP parts (visp.txt, section 3): summary sampling, gradient flow, hard negatives, encoder.

* Reparameterization (Table 1): ``concrete`` (binary concrete relaxation, eq. 6:
  ``y = sigmoid((log e - log(1 - e) + alpha) / lambda)``, e ~ U(0, 1): every frame kept
  independently), ``gumbel`` (the paper's Gumbel-Softmax row, Table 1 and Table 3 "(+) Gumbel",
  Jang et al. 2016: one keep/drop decision per frame as Eq. 4 factorises the summary, see
  :func:`gumbel_keep_drop`), ``sigmoid`` (the paper's "(-) Concrete": no noise,
  ``y = sigmoid(alpha / lambda)``) and ``gumbel_subset`` (an extra of ours, not a row of the
  paper: a k-draw subset sampler, see :func:`gumbel_subset`).

  ``gumbel``: per frame a two-class Gumbel-Softmax over {keep, drop} with class log-probabilities
  ``logsigmoid(alpha)`` and ``logsigmoid(-alpha)``; the soft sample ``s = softmax((log pi + g) /
  lambda)[keep]`` (g i.i.d. Gumbel(0, 1)) and, as Jang et al.'s straight-through variant, the
  hard sample ``h = 1[argmax = keep]`` used forward with the gradient of ``s`` (``h + s -
  stop_grad(s)``). The soft sample alone has the binary concrete distribution (the difference
  of two Gumbels is logistic); what the row changes is the exactly binary summary the encoder
  sees. The penalties read the soft sample.

  ``gumbel_subset``: the categorical relaxation over the video's frames with ``k`` draws, a
  frame kept where any draw selects it (the soft union ``y_t = 1 - prod_j (1 - s_jt)``, as in
  relaxed subset sampling, Xie & Ermon 2019 and L2X, Chen et al. 2018):
  ``s_j = softmax((log_softmax(alpha) + g_j) / lambda)`` over valid frames. ``k``
  (``gumbel_draws``) is by default the summary size the concrete sampler would give on
  average, ``round(sum_t sigmoid(alpha_t))`` (at least 1); a float in (0, 1] fixes
  ``k = round(gumbel_draws * T)`` instead.
* Gradient flow (Table 1): ``gating`` (``X_s = X * y``), ``marginalization`` (eq. 9: dropped
  frames are filled with the frames of another video of the batch at the same relative
  position) and ``ste`` (a Bernoulli draw with probability ``y`` is used in the forward pass,
  the gradient of ``y`` in the backward pass; gating otherwise). With ``gumbel`` the summary is
  already the straight-through binary sample, so ``ste`` draws nothing more.
* Hard negative: a random summary of the same video with as many kept steps as the generated
  one (rounded), filled the same way.
* Video encoder E: a network of the summarizer's architecture whose CLS state is the video
  vector (visp.txt, appendix .3); its per-step scoring head is dropped.

Every function keeps padded steps at zero so that padding never leaks into a video.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import RelaxedBernoulli

from vsumlab.errors import ConfigError
from vsumlab.models.components.registry import (
    SummarizerSpec,
    build_summarizer,
    summarizer_class,
    summarizer_class_path,
)
from vsumlab.models.components.transformer_summarizer import TransformerSummarizer

#: Table 1 / Table 3 rows (concrete, gumbel, sigmoid = "(-) Concrete"), then our extra
REPARAMETERIZATIONS = ("concrete", "gumbel", "sigmoid", "gumbel_subset")
GRADIENT_FLOWS = ("gating", "marginalization", "ste")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"visp: {name}={value!r} is unknown; expected one of {', '.join(allowed)}")


def check_gumbel_draws(value: str | float) -> None:
    if value == "expected":
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ConfigError(
            f"visp: gumbel_draws={value!r} must be 'expected' or a share of the frames in (0, 1]"
        )


def subset_draws(logits: Tensor, mask: Tensor, gumbel_draws: str | float = "expected") -> Tensor:
    """k per video (B,): the number of categorical draws of :func:`gumbel_subset`.

    ``"expected"``: ``round(sum_t sigmoid(alpha_t))`` over valid frames (the concrete
    sampler's mean summary size); a float: ``round(gumbel_draws * T)``. Clamped to [1, T];
    halves round to even (``torch.round``). Not differentiated (k is a count).
    """
    check_gumbel_draws(gumbel_draws)
    lengths = mask.sum(1)
    if gumbel_draws == "expected":
        size = (torch.sigmoid(logits.detach().float()) * mask).sum(1)
    else:
        size = float(gumbel_draws) * lengths.float()
    return torch.minimum(torch.round(size).long().clamp(min=1), lengths.clamp(min=1))


def gumbel_subset(
    logits: Tensor, mask: Tensor, temperature: float, draws: Tensor
) -> Tensor:
    """Relaxed k-draw subset (B, T): ``1 - prod_{j<k} (1 - softmax_t((log pi + g_j) / lambda))``
    with ``pi = softmax(alpha)`` over each video's valid frames; ``draws`` gives k per video."""
    invalid = ~mask
    log_pi = torch.log_softmax(logits.float().masked_fill(invalid, float("-inf")), dim=1)
    n_draws = int(draws.max())
    gumbel = gumbel_noise((logits.shape[0], n_draws, logits.shape[1]), logits.device)
    scores = (log_pi[:, None, :] + gumbel) / temperature
    one_hot = torch.softmax(scores.masked_fill(invalid[:, None, :], float("-inf")), dim=2)
    used = torch.arange(n_draws, device=logits.device)[None, :] < draws[:, None]
    one_hot = one_hot * used[..., None].to(one_hot.dtype)  # videos with fewer draws
    y = 1 - (1 - one_hot).prod(dim=1)
    return torch.nan_to_num(y) * mask.to(y.dtype)  # fully padded rows: 0


def gumbel_noise(shape: torch.Size | tuple[int, ...], device: torch.device | None = None) -> Tensor:
    """i.i.d. Gumbel(0, 1) draws ``-log(-log u)``, u ~ U(0, 1) kept off 0 and 1."""
    uniform = torch.rand(shape, device=device)
    return -torch.log(-torch.log(uniform.clamp(1e-10, 1 - 1e-7)))


def gumbel_keep_drop(
    logits: Tensor, temperature: float, noise: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """(straight-through hard sample, soft sample), both (B, T): the per-frame two-class
    Gumbel-Softmax over {keep, drop} (Jang et al. 2016, the ``gumbel`` row of visp.txt Table 1).

    ``noise`` (B, T, 2): the Gumbel draws of (keep, drop); drawn when not given. Forward, the hard
    sample is exactly 0/1 (1 where keep wins); backward, it has the soft sample's gradient."""
    logits = logits.float()
    log_pi = torch.stack([F.logsigmoid(logits), F.logsigmoid(-logits)], dim=-1)
    if noise is None:
        noise = gumbel_noise(log_pi.shape, logits.device)
    scores = (log_pi + noise) / temperature
    soft = torch.softmax(scores, dim=-1)[..., 0]
    hard = (scores[..., 0] > scores[..., 1]).to(soft.dtype)
    return hard + (soft - soft.detach()), soft


def relaxed_summary(
    logits: Tensor,
    mask: Tensor,
    temperature: float,
    method: str,
    gumbel_draws: str | float = "expected",
) -> Tensor:
    """Relaxed keep variables y in (0, 1) for every step (B, T); 0 on padding. For ``gumbel``
    this is the soft sample (the straight-through hard one: :func:`gumbel_keep_drop`)."""
    check_choice("reparameterization", method, REPARAMETERIZATIONS)
    if temperature <= 0:
        raise ConfigError(f"visp: temperature={temperature} must be > 0")
    logits = logits.float()
    if method == "concrete":
        y = RelaxedBernoulli(torch.tensor(temperature, device=logits.device), logits=logits).rsample()
    elif method == "gumbel":
        y = gumbel_keep_drop(logits, temperature)[1]
    elif method == "gumbel_subset":
        y = gumbel_subset(logits, mask, temperature, subset_draws(logits, mask, gumbel_draws))
    else:
        y = torch.sigmoid(logits / temperature)
    return y * mask.to(y.dtype)


def straight_through_bernoulli(y: Tensor) -> Tensor:
    """Binary draws with P(1) = y forward, identity gradient backward (Bengio et al., 2013)."""
    hard = torch.bernoulli(y.detach())
    return hard + (y - y.detach())  # exactly 0/1 forward (no rounding of 1 + y - y)


def partner_videos(batch_size: int, device: torch.device | None = None) -> Tensor:
    """For each video, another video of the batch (a random cyclic shift: never itself)."""
    if batch_size < 2:
        raise ConfigError(
            "visp: marginalization fills dropped frames from another video of the batch and "
            f"needs a batch of at least 2 videos, got {batch_size}"
        )
    shift = int(torch.randint(1, batch_size, (1,)))
    return (torch.arange(batch_size, device=device) + shift) % batch_size


def relative_position_indices(lengths: Tensor, partner: Tensor, max_len: int) -> Tensor:
    """(B, max_len) step of the partner video at the same relative position.

    Step t of a video with T steps maps to ``floor(t * T_p / T)`` of its partner (T_p steps):
    nearest-below resampling, which is the up/down sampling of the partner the paper asks for.
    Padded positions map to 0 (they are masked anyway).
    """
    steps = torch.arange(max_len, device=lengths.device)[None, :]
    own = lengths[:, None]
    other = lengths[partner][:, None]
    index = torch.div(steps * other, own, rounding_mode="floor")
    return torch.where(steps < own, index.clamp(max=max_len - 1), torch.zeros_like(index))


def partner_frames(features: Tensor, mask: Tensor, partner: Tensor) -> Tensor:
    """Z of eq. 9: for each video, its partner's frames resampled to the video's length."""
    lengths = mask.sum(1)
    index = relative_position_indices(lengths, partner, features.shape[1])
    source = features[partner]
    return torch.gather(source, 1, index[..., None].expand(-1, -1, features.shape[2]))


def apply_summary(
    features: Tensor, y: Tensor, mask: Tensor, fill: Tensor | None = None
) -> Tensor:
    """Gating ``X * y``, or with ``fill`` the marginalization ``X * y + Z * (1 - y)``."""
    y = y.to(features.dtype)[..., None]
    out = features * y
    if fill is not None:
        out = out + fill * (1 - y)
    return out * mask[..., None].to(features.dtype)


def random_summary(y: Tensor, mask: Tensor) -> Tensor:
    """0/1 summaries with the same number of kept steps as ``y`` (rounded, at least 1),
    chosen uniformly at random among each video's valid steps."""
    lengths = mask.sum(1)
    keep = y.detach().sum(1).round().long().clamp(min=1)
    keep = torch.minimum(keep, lengths)
    noise = torch.rand(y.shape, device=y.device).masked_fill(~mask, 2.0)
    ranks = noise.argsort(1).argsort(1)
    return ((ranks < keep[:, None]) & mask).to(y.dtype)


class SummarySampler(nn.Module):
    """alpha -> summary variables y (B, T) for the chosen reparameterization and gradient flow."""

    def __init__(
        self,
        reparameterization: str = "concrete",
        gradient_flow: str = "gating",
        temperature: float = 0.5,
        gumbel_draws: str | float = "expected",
    ) -> None:
        super().__init__()
        check_choice("reparameterization", reparameterization, REPARAMETERIZATIONS)
        check_choice("gradient_flow", gradient_flow, GRADIENT_FLOWS)
        check_gumbel_draws(gumbel_draws)
        if temperature <= 0:
            raise ConfigError(f"visp: temperature={temperature} must be > 0")
        self.reparameterization = reparameterization
        self.gradient_flow = gradient_flow
        self.temperature = temperature
        self.gumbel_draws = gumbel_draws

    def forward(self, logits: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(y used to build the summary, relaxed y for the penalties); both 0 on padding."""
        if self.reparameterization == "gumbel":  # the straight-through hard sample builds it
            hard, soft = gumbel_keep_drop(logits, self.temperature)
            weights = mask.to(soft.dtype)
            return hard * weights, soft * weights
        soft = relaxed_summary(
            logits, mask, self.temperature, self.reparameterization, self.gumbel_draws
        )
        if self.gradient_flow == "ste":
            return straight_through_bernoulli(soft) * mask.to(soft.dtype), soft
        return soft, soft

    def summarize(
        self, features: Tensor, y: Tensor, mask: Tensor, partner: Tensor | None = None
    ) -> Tensor:
        """X_s from y: gating, or marginalization with the partner videos' frames."""
        if self.gradient_flow != "marginalization":
            return apply_summary(features, y, mask)
        if partner is None:
            partner = partner_videos(features.shape[0], features.device)
        return apply_summary(features, y, mask, partner_frames(features, mask, partner))


class VideoEncoder(nn.Module):
    """E(X): a summarizer-architecture network whose CLS state is the video vector."""

    def __init__(
        self,
        name: SummarizerSpec,
        input_dim: int,
        projection_dim: int | None = None,
        **summarizer_args: Any,
    ) -> None:
        super().__init__()
        cls = summarizer_class(name)
        if issubclass(cls, TransformerSummarizer):
            summarizer_args.setdefault("cls_token", True)
            # A per-frame LayerNorm would rescale gated frames (x * y) back to unit scale and
            # so undo the gating the summary is made of.
            summarizer_args.setdefault("input_norm", False)
        if not callable(getattr(cls, "encode", None)):
            raise ConfigError(
                f"visp: summarizer {summarizer_class_path(name)} has no encode(features, mask) "
                "-> (B, encode_dim): ViSP's video encoder needs one (and an encode_dim attribute)"
            )
        self.net = build_summarizer(name, input_dim, **summarizer_args)
        if getattr(self.net, "encode_dim", None) is None:
            raise ConfigError(
                f"visp: summarizer {summarizer_class_path(name)} has no encode_dim attribute "
                "(the width of encode()'s vectors)"
            )
        # The scoring head is never used by encode(); dropping it keeps every parameter in
        # the graph (DDP then needs no unused-parameter search).
        self.net.head = nn.Identity()
        width = int(self.net.encode_dim)
        self.projection = nn.Linear(width, projection_dim) if projection_dim else nn.Identity()
        self.dim = projection_dim or width

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        return self.projection(self.net.encode(features, mask))
