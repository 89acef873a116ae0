"""CLIP-It network: language-guided attention, padding invariance, the text ablation."""

from __future__ import annotations

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.clipit import (
    CLIPItScorer,
    FeatureReconstructor,
    LanguageGuidedAttention,
    sinusoidal_positions,
)


def _batch(lengths, dim, seed=0):
    gen = torch.Generator().manual_seed(seed)
    videos = [torch.randn(n, dim, generator=gen) for n in lengths]
    feats = torch.full((len(videos), max(lengths), dim), 50.0)  # garbage in the padding
    mask = torch.zeros(len(videos), max(lengths), dtype=torch.bool)
    for i, video in enumerate(videos):
        feats[i, : len(video)] = video
        mask[i, : len(video)] = True
    return videos, feats, mask


def _text(counts, dim, seed=1):
    gen = torch.Generator().manual_seed(seed)
    sentences = [torch.randn(n, dim, generator=gen) for n in counts]
    text = torch.full((len(counts), max([1, *counts]), dim), -30.0)  # garbage in the padding
    mask = torch.zeros(len(counts), max([1, *counts]), dtype=torch.bool)
    for i, s in enumerate(sentences):
        text[i, : len(s)] = s
        mask[i, : len(s)] = True
    return sentences, text, mask


def test_sinusoidal_positions_by_hand():
    table = sinusoidal_positions(3, 4)
    # position 1, dims (sin f0, cos f0, sin f1, cos f1) with f0 = 1, f1 = 10000^(-2/4) = 0.01
    expected = torch.tensor([0.8414710, 0.5403023, 0.0099998, 0.9999500])
    torch.testing.assert_close(table[1], expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(table[0], torch.tensor([0.0, 1.0, 0.0, 1.0]))
    assert sinusoidal_positions(5, 7).shape == (5, 7)  # odd widths work too


def test_padding_and_sentence_padding_do_not_change_valid_outputs():
    """Batch of N == N batches of 1, whatever sits in padded steps and padded sentences."""
    torch.manual_seed(0)
    model = CLIPItScorer(16, text_dim=8, d_model=16, n_heads=2, n_layers=2, dropout=0.0).eval()
    videos, feats, mask = _batch((7, 19, 12), 16)
    sentences, text, text_mask = _text((2, 0, 3), 8)
    with torch.no_grad():
        batched = model(feats, mask, text, text_mask)
        for i, (video, sent) in enumerate(zip(videos, sentences)):
            alone = model(video[None], None, sent[None] if len(sent) else None, None)[0]
            torch.testing.assert_close(batched[i, : len(video)], alone, atol=1e-5, rtol=1e-5)
            assert torch.all(batched[i, len(video) :] == 0)


def test_text_changes_scores_and_ablation_ignores_it():
    torch.manual_seed(0)
    _, feats, mask = _batch((10,), 16)
    _, text_a, mask_a = _text((2,), 8, seed=1)
    _, text_b, mask_b = _text((2,), 8, seed=2)
    guided = CLIPItScorer(16, text_dim=8, d_model=16, n_heads=2, dropout=0.0).eval()
    with torch.no_grad():
        diff = (guided(feats, mask, text_a, mask_a) - guided(feats, mask, text_b, mask_b)).abs()
    assert diff.max() > 1e-3
    ablation = CLIPItScorer(16, text_dim=8, d_model=16, n_heads=2, dropout=0.0, use_text=False)
    assert not any("text" in name or "guided" in name for name, _ in ablation.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(
            ablation(feats, mask, text_a, mask_a), ablation(feats, mask, text_b, mask_b)
        )
    # the rest of the network is the same: same parameter names outside the text branch
    shared = {n for n, _ in guided.named_parameters() if not n.startswith(("text_proj", "guided"))}
    assert shared == {n for n, _ in ablation.named_parameters()}


def test_attention_has_a_no_match_slot_and_masks_padded_sentences():
    torch.manual_seed(0)
    attention = LanguageGuidedAttention(8, n_heads=2, dropout=0.0).eval()
    frames = torch.randn(1, 5, 8)
    text = torch.randn(1, 3, 8)
    mask = torch.tensor([[True, True, False]])
    with torch.no_grad():
        _, weights = attention(frames, text, mask)
    assert weights.shape == (1, 5, 4)  # three sentences + the learned "no match" slot
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 5))
    assert torch.all(weights[..., 2] == 0)  # the padded sentence gets no attention
    assert torch.all(weights[..., 3] > 0)
    with torch.no_grad():  # no sentence at all: everything goes to the slot, no NaN
        out, weights = attention(frames, text, torch.zeros(1, 3, dtype=torch.bool))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(weights[..., 3], torch.ones(1, 5))


