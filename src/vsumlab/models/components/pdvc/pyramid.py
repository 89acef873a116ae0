"""Multi-scale temporal feature pyramid (PDVC's ``input_proj``) and sine position encoding.

Level 0 projects the input features with a 1x1 Conv1d; each further level halves the length
with a stride-2 Conv1d (kernel 3, padding 1): length ``L -> ceil(L / 2)``. Every level is
group-normalized over its *valid* steps only and padded steps are zeroed, so a padded video in a
batch gives exactly the outputs it gives alone.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def level_valid_lengths(n_steps: Tensor, n_levels: int) -> list[Tensor]:
    """Valid length of each level for videos of ``n_steps`` (B,) steps: n, ceil(n/2), ..."""
    lengths = [n_steps]
    for _ in range(n_levels - 1):
        lengths.append((lengths[-1] + 1) // 2)
    return lengths


def lengths_to_valid(lengths: Tensor, max_len: int) -> Tensor:
    """(B,) lengths -> (B, max_len) bool, True on the first ``length`` steps."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class MaskedGroupNorm(nn.GroupNorm):
    """GroupNorm over (channels of a group) x (valid steps); padded steps do not count."""

    def forward(self, x: Tensor, valid: Tensor | None = None) -> Tensor:  # type: ignore[override]
        if valid is None:
            return super().forward(x)
        batch, channels, length = x.shape
        m = valid[:, None, None, :].to(x.dtype)  # (B,1,1,L)
        xg = x.view(batch, self.num_groups, channels // self.num_groups, length)
        count = (m.sum(-1, keepdim=True) * xg.shape[2]).clamp(min=1.0)
        mean = (xg * m).sum((-1, -2), keepdim=True) / count
        var = (((xg - mean) ** 2) * m).sum((-1, -2), keepdim=True) / count
        out = ((xg - mean) / torch.sqrt(var + self.eps)).view(batch, channels, length)
        if self.affine:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out * valid[:, None, :].to(x.dtype)


def _groups(channels: int, wanted: int) -> int:
    # PDVC uses 32 groups; tiny test sizes may not be divisible, so take the largest divisor.
    return math.gcd(channels, wanted) or 1


class TemporalPyramid(nn.Module):
    """``forward(features (B,T,D), valid (B,T)) -> list of (B, C, L_l)`` and valid masks."""

    def __init__(self, input_dim: int, d_model: int, n_levels: int = 4, norm_groups: int = 32):
        super().__init__()
        self.n_levels = n_levels
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for level in range(n_levels):
            if level == 0:
                conv = nn.Conv1d(input_dim, d_model, kernel_size=1)
            else:
                # The first down-sampled level reads the raw input, later ones the previous
                # level (as Deformable DETR / PDVC build their extra levels).
                in_dim = input_dim if level == 1 else d_model
                conv = nn.Conv1d(in_dim, d_model, kernel_size=3, stride=2, padding=1)
            nn.init.xavier_uniform_(conv.weight, gain=1.0)
            nn.init.constant_(conv.bias, 0.0)
            self.convs.append(conv)
            self.norms.append(MaskedGroupNorm(_groups(d_model, norm_groups), d_model))

    def forward(self, features: Tensor, valid: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        x = (features * valid[..., None].to(features.dtype)).transpose(1, 2)  # (B, D, T)
        n_steps = valid.sum(1)
        valid_lengths = level_valid_lengths(n_steps, self.n_levels)
        levels: list[Tensor] = []
        masks: list[Tensor] = []
        for level, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            source = x if level <= 1 else levels[-1]
            out = conv(source)
            level_valid = lengths_to_valid(valid_lengths[level], out.shape[-1])
            levels.append(norm(out, level_valid))
            masks.append(level_valid)
        return levels, masks


def sine_position_encoding(valid: Tensor, dim: int, temperature: float = 10000.0) -> Tensor:
    """(B, L) valid mask -> (B, L, dim) sine/cosine encoding of the normalized position.

    Positions are normalized by each video's own valid length (times 2 pi), as PDVC does, so the
    encoding of a step does not depend on how much padding follows it.
    """
    v = valid.to(torch.float32)
    position = v.cumsum(1)
    position = (position - 0.5) / position[:, -1:].clamp(min=1.0) * (2 * math.pi)
    dim_t = torch.arange(dim, dtype=torch.float32, device=valid.device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / dim)
    angles = position[:, :, None] / dim_t
    encoding = torch.stack([angles[:, :, 0::2].sin(), angles[:, :, 1::2].cos()], dim=3).flatten(2)
    return encoding * v[..., None]


def flatten_levels(levels: list[Tensor], masks: list[Tensor]) -> tuple[Tensor, Tensor, list[int]]:
    """(B,C,L_l) levels -> (B, sum L, C) sequence, (B, sum L) valid mask and the level lengths."""
    lengths = [level.shape[-1] for level in levels]
    seq = torch.cat([level.transpose(1, 2) for level in levels], dim=1)
    return seq, torch.cat(masks, dim=1), lengths


def valid_ratios(masks: list[Tensor]) -> Tensor:
    """(B, n_levels) fraction of each level that is real (1 when unpadded)."""
    return torch.stack([m.sum(1).to(torch.float32) / m.shape[1] for m in masks], dim=1)
