"""Deformable attention: grid_sample sampling against a dense linear-interpolation reference."""

from __future__ import annotations

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.pdvc.deformable_attention import MSDeformAttn1d, deformable_sample


def dense_reference(value, level_lengths, locations, weights):
    """Independent reference: an explicit (Q, L) interpolation matrix per level, head, point.

    A location x reads position c = x * L - 0.5; step i gets weight max(0, 1 - |c - i|), which
    is linear interpolation between the two nearest steps with zeros outside the sequence.
    """
    batch, _, heads, head_dim = value.shape
    n_queries = locations.shape[1]
    out = torch.zeros(batch, n_queries, heads, head_dim, dtype=torch.float64)
    start = 0
    for level, length in enumerate(level_lengths):
        v = value[:, start : start + length].double()  # (B, L, H, Dh)
        start += length
        c = locations[:, :, :, level].double() * length - 0.5  # (B, Q, H, P)
        steps = torch.arange(length, dtype=torch.float64)
        interp = (1 - (c[..., None] - steps).abs()).clamp(min=0)  # (B, Q, H, P, L)
        w = weights[:, :, :, level].double()  # (B, Q, H, P)
        mixed = (interp * w[..., None]).sum(3)  # (B, Q, H, L)
        out += torch.einsum("bqhl,blhd->bqhd", mixed, v)
    return out.flatten(2)


def test_sampling_matches_dense_reference_on_hand_example():
    # One level of 4 steps with values 10, 20, 30, 40 (step i sits at (i + 0.5) / 4).
    value = torch.tensor([10.0, 20.0, 30.0, 40.0]).view(1, 4, 1, 1)
    # x = 0.25 -> position 0.5: halfway between steps 0 and 1 -> 15;
    # x = 0.0 -> position -0.5: half of step 0, half of the zero outside -> 5;
    # x = 0.875 -> exactly step 3 -> 40.
    locations = torch.tensor([0.25, 0.0, 0.875]).view(1, 1, 1, 1, 3)
    weights = torch.tensor([0.5, 0.25, 0.25]).view(1, 1, 1, 1, 3)
    out = deformable_sample(value, [4], locations, weights)
    expected = 0.5 * 15 + 0.25 * 5 + 0.25 * 40
    assert out.item() == pytest.approx(expected)
    assert dense_reference(value, [4], locations, weights).item() == pytest.approx(expected)


def test_sampling_matches_dense_reference_random_multiscale():
    torch.manual_seed(0)
    lengths = [13, 7, 4]
    value = torch.randn(2, sum(lengths), 3, 5)
    # Include locations outside [0, 1] to exercise the zero padding.
    locations = torch.rand(2, 6, 3, 3, 4) * 1.4 - 0.2
    weights = torch.rand(2, 6, 3, 3, 4)
    out = deformable_sample(value, lengths, locations, weights)
    ref = dense_reference(value, lengths, locations, weights)
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)


def test_gradients_flow_to_values_and_locations():
    value = torch.randn(1, 8, 2, 4, requires_grad=True)
    locations = torch.rand(1, 3, 2, 1, 2, requires_grad=True)
    weights = torch.rand(1, 3, 2, 1, 2, requires_grad=True)
    deformable_sample(value, [8], locations, weights).sum().backward()
    assert value.grad.abs().sum() > 0 and locations.grad.abs().sum() > 0
    assert weights.grad.abs().sum() > 0


def test_module_box_reference_places_points_inside_the_box():
    attn = MSDeformAttn1d(d_model=8, n_levels=2, n_heads=2, n_points=4)
    query = torch.randn(1, 3, 8)
    # Box (center 0.5, length 0.4): with the initial offsets (+-1..4 per head), points land at
    # center +- p / 4 * 0.2 -> all within [0.3, 0.7].
    reference = torch.tensor([0.5, 0.4]).expand(1, 3, 2, 2)
    locations, weights = attn.sampling(query, reference, [10, 5])
    assert locations.shape == (1, 3, 2, 2, 4)
    assert locations.min() >= 0.3 - 1e-6 and locations.max() <= 0.7 + 1e-6
    torch.testing.assert_close(weights.sum((-1, -2)), torch.ones(1, 3, 2))


def test_module_padding_does_not_change_valid_outputs():
    torch.manual_seed(1)
    attn = MSDeformAttn1d(d_model=8, n_levels=1, n_heads=2, n_points=3)
    torch.nn.init.normal_(attn.sampling_offsets.weight, std=0.5)
    value = torch.randn(1, 6, 8)
    query = torch.randn(1, 2, 8)
    ref = torch.rand(1, 2, 1, 1)
    alone = attn(query, ref, value, [6])
    padded_value = torch.cat([value, torch.randn(1, 4, 8)], dim=1)
    valid = torch.arange(10)[None] < 6
    ratio = 6 / 10  # references are scaled into padded coordinates by the valid ratio
    padded = attn(query, ref * ratio, padded_value, [10], valid)
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)


def test_heads_must_divide_model_dim():
    with pytest.raises(ConfigError, match="divisible"):
        MSDeformAttn1d(d_model=10, n_heads=3)
