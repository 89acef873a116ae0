"""CLIP-It network (Narasimhan et al., NeurIPS 2021): language-guided attention, a frame-scoring
transformer with positional encoding, and a per-frame score head.

Frames attend to the guiding text (a user query, or the sentences of the video's dense captions):
frame features are the queries, sentence embeddings the keys and values. The attended text is
fused with the frame features, positional encoding is added and a transformer encoder scores
every frame relative to the others. ``use_text=False`` drops the text branch (the paper's text
ablation); the rest of the network is unchanged.

Choices the paper leaves open (config values): both modalities are projected to ``d_model``
(frame features need not be CLIP features); the fusion is concat + linear; the attention has a
learned "no match" key/value (``nn.MultiheadAttention(add_bias_kv=True)``), so a frame that
matches no sentence can say so instead of being forced into a convex mix of sentences, and a
video without sentences is still well defined.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vsumlab.errors import ConfigError


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """(length, dim) sine/cosine positional encoding of Vaswani et al. (no length limit)."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


class LanguageGuidedAttention(nn.Module):
    """Frames (queries) attend to sentence embeddings (keys/values); output fused with frames."""

    def __init__(self, d_model: int, n_heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(
            d_model, n_heads, dropout=dropout, batch_first=True, add_bias_kv=True
        )
        self.fuse = nn.Sequential(nn.Linear(2 * d_model, d_model), nn.GELU())
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self, frames: Tensor, text: Tensor, text_mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """frames (B,T,d), text (B,N,d), text_mask (B,N) True = real sentence.

        Returns the fused frames (B,T,d) and the attention weights (B,T,N+1) averaged over heads;
        the last column is the learned "no match" slot.
        """
        padding = None if text_mask is None else ~text_mask.bool()
        attended, weights = self.attention(
            frames, text, text, key_padding_mask=padding, need_weights=True
        )
        fused = self.fuse(torch.cat([frames, attended], dim=-1))
        return self.norm(frames + fused), weights


class CLIPItScorer(nn.Module):
    """Scores frames given optional guiding text; ``forward(features, mask, text, text_mask)``.

    Without ``text`` (or with ``use_text=False``) it is a plain summarizer component:
    ``forward(features (B,T,D), mask (B,T) bool) -> logits (B,T)``.
    """

    def __init__(
        self,
        input_dim: int,
        text_dim: int = 512,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_dim: int | None = None,
        dropout: float = 0.1,
        use_text: bool = True,
        text_heads: int | None = None,
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ConfigError(f"clipit: d_model={d_model} must be divisible by n_heads={n_heads}")
        text_heads = n_heads if text_heads is None else text_heads
        if use_text and d_model % text_heads != 0:
            raise ConfigError(
                f"clipit: d_model={d_model} must be divisible by text_heads={text_heads}"
            )
        self.input_dim = input_dim
        self.text_dim = text_dim
        self.d_model = d_model
        self.use_text = use_text
        # LayerNorm first: benchmark features (GoogLeNet pool5) and CLIP features differ in scale.
        self.frame_proj = nn.Sequential(nn.LayerNorm(input_dim), nn.Linear(input_dim, d_model))
        if use_text:
            self.text_proj = nn.Sequential(nn.LayerNorm(text_dim), nn.Linear(text_dim, d_model))
            self.guided = LanguageGuidedAttention(d_model, text_heads, dropout)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=ff_dim or 4 * d_model,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # nested tensors would zero padded rows differently in eval mode; keep one code path
        self.transformer = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, d_model), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(d_model, 1),
        )

    def forward(
        self,
        features: Tensor,
        mask: Tensor | None = None,
        text: Tensor | None = None,
        text_mask: Tensor | None = None,
    ) -> Tensor:
        batch, steps, dim = features.shape
        if dim != self.input_dim:
            raise ConfigError(
                f"clipit: features have dimension {dim}, the model expects {self.input_dim}"
            )
        if mask is None:
            mask = torch.ones(batch, steps, dtype=torch.bool, device=features.device)
        x = self.frame_proj(features)
        if self.use_text:
            if text is None:  # no guiding text: only the learned "no match" slot is attended
                text = features.new_zeros(batch, 1, self.text_dim)
                text_mask = torch.zeros(batch, 1, dtype=torch.bool, device=features.device)
            if text.shape[-1] != self.text_dim:
                raise ConfigError(
                    f"clipit: text embeddings have dimension {text.shape[-1]}, "
                    f"the model expects text_dim={self.text_dim}"
                )
            x, _ = self.guided(x, self.text_proj(text), text_mask)
        x = x + sinusoidal_positions(steps, self.d_model, features.device)
        x = self.transformer(x, src_key_padding_mask=~mask.bool())
        return self.head(x).squeeze(-1).masked_fill(~mask.bool(), 0.0)


class FeatureReconstructor(nn.Module):
    """Decoder of the unsupervised variant: rebuilds every frame feature from the score-weighted
    features. One self-attention layer lets a dropped frame be rebuilt from similar kept ones,
    so scores are rewarded for covering the video, not for keeping every frame."""

    def __init__(self, input_dim: int, d_model: int = 128, n_heads: int = 4) -> None:
        super().__init__()
        self.d_model = d_model
        self.encode = nn.Linear(input_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, 2 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.mix = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.decode = nn.Linear(d_model, input_dim)

    def forward(self, weighted: Tensor, mask: Tensor) -> Tensor:
        x = self.encode(weighted) + sinusoidal_positions(
            weighted.shape[1], self.d_model, weighted.device
        )
        return self.decode(self.mix(x, src_key_padding_mask=~mask.bool()))
