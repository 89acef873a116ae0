"""The PDVC dense video captioner: pyramid -> deformable encoder -> event-query decoder -> heads.

Defaults are PDVC's sizes (2 encoder + 2 decoder layers, hidden 512, 8 heads, 4 sampling points,
4 pyramid levels, 10 event queries, event counts 0..10, LSTM caption head with deformable soft
attention). Values from PDVC's code (github.com/ttengwang/PDVC), for the standard captioner on
ActivityNet (``cfgs/anet_c3d_pdvc.yml``, whose base is ``cfgs/anet_c3d_pdvcl.yml``):

* ``ffn_dim`` = 512: ``transformer_ff_dim: 512`` of the base config (the pdvcl configs set it;
  2048 is only ``opts.py``'s default, Deformable DETR's);
* the event reranking weight ``caption_weight`` = 1.0: ``ec_alpha: 1.0`` of
  ``cfgs/anet_c3d_pdvc.yml`` (0.3 is ``opts.py``'s default, ``parser.add_argument('--ec_alpha',
  type=float, default=0.3)``, which PDVC-light's configs keep).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.pdvc.decoding import beam_search, greedy_decode
from vsumlab.models.components.pdvc.heads import (
    CaptionContext,
    CaptionHead,
    EventCounter,
    classification_head,
    localization_head,
)
from vsumlab.models.components.pdvc.pyramid import (
    TemporalPyramid,
    flatten_levels,
    sine_position_encoding,
    valid_ratios,
)
from vsumlab.models.components.pdvc.segments import cl_to_se
from vsumlab.models.components.pdvc.transformer import DeformableDecoder, DeformableEncoder


@dataclass
class LayerOutput:
    """Predictions of one decoder layer (the last one is the model's answer, others are aux)."""

    features: Tensor  # (B, Q, C) event query features
    boxes: Tensor  # (B, Q, 2) (center, length) in [0, 1] of the valid video
    logits: Tensor  # (B, Q) foreground logits
    count_logits: Tensor  # (B, max_events + 1)


@dataclass
class CaptionerOutput:
    layers: list[LayerOutput]
    memory: Tensor  # (B, S, C) encoder output over all pyramid levels
    memory_valid: Tensor  # (B, S)
    level_lengths: list[int]
    ratios: Tensor  # (B, n_levels)

    @property
    def last(self) -> LayerOutput:
        return self.layers[-1]


@dataclass
class EventPrediction:
    start: float  # fraction of the video in [0, 1]
    end: float
    score: float  # foreground probability
    tokens: list[int]  # caption word ids (no <bos>, no <eos>)
    confidence: float = 0.0  # what ranked it: PDVC's joint score (or the foreground probability)


#: PDVC cfgs/anet_c3d_pdvcl.yml (base of cfgs/anet_c3d_pdvc.yml): ``transformer_ff_dim: 512``
PDVC_FFN_DIM = 512
#: PDVC cfgs/anet_c3d_pdvc.yml: ``ec_alpha: 1.0`` (the standard captioner's reranking weight)
PDVC_EC_ALPHA = 1.0


def joint_score(
    localization: Tensor, sentence_logp: Tensor, n_words: Tensor,
    caption_weight: float = PDVC_EC_ALPHA,
    length_power: float = 2.0,
) -> Tensor:
    """PDVC's event confidence ``c_loc + caption_weight * sum(log p(w)) / n_words ** power``
    (0 for a caption without words)."""
    per_word = sentence_logp / n_words.clamp(min=1).to(sentence_logp.dtype) ** length_power
    return localization + caption_weight * per_word


class PDVCCaptioner(nn.Module):
    def __init__(
        self,
        input_dim: int,
        vocab_size: int,
        d_model: int = 512,
        n_heads: int = 8,
        n_points: int = 4,
        n_levels: int = 4,
        enc_layers: int = 2,
        dec_layers: int = 2,
        n_queries: int = 10,
        ffn_dim: int = PDVC_FFN_DIM,
        dropout: float = 0.1,
        max_events: int = 10,
        caption_hidden: int = 512,
        caption_word_dim: int = 512,
        caption_attend: bool = True,
        caption_heads: int = 1,
        caption_points: int = 4,
        norm_groups: int = 32,
    ):
        super().__init__()
        if vocab_size < 5:
            raise ConfigError(
                f"captioner: vocab_size={vocab_size} is too small (4 specials + words)"
            )
        if dec_layers < 1 or enc_layers < 0 or n_queries < 1 or n_levels < 1:
            raise ConfigError(
                "captioner: need dec_layers >= 1, enc_layers >= 0, n_queries >= 1, n_levels >= 1; "
                f"got {dec_layers}, {enc_layers}, {n_queries}, {n_levels}"
            )
        self.input_dim, self.d_model, self.n_queries = input_dim, d_model, n_queries
        self.max_events, self.vocab_size = max_events, vocab_size
        self.pyramid = TemporalPyramid(input_dim, d_model, n_levels, norm_groups)
        self.level_embed = nn.Parameter(torch.randn(n_levels, d_model) * 0.02)
        self.encoder = DeformableEncoder(
            enc_layers, d_model, ffn_dim, dropout, n_levels, n_heads, n_points
        )
        self.decoder = DeformableDecoder(
            dec_layers, d_model, ffn_dim, dropout, n_levels, n_heads, n_points
        )
        self.query_embed = nn.Embedding(n_queries, 2 * d_model)
        self.reference_points = nn.Linear(d_model, 1)
        nn.init.xavier_uniform_(self.reference_points.weight)
        nn.init.constant_(self.reference_points.bias, 0.0)
        # Box refinement: one localization / class / count head per decoder layer.
        self.box_heads = nn.ModuleList(
            localization_head(d_model, first=i == 0) for i in range(dec_layers)
        )
        self.decoder.box_heads = self.box_heads
        self.class_heads = nn.ModuleList(classification_head(d_model) for _ in range(dec_layers))
        self.counters = nn.ModuleList(EventCounter(d_model, max_events) for _ in range(dec_layers))
        self.caption_head = CaptionHead(
            vocab_size,
            d_model,
            hidden_dim=caption_hidden,
            word_dim=caption_word_dim,
            attend=caption_attend,
            n_levels=n_levels,
            n_heads=caption_heads,
            n_points=caption_points,
            dropout=dropout,
        )

    def forward(self, features: Tensor, valid: Tensor) -> CaptionerOutput:
        """features (B,T,D), valid (B,T) bool True = real step."""
        if features.shape[-1] != self.input_dim:
            raise ConfigError(
                f"captioner: features have dim {features.shape[-1]}, the captioner expects {self.input_dim}"
            )
        levels, masks = self.pyramid(features, valid)
        ratios = valid_ratios(masks)
        pos = [
            sine_position_encoding(mask, self.d_model).to(features.dtype) + self.level_embed[i]
            for i, mask in enumerate(masks)
        ]
        src, src_valid, lengths = flatten_levels(levels, masks)
        memory = self.encoder(src, torch.cat(pos, dim=1), lengths, src_valid, ratios)
        batch = features.shape[0]
        query_pos, tgt = self.query_embed.weight.split(self.d_model, dim=-1)
        query_pos = query_pos[None].expand(batch, -1, -1)
        tgt = tgt[None].expand(batch, -1, -1)
        reference = self.reference_points(query_pos).sigmoid()
        hs, boxes = self.decoder(tgt, query_pos, reference, memory, lengths, src_valid, ratios)
        layers = [
            LayerOutput(h, box, cls(h)[..., 0], counter(h))
            for h, box, cls, counter in zip(hs, boxes, self.class_heads, self.counters)
        ]
        return CaptionerOutput(layers, memory, src_valid, lengths, ratios)

    # ---- captions -------------------------------------------------------------------------
    def caption_context(
        self, output: CaptionerOutput, layer: LayerOutput, batch_index: Tensor, query_index: Tensor
    ) -> CaptionContext:
        return self.caption_head.context(
            output.memory,
            output.memory_valid,
            output.level_lengths,
            output.ratios,
            batch_index,
            layer.boxes[batch_index, query_index],
        )

    def caption_logits(
        self,
        output: CaptionerOutput,
        layer: LayerOutput,
        batch_index: Tensor,
        query_index: Tensor,
        tokens_in: Tensor,
    ) -> Tensor:
        """Teacher-forced word logits (N, L, V) for the queries (batch_index, query_index)."""
        ctx = self.caption_context(output, layer, batch_index, query_index)
        return self.caption_head(layer.features[batch_index, query_index], tokens_in, ctx)

    @torch.no_grad()
    def generate(
        self,
        output: CaptionerOutput,
        batch_index: Tensor,
        query_index: Tensor,
        bos: int,
        eos: int,
        max_len: int = 30,
        beam_size: int = 1,
    ) -> tuple[Tensor, Tensor]:
        """Captions of the chosen queries of the last layer: tokens (N, max_len), log-probs (N,)."""
        layer = output.last
        query = layer.features[batch_index, query_index]
        ctx = self.caption_context(output, layer, batch_index, query_index)
        head = self.caption_head

        def step(tokens: Tensor, state: tuple[Tensor, ...], rows: Tensor):
            logits, (h, c) = head.step(tokens, (state[0], state[1]), query[rows], ctx.select(rows))
            return logits, (h, c)

        state = head.start(query)
        n = query.shape[0]
        if beam_size <= 1:
            return greedy_decode(step, state, n, bos, eos, max_len)
        return beam_search(step, state, n, bos, eos, max_len, beam_size)

    @torch.no_grad()
    def word_log_probs(
        self, output: CaptionerOutput, batch_index: Tensor, query_index: Tensor, tokens: Tensor,
        bos: int,
    ) -> Tensor:
        """(N, L) ``log p(w_t | w_<t, event)`` of each word of given captions under the last
        layer. Causal: the head is fed ``<bos> w_1 .. w_{L-1}`` (the caption shifted right), so the
        distribution that scores w_t never saw w_t or a later word."""
        tokens_in = torch.cat([torch.full_like(tokens[:, :1], bos), tokens[:, :-1]], dim=1)
        logits = self.caption_logits(output, output.last, batch_index, query_index, tokens_in)
        return logits.float().log_softmax(-1).gather(-1, tokens[..., None])[..., 0]

    @torch.no_grad()
    def caption_log_probs(
        self, output: CaptionerOutput, batch_index: Tensor, query_index: Tensor, tokens: Tensor,
        bos: int, eos: int,
    ) -> tuple[Tensor, Tensor]:
        """Summed log-probability ``sum_t log p(w_t | w_<t)`` of the words of given captions
        (N, L) (no <eos>, no padding) under the last layer, and their word counts (N,): PDVC's
        caption confidence."""
        logp = self.word_log_probs(output, batch_index, query_index, tokens, bos)
        words = (tokens != eos) & (tokens != 0)
        # words after an <eos> never occur (decoding pads them), so the mask is the caption
        return (logp * words).sum(-1), words.sum(-1)

    @torch.no_grad()
    def predict_events(
        self,
        output: CaptionerOutput,
        bos: int,
        eos: int,
        max_len: int = 30,
        beam_size: int = 1,
        rank_by: str = "joint",
        caption_weight: float = PDVC_EC_ALPHA,
        length_power: float = 2.0,
    ) -> list[list[EventPrediction]]:
        """PDVC inference: caption every query, keep the top n by confidence, n from the event
        counter (at least one), sorted by start time.

        ``rank_by="joint"`` is PDVC's joint ranking (its released evaluation, the reranking used
        whenever the counter is trained): ``c = c_loc + caption_weight * sum(log p(w)) /
        n_words ** length_power`` with c_loc the foreground probability, caption_weight 1.0
        (PDVC's ``ec_alpha`` in cfgs/anet_c3d_pdvc.yml) and length_power 2 (its temperature); a
        caption without words adds 0.
        ``rank_by="localization"`` ranks by c_loc alone.
        """
        if rank_by not in ("joint", "localization"):
            raise ConfigError(f"rank_by={rank_by!r} is unknown; expected joint or localization")
        layer = output.last
        batch, n_queries = layer.logits.shape
        n_events = layer.count_logits.argmax(-1).clamp(min=1, max=self.n_queries)
        scores = layer.logits.sigmoid()
        bi = torch.arange(batch, device=scores.device).repeat_interleave(n_queries)
        qi = torch.arange(n_queries, device=scores.device).repeat(batch)
        tokens, _ = self.generate(output, bi, qi, bos, eos, max_len, beam_size)
        confidence = scores.clone()
        if rank_by == "joint":
            sentence, n_words = self.caption_log_probs(output, bi, qi, tokens, bos, eos)
            confidence = joint_score(
                scores, sentence.view(batch, n_queries), n_words.view(batch, n_queries),
                caption_weight, length_power,
            )
        spans = cl_to_se(layer.boxes).clamp(0.0, 1.0)
        tokens = tokens.view(batch, n_queries, -1)
        result: list[list[EventPrediction]] = []
        for b in range(batch):
            top = confidence[b].topk(int(n_events[b])).indices.tolist()
            events = [
                EventPrediction(
                    float(spans[b, q, 0]), float(spans[b, q, 1]), float(scores[b, q]),
                    [t for t in tokens[b, q].tolist() if t not in (eos, 0)],
                    float(confidence[b, q]),
                )
                for q in top
            ]
            events.sort(key=lambda e: (e.start, e.end))
            result.append(events)
        return result
