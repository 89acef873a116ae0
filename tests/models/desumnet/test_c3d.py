"""The 3D CNN follows the paper's layer pattern."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.c3d import C3D, normalize_clips, output_shape


def test_paper_pattern_at_full_size():
    model = C3D(num_classes=10)
    convs = [m for m in model.features if isinstance(m, nn.Conv3d)]
    pools = [m for m in model.features if isinstance(m, nn.MaxPool3d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 256]
    assert all(c.kernel_size == (3, 3, 3) for c in convs)
    # pool(temporal kernel, temporal stride): (1,1) then (2,2) four times; 2x2 stride 2 spatially
    assert [p.kernel_size for p in pools] == [(1, 2, 2)] + [(2, 2, 2)] * 4
    assert [p.stride for p in pools] == [(1, 2, 2)] + [(2, 2, 2)] * 4
    # 16 x 112 x 112 -> 16x56x56 -> 8x28x28 -> 4x14x14 -> 2x7x7 -> 1x3x3
    assert output_shape(16, 112) == (1, 3, 3)
    assert model.fc6.in_features == 256 * 9
    assert (model.fc6.out_features, model.fc7.out_features, model.fc8.out_features) == (
        2048,
        2048,
        10,
    )


def test_tiny_width_forward_and_fc8_init():
    torch.manual_seed(0)
    model = C3D(num_classes=3, crop=32, width=0.0625).eval()
    assert [m.out_channels for m in model.features if isinstance(m, nn.Conv3d)] == [4, 8, 16, 16, 16]
    clips = normalize_clips(torch.randint(0, 256, (2, 3, 16, 32, 32), dtype=torch.uint8))
    assert model(clips).shape == (2, 3)
    # fine-tuning's new last layer: N(0, 0.01) weights, zero bias
    model.reset_classifier(10)
    big = C3D(num_classes=400, crop=32, width=0.25)
    assert big.fc8.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert model.fc8.out_features == 10 and torch.all(model.fc8.bias == 0)


def test_normalize_clips_hand_computed():
    clip = torch.full((1, 3, 1, 1, 1), 255, dtype=torch.uint8)
    out = normalize_clips(clip).flatten().tolist()
    expected = [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]
    assert out == pytest.approx(expected, rel=1e-6)


def test_too_small_inputs_are_config_errors():
    with pytest.raises(ConfigError, match=r"clip_len=8, crop=112 is too small: pool5"):
        C3D(num_classes=2, clip_len=8)
    with pytest.raises(ConfigError, match="crop=16 is too small: pool5"):
        C3D(num_classes=2, crop=16)
    with pytest.raises(ConfigError, match="width=0"):
        C3D(num_classes=2, width=0)