def test_every_parameter_learns():
    torch.manual_seed(0)
    model = CLIPItScorer(12, text_dim=6, d_model=8, n_heads=2, n_layers=1)
    _, feats, mask = _batch((9, 5), 12)
    _, text, text_mask = _text((2, 1), 6)
    (torch.sigmoid(model(feats, mask, text, text_mask))[mask] - 0.3).pow(2).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing


def test_reconstructor_shapes_and_padding():
    torch.manual_seed(0)
    decoder = FeatureReconstructor(12, d_model=8, n_heads=2).eval()
    videos, feats, mask = _batch((6, 4), 12)
    with torch.no_grad():
        out = decoder(feats, mask)
        alone = decoder(videos[1][None], torch.ones(1, 4, dtype=torch.bool))
    assert out.shape == feats.shape
    torch.testing.assert_close(out[1, :4], alone[0], atol=1e-5, rtol=1e-5)


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="d_model=10 must be divisible by n_heads=4"):
        CLIPItScorer(16, d_model=10, n_heads=4)
    model = CLIPItScorer(16, text_dim=8, d_model=8, n_heads=2)
    with pytest.raises(ConfigError, match="features have dimension 12, the model expects 16"):
        model(torch.zeros(1, 3, 12))
    with pytest.raises(ConfigError, match="text embeddings have dimension 5.*text_dim=8"):
        model(torch.zeros(1, 3, 16), None, torch.zeros(1, 2, 5))


def _transparent_attention() -> LanguageGuidedAttention:
    """One head, identity projections, zero "no match" key and value, fusion that passes the
    attended text through and no LayerNorm: the output is frames + attended text."""
    attention = LanguageGuidedAttention(2, n_heads=1, dropout=0.0).eval()
    mha = attention.attention
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([torch.eye(2)] * 3))
        mha.in_proj_bias.zero_()
        mha.out_proj.weight.copy_(torch.eye(2))
        mha.out_proj.bias.zero_()
        mha.bias_k.zero_()
        mha.bias_v.zero_()
    fuse = torch.nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        fuse.weight.copy_(torch.cat([torch.zeros(2, 2), torch.eye(2)], dim=1))  # [0 | I]
    attention.fuse = fuse
    attention.norm = torch.nn.Identity()
    return attention


def test_language_guided_attention_by_hand():
    """Frames are the queries, sentences the keys AND the values, plus a "no match" slot
    (key 0, value 0): frame t gets sum_n softmax_n(f_t . s_n / sqrt(d)) s_n."""
    attention = _transparent_attention()
    ln2 = torch.log(torch.tensor(2.0)).item()
    root2 = 2**0.5
    # scores f.s / sqrt(2): frame 0 = (ln2 * sqrt2, 0) scores ln2 against sentence 0, 0 against
    # sentence 1 and the slot -> weights 2/4, 1/4, 1/4
    frames = torch.tensor([[[ln2 * root2, 0.0], [0.0, 0.0], [0.0, ln2 * root2]]])
    text = torch.tensor([[[1.0, 0.0], [0.0, 3.0]]])
    with torch.no_grad():
        out, weights = attention(frames, text)
    expected_weights = torch.tensor([[[0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.25, 0.5]]])
    # frame 2 scores 0 against sentence 0 and 3 * ln2 against sentence 1: weights 1, 8, 1 / 10
    expected_weights[0, 2] = torch.tensor([0.1, 0.8, 0.1])
    torch.testing.assert_close(weights, expected_weights)
    attended = expected_weights[..., 0:1] * text[:, 0:1] + expected_weights[..., 1:2] * text[:, 1:2]
    torch.testing.assert_close(out, frames + attended)  # the slot's value is 0
    # a masked sentence is neither attended nor a value: frame 0 now splits 2:1 with the slot
    with torch.no_grad():
        out, weights = attention(frames, text, torch.tensor([[True, False]]))
    torch.testing.assert_close(weights[0, 0], torch.tensor([2 / 3, 0.0, 1 / 3]))
    torch.testing.assert_close(out[0, 0], frames[0, 0] + torch.tensor([2 / 3, 0.0]))


def test_scorer_projects_the_text_before_attending():
    """CLIPItScorer feeds text_proj(text) (text_dim -> d_model) to the attention with the mask."""
    torch.manual_seed(0)
    model = CLIPItScorer(6, text_dim=5, d_model=4, n_heads=2, n_layers=1, dropout=0.0).eval()
    seen = {}

    def spy(module, args, output):
        seen["text"], seen["mask"] = args[1], args[2]

    model.guided.register_forward_hook(spy)
    _, feats, mask = _batch((4,), 6)
    text = torch.randn(1, 2, 5)
    text_mask = torch.tensor([[True, False]])
    with torch.no_grad():
        model(feats, mask, text, text_mask)
    torch.testing.assert_close(seen["text"], model.text_proj(text))
    assert torch.equal(seen["mask"], text_mask)
