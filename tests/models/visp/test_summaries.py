"""Gating, marginalization (eq. 9) and random hard-negative summaries."""

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.visp import (
    SummarySampler,
    apply_summary,
    partner_frames,
    partner_videos,
    random_summary,
    relative_position_indices,
)


def lengths_mask(lengths, max_len):
    return torch.arange(max_len)[None, :] < torch.tensor(lengths)[:, None]


def test_relative_positions_by_hand():
    lengths = torch.tensor([4, 8, 2])
    partner = torch.tensor([1, 2, 0])
    index = relative_position_indices(lengths, partner, 8)
    # video 0 (4 steps) reads video 1 (8 steps) at t * 8 / 4; video 1 reads video 2 (2 steps)
    # at floor(t * 2 / 8); video 2 reads video 0 at t * 4 / 2; padding maps to 0.
    assert index.tolist() == [
        [0, 2, 4, 6, 0, 0, 0, 0],
        [0, 0, 0, 0, 1, 1, 1, 1],
        [0, 2, 0, 0, 0, 0, 0, 0],
    ]


def test_marginalization_picks_partner_frames_and_keeps_kept_ones():
    mask = lengths_mask([4, 8, 2], 8)
    # feature value 100 * video + step makes every frame recognisable
    features = (100 * torch.arange(3)[:, None] + torch.arange(8)[None, :]).float()[..., None]
    features = features * mask[..., None]
    z = partner_frames(features, mask, torch.tensor([1, 2, 0]))
    assert z[0, :4, 0].tolist() == [100, 102, 104, 106]
    assert z[1, :8, 0].tolist() == [200, 200, 200, 200, 201, 201, 201, 201]
    assert z[2, :2, 0].tolist() == [0, 2]
    y = torch.zeros(3, 8)
    y[0, 1] = 1.0  # keep step 1 of video 0, drop the rest
    y[2, 0] = 0.25
    out = apply_summary(features, y, mask, z)
    assert out[0, :4, 0].tolist() == [100, 1, 104, 106]
    assert out[2, 0, 0].item() == pytest.approx(0.25 * 200 + 0.75 * 0)
    assert torch.all(out[~mask] == 0)


def test_gating_multiplies_and_zeroes_padding():
    mask = lengths_mask([3, 1], 3)
    features = torch.ones(2, 3, 2) * 2
    y = torch.tensor([[1.0, 0.5, 0.0], [0.5, 0.9, 0.9]])
    out = apply_summary(features, y, mask)
    assert out[..., 0].tolist() == [[2.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize("batch", [2, 3, 8])
def test_partner_is_another_video(batch):
    for _ in range(20):
        partner = partner_videos(batch)
        assert sorted(partner.tolist()) == list(range(batch))
        assert torch.all(partner != torch.arange(batch))


def test_marginalization_needs_two_videos():
    with pytest.raises(ConfigError, match="at least 2 videos, got 1"):
        partner_videos(1)
    sampler = SummarySampler(gradient_flow="marginalization")
    with pytest.raises(ConfigError, match="at least 2"):
        sampler.summarize(torch.ones(1, 3, 2), torch.ones(1, 3), torch.ones(1, 3, dtype=torch.bool))


def test_random_summary_has_the_same_length_uniformly_placed():
    torch.manual_seed(0)
    mask = lengths_mask([10, 4, 10], 10)
    y = torch.zeros(3, 10)
    y[0, :10] = 0.33  # 3.3 kept -> 3
    y[1, :4] = 0.0  # nothing kept -> at least 1
    y[2, :10] = 0.36  # 3.6 kept -> 4 (rounded, not floored)
    counts = torch.zeros(3, 10)
    for _ in range(2000):
        r = random_summary(y, mask)
        assert r[0].sum() == 3 and r[1].sum() == 1 and r[2].sum() == 4
        assert torch.all(r[~mask] == 0)
        counts += r
    # every valid step is drawn equally often: 3/10 and 1/4 of the draws
    assert torch.allclose(counts[0] / 2000, torch.full((10,), 0.3), atol=0.05)
    assert torch.allclose(counts[1, :4] / 2000, torch.full((4,), 0.25), atol=0.05)
