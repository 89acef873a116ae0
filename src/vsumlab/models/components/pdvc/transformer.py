"""Deformable transformer encoder and decoder (Deformable DETR as PDVC uses it, 1-D).

The encoder refines every pyramid step with deformable self-attention across all levels. The
decoder turns learnable event queries into event features; with iterative box refinement each
decoder layer predicts a correction of the previous layer's (center, length) box, and the next
layer samples around the refined box (Zhu et al. 2021, Sec. 4.2; PDVC Sec. 3.2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vsumlab.models.components.pdvc.deformable_attention import MSDeformAttn1d


def inverse_sigmoid(x: Tensor, eps: float = 1e-5) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.log(x.clamp(min=eps) / (1.0 - x).clamp(min=eps))


class FeedForward(nn.Module):
    def __init__(self, d_model: int, ffn_dim: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, ffn_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_dim, d_model),
            nn.Dropout(dropout),
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.net(x))


class EncoderLayer(nn.Module):
    def __init__(
        self, d_model: int, ffn_dim: int, dropout: float, n_levels: int, n_heads: int, n_points: int
    ):
        super().__init__()
        self.attn = MSDeformAttn1d(d_model, n_levels, n_heads, n_points)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.ffn = FeedForward(d_model, ffn_dim, dropout)

    def forward(
        self, src: Tensor, pos: Tensor, reference: Tensor, level_lengths: list[int], valid: Tensor
    ) -> Tensor:
        out = self.attn(src + pos, reference, src, level_lengths, valid)
        return self.ffn(self.norm(src + self.dropout(out)))


class DeformableEncoder(nn.Module):
    """``forward(src (B,S,C), pos (B,S,C), level_lengths, valid (B,S), ratios (B,L)) -> (B,S,C)``."""

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        ffn_dim: int,
        dropout: float,
        n_levels: int,
        n_heads: int,
        n_points: int,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, ffn_dim, dropout, n_levels, n_heads, n_points)
            for _ in range(n_layers)
        )

    @staticmethod
    def reference_points(level_lengths: list[int], ratios: Tensor) -> Tensor:
        """(B, S, L, 1): each step's own center, expressed in every level's padded coordinates."""
        refs = []
        for level, length in enumerate(level_lengths):
            steps = torch.arange(length, dtype=ratios.dtype, device=ratios.device) + 0.5
            # Normalize by the video's valid length at this level (not the padded length).
            refs.append(steps[None, :] / (ratios[:, level : level + 1] * length))
        ref = torch.cat(refs, dim=1)  # (B, S) in valid-normalized coordinates
        return (ref[:, :, None] * ratios[:, None, :])[..., None]

    def forward(
        self, src: Tensor, pos: Tensor, level_lengths: list[int], valid: Tensor, ratios: Tensor
    ) -> Tensor:
        reference = self.reference_points(level_lengths, ratios)
        for layer in self.layers:
            src = layer(src, pos, reference, level_lengths, valid)
        return src


class DecoderLayer(nn.Module):
    def __init__(
        self, d_model: int, ffn_dim: int, dropout: float, n_levels: int, n_heads: int, n_points: int
    ):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_self = nn.LayerNorm(d_model)
        self.cross_attn = MSDeformAttn1d(d_model, n_levels, n_heads, n_points)
        self.norm_cross = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.ffn = FeedForward(d_model, ffn_dim, dropout)

    def forward(
        self,
        tgt: Tensor,
        query_pos: Tensor,
        reference: Tensor,
        memory: Tensor,
        level_lengths: list[int],
        valid: Tensor,
    ) -> Tensor:
        q = k = tgt + query_pos
        out = self.self_attn(q, k, tgt, need_weights=False)[0]
        tgt = self.norm_self(tgt + self.dropout(out))
        out = self.cross_attn(tgt + query_pos, reference, memory, level_lengths, valid)
        tgt = self.norm_cross(tgt + self.dropout(out))
        return self.ffn(tgt)


class DeformableDecoder(nn.Module):
    """Event-query decoder with iterative box refinement.

    ``box_heads`` (one per layer, set by the captioner) map a layer's output to a 2-d delta in
    inverse-sigmoid space. Returns per layer the query features (B,Q,C) and boxes (B,Q,2) as
    (center, length) in [0, 1] of the valid video.
    """

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        ffn_dim: int,
        dropout: float,
        n_levels: int,
        n_heads: int,
        n_points: int,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, ffn_dim, dropout, n_levels, n_heads, n_points)
            for _ in range(n_layers)
        )
        self.box_heads: nn.ModuleList | None = None

    def forward(
        self,
        tgt: Tensor,
        query_pos: Tensor,
        reference: Tensor,
        memory: Tensor,
        level_lengths: list[int],
        valid: Tensor,
        ratios: Tensor,
    ) -> tuple[list[Tensor], list[Tensor]]:
        if self.box_heads is None:
            raise RuntimeError("DeformableDecoder.box_heads must be set before use")
        features: list[Tensor] = []
        boxes: list[Tensor] = []
        out = tgt
        for layer, box_head in zip(self.layers, self.box_heads):
            ref_in = reference[:, :, None, :] * ratios[:, None, :, None]  # (B,Q,L,1|2)
            out = layer(out, query_pos, ref_in, memory, level_lengths, valid)
            delta = box_head(out)
            if reference.shape[-1] == 1:
                # The initial reference is a center only: the length comes from the delta alone.
                logits = torch.cat(
                    [delta[..., :1] + inverse_sigmoid(reference), delta[..., 1:]], -1
                )
            else:
                logits = delta + inverse_sigmoid(reference)
            box = logits.sigmoid()
            features.append(out)
            boxes.append(box)
            # Refinement: the next layer starts from this box; gradients stop here as in
            # Deformable DETR, so each layer learns its own correction.
            reference = box.detach()
        return features, boxes
