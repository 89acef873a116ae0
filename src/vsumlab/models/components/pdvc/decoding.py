"""Greedy and beam-search decoding for any step-wise sequence model.

``step(tokens (M,), state, rows (M,)) -> (logits (M, V), state)`` advances M sequences by one
token; ``rows`` says which of the N original inputs each sequence belongs to (beam search runs
``beam_size`` sequences per input). ``state`` is a tuple of tensors with leading dimension M.
Both return tokens (N, max_len) padded with ``pad`` after ``eos`` (which is kept) and the
summed log-probability of each returned sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

State = tuple[Tensor, ...]
StepFn = Callable[[Tensor, State, Tensor], tuple[Tensor, State]]


def _select(state: State, index: Tensor) -> State:
    return tuple(s.index_select(0, index) for s in state)


@torch.no_grad()
def greedy_decode(
    step: StepFn, state: State, n: int, bos: int, eos: int, max_len: int, pad: int = 0
) -> tuple[Tensor, Tensor]:
    device = state[0].device
    rows = torch.arange(n, device=device)
    tokens = torch.full((n,), bos, dtype=torch.long, device=device)
    out = torch.full((n, max_len), pad, dtype=torch.long, device=device)
    score = torch.zeros(n, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(max_len):
        logits, state = step(tokens, state, rows)
        logp = logits.float().log_softmax(-1)
        tokens = logp.argmax(-1)
        score = score + torch.where(
            done, torch.zeros_like(score), logp.gather(1, tokens[:, None])[:, 0]
        )
        out[:, t] = torch.where(done, torch.full_like(tokens, pad), tokens)
        done = done | (tokens == eos)
        if bool(done.all()):
            break
    return out, score


@torch.no_grad()
def beam_search(
    step: StepFn,
    state: State,
    n: int,
    bos: int,
    eos: int,
    max_len: int,
    beam_size: int = 3,
    pad: int = 0,
    length_penalty: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Keep the ``beam_size`` best partial sequences per input; finished ones carry over.

    The winner maximizes ``logp / length ** length_penalty`` (0 = raw sum of log-probs).
    """
    device = state[0].device
    k = beam_size
    rows = torch.arange(n, device=device).repeat_interleave(k)
    state = _select(state, rows)
    tokens = torch.full((n * k,), bos, dtype=torch.long, device=device)
    scores = torch.full((n, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    seqs = torch.full((n, k, max_len), pad, dtype=torch.long, device=device)
    done = torch.zeros(n, k, dtype=torch.bool, device=device)
    lengths = torch.zeros(n, k, device=device)
    for t in range(max_len):
        logits, state = step(tokens, state, rows)
        logp = logits.float().log_softmax(-1).view(n, k, -1)
        vocab = logp.shape[-1]
        # A finished beam has exactly one continuation (pad) that costs nothing.
        finished = torch.full_like(logp, float("-inf"))
        finished[..., pad] = 0.0
        logp = torch.where(done[..., None], finished, logp)
        candidates = (scores[..., None] + logp).view(n, k * vocab)
        scores, flat = candidates.topk(k, dim=-1)
        beam = torch.div(flat, vocab, rounding_mode="floor")
        tokens_nk = flat % vocab
        seqs = seqs.gather(1, beam[..., None].expand(-1, -1, max_len)).clone()
        seqs[:, :, t] = tokens_nk
        was_done = done.gather(1, beam)
        lengths = lengths.gather(1, beam) + (~was_done).float()
        done = was_done | (tokens_nk == eos)
        source = (torch.arange(n, device=device)[:, None] * k + beam).view(-1)
        state = _select(state, source)
        tokens = tokens_nk.view(-1)
        if bool(done.all()):
            break
    final = scores / lengths.clamp(min=1.0) ** length_penalty if length_penalty else scores
    best = final.argmax(-1)
    index = torch.arange(n, device=device)
    return seqs[index, best], scores[index, best]
