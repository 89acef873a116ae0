"""Per-query heads of the captioner: localization, foreground class, event counter, captions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vsumlab.models.components.pdvc.deformable_attention import MSDeformAttn1d


class MLP(nn.Module):
    """Linear-ReLU stack; the localization head is a 3-layer MLP as in DETR."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, n_layers: int):
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (n_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def localization_head(d_model: int, first: bool) -> MLP:
    """(center, length) delta in inverse-sigmoid space; starts as 'no correction'."""
    head = MLP(d_model, d_model, 2, 3)
    nn.init.constant_(head.layers[-1].weight, 0.0)
    nn.init.constant_(head.layers[-1].bias, 0.0)
    if first:
        # The first layer has no length to refine: start short (sigmoid(-2) ~ 0.12 of the video).
        with torch.no_grad():
            head.layers[-1].bias[1] = -2.0
    return head


def classification_head(d_model: int, prior_prob: float = 0.01) -> nn.Linear:
    """Foreground logit per query; biased so that focal loss starts from p ~ prior_prob."""
    head = nn.Linear(d_model, 1)
    nn.init.constant_(head.bias, -math.log((1 - prior_prob) / prior_prob))
    return head


class EventCounter(nn.Module):
    """Predicts how many events (0..max_events) a video has from its max-pooled query features."""

    def __init__(self, d_model: int, max_events: int):
        super().__init__()
        self.max_events = max_events
        self.fc = nn.Linear(d_model, max_events + 1)

    def forward(self, queries: Tensor) -> Tensor:
        """(B, Q, C) -> (B, max_events + 1) logits."""
        return self.fc(queries.max(dim=1).values)


@dataclass
class CaptionContext:
    """What the caption head attends to, one row per captioned query (N of them)."""

    value: Tensor | None  # (N, S, H, Dh) projected encoder memory of each query's video
    level_lengths: list[int]
    ratios: Tensor | None  # (N, n_levels)
    boxes: Tensor | None  # (N, 2) (center, length) of each query's event, detached

    def select(self, index: Tensor) -> CaptionContext:
        """Rows ``index`` (beam search repeats each query once per beam)."""
        if self.value is None:
            return self
        assert self.ratios is not None and self.boxes is not None
        return CaptionContext(
            self.value[index], self.level_lengths, self.ratios[index], self.boxes[index]
        )


class CaptionHead(nn.Module):
    """LSTM caption decoder conditioned on an event query.

    ``attend=True`` is PDVC's LSTM with deformable soft attention: at every word the hidden state
    queries the encoder memory around the event's predicted box. ``attend=False`` is the light
    variant conditioned on the query feature only.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        hidden_dim: int = 512,
        word_dim: int = 512,
        attend: bool = True,
        n_levels: int = 4,
        n_heads: int = 1,
        n_points: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.vocab_size, self.attend = vocab_size, attend
        self.embed = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.init_state = nn.Linear(d_model, 2 * hidden_dim)
        input_dim = word_dim + d_model + (d_model if attend else 0)
        self.cell = nn.LSTMCell(input_dim, hidden_dim)
        self.attention = MSDeformAttn1d(d_model, n_levels, n_heads, n_points) if attend else None
        self.attention_query = nn.Linear(hidden_dim + d_model, d_model) if attend else None
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def context(
        self,
        memory: Tensor,
        valid: Tensor,
        level_lengths: list[int],
        ratios: Tensor,
        batch_index: Tensor,
        boxes: Tensor,
    ) -> CaptionContext:
        """Project the memory once per video, then pick each query's video row."""
        if self.attention is None:
            return CaptionContext(None, level_lengths, None, None)
        value = self.attention.project_value(memory, valid)
        return CaptionContext(
            value[batch_index], level_lengths, ratios[batch_index], boxes.detach()
        )

    def start(self, query: Tensor) -> tuple[Tensor, Tensor]:
        h, c = torch.tanh(self.init_state(query)).chunk(2, dim=-1)
        return h.contiguous(), c.contiguous()

    def step(
        self, tokens: Tensor, state: tuple[Tensor, Tensor], query: Tensor, ctx: CaptionContext
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One word: tokens (N,) -> log-softmax-able logits (N, V) and the next state."""
        parts = [self.embed(tokens), query]
        if self.attention is not None and self.attention_query is not None:
            assert ctx.value is not None and ctx.ratios is not None and ctx.boxes is not None
            attn_query = self.attention_query(torch.cat([state[0], query], -1))[:, None, :]
            reference = ctx.boxes[:, None, None, :] * ctx.ratios[:, None, :, None]
            parts.append(
                self.attention.attend(attn_query, reference, ctx.value, ctx.level_lengths)[:, 0]
            )
        h, c = self.cell(torch.cat(parts, -1), state)
        return self.out(self.dropout(h)), (h, c)

    def forward(self, query: Tensor, tokens_in: Tensor, ctx: CaptionContext) -> Tensor:
        """Teacher forcing: query (N,C), tokens_in (N,L) starting with <bos> -> logits (N,L,V)."""
        state = self.start(query)
        logits = []
        for t in range(tokens_in.shape[1]):
            step_logits, state = self.step(tokens_in[:, t], state, query, ctx)
            logits.append(step_logits)
        return torch.stack(logits, dim=1)
