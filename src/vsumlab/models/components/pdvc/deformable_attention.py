"""Multi-scale deformable attention over 1-D (temporal) feature pyramids, in pure PyTorch.

Each query attends to ``n_points`` sampled locations per head and per pyramid level, placed at
learned offsets around a reference point (1-D: a center; 2-D: a (center, length) box), with
softmax weights over all levels x points (Zhu et al. 2021, Deformable DETR; PDVC's 1-D form).
Values at fractional locations come from linear interpolation with ``grid_sample`` (zeros
outside the sequence), so no compiled extension is needed and it runs on CPU and any GPU.

Coordinates: locations are in [0, 1] of each level's (padded) length; a location ``x`` reads the
pixel coordinate ``x * L - 0.5`` (``align_corners=False``), i.e. step ``i`` sits at
``(i + 0.5) / L``. Callers scale references by the per-video valid ratio so that padding never
changes the valid videos' outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsumlab.errors import ConfigError


def deformable_sample(
    value: Tensor, level_lengths: list[int], locations: Tensor, weights: Tensor
) -> Tensor:
    """Weighted sum of linearly interpolated values at sampling locations.

    value: (B, S, H, Dh) with S = sum(level_lengths); locations, weights: (B, Q, H, L, P),
    locations in [0, 1] of each level. Returns (B, Q, H * Dh).
    """
    batch, _, heads, head_dim = value.shape
    _, n_queries, _, n_levels, n_points = locations.shape
    # grid_sample works on images: treat each level as a (B*H, Dh, 1, L_l) image of height 1,
    # whose only row is read exactly at y = 0 (normalized), so sampling is linear along time.
    grid_x = (2.0 * locations - 1.0).permute(0, 2, 1, 3, 4).flatten(0, 1)  # (B*H, Q, L, P)
    weights = weights.permute(0, 2, 1, 3, 4).flatten(0, 1)  # (B*H, Q, L, P)
    out = value.new_zeros(batch * heads, head_dim, n_queries)
    for level, level_value in enumerate(value.split(level_lengths, dim=1)):
        image = level_value.permute(0, 2, 3, 1).reshape(batch * heads, head_dim, 1, -1)
        x = grid_x[:, :, level]
        grid = torch.stack([x, torch.zeros_like(x)], dim=-1)  # (B*H, Q, P, 2)
        sampled = F.grid_sample(
            image, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )  # (B*H, Dh, Q, P)
        out = out + (sampled * weights[:, None, :, level]).sum(-1)
    return out.view(batch, heads, head_dim, n_queries).permute(0, 3, 1, 2).flatten(2)


class MSDeformAttn1d(nn.Module):
    """Multi-scale deformable attention for temporal sequences.

    ``forward(query (B,Q,C), reference (B,Q,L,1|2), value_input (B,S,C), level_lengths (list),
    valid (B,S) bool True = real step) -> (B,Q,C)``. Values can be projected once with
    :meth:`project_value` and reused across calls (the caption head attends at every word).
    """

    def __init__(self, d_model: int = 512, n_levels: int = 4, n_heads: int = 8, n_points: int = 4):
        super().__init__()
        if d_model % n_heads != 0:
            raise ConfigError(
                f"deformable attention: d_model={d_model} must be divisible by n_heads={n_heads}"
            )
        self.d_model, self.n_levels, self.n_heads, self.n_points = (
            d_model,
            n_levels,
            n_heads,
            n_points,
        )
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Start with points spread symmetrically around the reference, as Deformable DETR:
        # head h looks left or right (cos of its angle), point p at distance p + 1.
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        direction = thetas.cos()
        direction = torch.where(direction.abs() < 1e-6, torch.ones_like(direction), direction)
        direction = direction / direction.abs()
        points = torch.arange(1, self.n_points + 1, dtype=torch.float32)
        bias = direction[:, None, None] * points[None, None, :]
        bias = bias.expand(self.n_heads, self.n_levels, self.n_points)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(bias.reshape(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.constant_(self.value_proj.bias, 0.0)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.constant_(self.output_proj.bias, 0.0)

    def project_value(self, value_input: Tensor, valid: Tensor | None) -> Tensor:
        """(B,S,C) -> (B,S,H,Dh); padded steps are zeroed so they read as outside the video."""
        value = self.value_proj(value_input)
        if valid is not None:
            value = value.masked_fill(~valid[..., None], 0.0)
        return value.view(value.shape[0], value.shape[1], self.n_heads, -1)

    def sampling(
        self, query: Tensor, reference: Tensor, level_lengths: list[int]
    ) -> tuple[Tensor, Tensor]:
        """Sampling locations and attention weights, each (B, Q, H, L, P)."""
        batch, n_queries, _ = query.shape
        shape = (batch, n_queries, self.n_heads, self.n_levels, self.n_points)
        offsets = self.sampling_offsets(query).view(shape)
        weights = self.attention_weights(query).view(*shape[:3], -1).softmax(-1).view(shape)
        if reference.shape[-1] == 1:
            # Offsets are in steps of each level.
            scale = query.new_tensor(level_lengths)[None, None, None, :, None]
            locations = reference[:, :, None, :, None, 0] + offsets / scale
        elif reference.shape[-1] == 2:
            # Offsets are relative to the reference box: +-1 per point reaches the box edges.
            center = reference[:, :, None, :, None, 0]
            length = reference[:, :, None, :, None, 1]
            locations = center + offsets / self.n_points * length * 0.5
        else:
            raise ValueError(
                f"reference must end in 1 or 2 coordinates, got {tuple(reference.shape)}"
            )
        return locations, weights

    def attend(
        self, query: Tensor, reference: Tensor, value: Tensor, level_lengths: list[int]
    ) -> Tensor:
        """Attention with an already projected value (see :meth:`project_value`)."""
        locations, weights = self.sampling(query, reference, level_lengths)
        out = deformable_sample(value, level_lengths, locations, weights)
        return self.output_proj(out)

    def forward(
        self,
        query: Tensor,
        reference: Tensor,
        value_input: Tensor,
        level_lengths: list[int],
        valid: Tensor | None = None,
    ) -> Tensor:
        value = self.project_value(value_input, valid)
        return self.attend(query, reference, value, level_lengths)
