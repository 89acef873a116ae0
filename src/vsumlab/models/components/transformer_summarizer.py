"""The Cap2Sum summarizer: linear embedding, positional encoding, transformer encoder blocks
(multi-head self-attention with a key padding mask) and a per-step MLP head -> logits.

Interface shared by every summarizer component (docs/CONTRIBUTING.md):
``forward(features (B, T, D), mask (B, T) bool, True = valid) -> logits (B, T)``; padded steps
never influence valid ones, so a batch of N videos equals N batches of one. ``encode`` gives one
vector per video (a learned CLS token when ``cls_token=True``, else the masked mean), which the
ViSP pretraining uses as its video encoder.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vsumlab.errors import ConfigError

POSITIONAL = ("sinusoidal", "learned", "none")


def sinusoidal_positions(n: int, dim: int, device=None, dtype=None) -> Tensor:
    """(n, dim) sinusoidal encoding of Vaswani et al.; computed on the fly, so no length limit."""
    position = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(n, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table.to(dtype or torch.float32)


def check_inputs(name: str, input_dim: int, features: Tensor, mask: Tensor) -> None:
    """Fail with both shapes named when a batch does not fit the model."""
    if features.ndim != 3 or features.shape[-1] != input_dim:
        raise ConfigError(
            f"{name} summarizer: expected features of shape (batch, steps, {input_dim}), "
            f"got {tuple(features.shape)}"
        )
    if mask.shape != features.shape[:2] or mask.dtype != torch.bool:
        raise ConfigError(
            f"{name} summarizer: expected a bool mask of shape {tuple(features.shape[:2])}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )


class TransformerSummarizer(nn.Module):
    """Transformer frame scorer (Cap2Sum's summarizer); small CPU-friendly defaults."""

    def __init__(
        self,
        input_dim: int,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.1,
        head_hidden: int = 128,
        positional: str = "sinusoidal",
        max_len: int = 4096,
        input_norm: bool = True,
        cls_token: bool = False,
    ) -> None:
        super().__init__()
        if positional not in POSITIONAL:
            raise ConfigError(
                f"transformer summarizer: positional={positional!r} is unknown; "
                f"expected one of {', '.join(POSITIONAL)}"
            )
        if d_model % n_heads != 0:
            raise ConfigError(
                f"transformer summarizer: d_model={d_model} must be divisible by n_heads={n_heads}"
            )
        for name, value in (("input_dim", input_dim), ("d_model", d_model), ("n_layers", n_layers)):
            if value < 1:
                raise ConfigError(f"transformer summarizer: {name}={value} must be >= 1")
        self.input_dim = input_dim
        self.d_model = d_model
        self.encode_dim = d_model
        self.positional = positional
        self.max_len = max_len
        # Raw CNN features (e.g. GoogLeNet pool5) have uneven scales; a LayerNorm first keeps the
        # embedding well conditioned without any dataset statistics.
        self.embed = nn.Sequential(
            nn.LayerNorm(input_dim) if input_norm else nn.Identity(),
            nn.Linear(input_dim, d_model),
        )
        self.pos_table = nn.Parameter(torch.zeros(max_len, d_model)) if positional == "learned" else None
        if self.pos_table is not None:
            nn.init.normal_(self.pos_table, std=0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if cls_token else None
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors would drop padded rows in eval only; dense keeps train == eval paths.
        self.encoder = nn.TransformerEncoder(
            layer, n_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        self.head = nn.Sequential(
            nn.Linear(d_model, head_hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, 1),
        )

    def _positions(self, n: int, ref: Tensor) -> Tensor:
        if self.positional == "sinusoidal":
            return sinusoidal_positions(n, self.d_model, ref.device, ref.dtype)
        if self.pos_table is not None:
            if n > self.max_len:
                raise ConfigError(
                    f"transformer summarizer: a video of {n} steps exceeds max_len={self.max_len} "
                    "of the learned positional table; raise max_len or use positional=sinusoidal"
                )
            return self.pos_table[:n]
        return torch.zeros(n, self.d_model, device=ref.device, dtype=ref.dtype)

    def hidden(self, features: Tensor, mask: Tensor) -> tuple[Tensor | None, Tensor]:
        """(CLS state (B, d_model) or None, step states (B, T, d_model))."""
        check_inputs("transformer", self.input_dim, features, mask)
        x = self.embed(features)
        x = x + self._positions(x.shape[1], x)
        valid = mask
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
            valid = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)
        x = self.encoder(self.dropout(x), src_key_padding_mask=~valid)
        if self.cls is not None:
            return x[:, 0], x[:, 1:]
        return None, x

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        _, states = self.hidden(features, mask)
        # Padded logits are set to 0; they carry no meaning and must be masked by the caller.
        return self.head(states).squeeze(-1).masked_fill(~mask, 0.0)

    def encode(self, features: Tensor, mask: Tensor) -> Tensor:
        """One vector per video (B, d_model): the CLS state, or the masked mean without one."""
        cls, states = self.hidden(features, mask)
        if cls is not None:
            return cls
        weights = mask.to(states.dtype)[..., None]
        return (states * weights).sum(1) / weights.sum(1).clamp_min(1.0)
