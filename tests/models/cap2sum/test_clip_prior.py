"""CLIP prior: prompts, similarity threshold, run-length rule, text-feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.clip_prior import (
    CIFAR100_CLASSES,
    clip_prior,
    clip_prior_batch,
    load_text_features,
    object_prompts,
    prompt_text_features,
    runs_of_true,
)


def test_prompts_are_the_cifar100_objects():
    prompts = object_prompts()
    assert len(prompts) == 100 == len(set(CIFAR100_CLASSES))
    assert prompts[0] == "An image of apple."
    assert prompts[1] == "An image of aquarium fish."
    assert "An image of willow tree." in prompts


def test_runs_of_true_by_hand():
    starts, ends = runs_of_true(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool))
    assert starts.tolist() == [0, 4, 6] and ends.tolist() == [2, 5, 9]


def frames_showing(objects: list[int], dim: int = 4) -> torch.Tensor:
    """One frame per entry: the unit vector of that object, or (-1) a frame showing all alike."""
    rows = [torch.eye(dim)[o] if o >= 0 else torch.ones(dim) for o in objects]
    return torch.stack(rows)


def test_prior_keeps_runs_longer_than_10_and_shorter_than_half_the_video():
    text = torch.eye(4)  # object k's text feature is axis k
    # 5 frames of object 0 (too short), 12 of object 1 (kept), 13 ambiguous (softmax 1/4 < 0.4)
    frames = frames_showing([0] * 5 + [1] * 12 + [-1] * 13)
    prior, mask = clip_prior(frames, text)
    expected = np.zeros(30)
    expected[5:17] = 1
    np.testing.assert_array_equal(prior.numpy(), expected)
    assert torch.equal(mask, prior.bool())
    # a run of exactly 10 is not "longer than 10"; a run of 11 in 20 frames is not < 0.5 T
    assert clip_prior(frames_showing([2] * 10 + [-1] * 20), text)[0].sum() == 0
    assert clip_prior(frames_showing([2] * 11 + [-1] * 9), text)[0].sum() == 0
    assert clip_prior(frames_showing([2] * 11 + [-1] * 12), text)[0].sum() == 11
    # exactly half the video is not "shorter than 0.5 T": 12 of 24 is dropped, 12 of 25 kept
    assert clip_prior(frames_showing([2] * 12 + [-1] * 12), text)[0].sum() == 0
    assert clip_prior(frames_showing([2] * 12 + [-1] * 13), text)[0].sum() == 12


def test_without_clip_logit_scale_nothing_passes_the_threshold():
    text = torch.eye(4)
    frames = frames_showing([1] * 12 + [-1] * 18)
    # a plain softmax of cosines over 4 objects: at most e / (e + 3) = 0.475 -> passes 0.4 here,
    # but with 100 objects (as the paper) it stays near 1 / 100: use 100 axes to show it
    text100, frames100 = torch.eye(100), torch.zeros(30, 100)
    frames100[:12, 1] = 1.0
    frames100[12:] = 1.0
    assert clip_prior(frames100, text100, logit_scale=1.0)[0].sum() == 0
    assert clip_prior(frames100, text100)[0].sum() == 12
    assert clip_prior(frames, text)[0].sum() == 12


def test_batch_prior_ignores_padding():
    text = torch.eye(4)
    video = frames_showing([1] * 12 + [-1] * 13)
    batch = torch.cat([video, torch.eye(4)[1].expand(10, 4)])[None]  # padding shows object 1
    valid = torch.arange(35)[None] < 25
    prior = clip_prior_batch(batch, valid, text)
    assert prior.shape == (1, 35) and prior[0, :12].sum() == 12 and prior[0, 12:].sum() == 0


def test_dimension_mismatch_is_a_config_error():
    with pytest.raises(ConfigError, match="same model"):
        clip_prior(torch.randn(20, 8), torch.randn(100, 4))


class FakeTextEncoder:
    name = "fake/clip"

    def __init__(self, weights: str):
        self.weights = weights
        self.calls = 0

    def describe(self):
        return {"model": self.name, "weights": self.weights}

    def encode_text(self, texts):
        self.calls += 1
        seed = sum(map(ord, self.weights))
        return torch.randn(len(texts), 6, generator=torch.Generator().manual_seed(seed)) * 3


def test_text_features_cached_per_encoder_weights(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"first")
    encoder = FakeTextEncoder(str(weights))
    first = prompt_text_features(encoder, cache_dir=tmp_path / "cache")
    assert first.shape == (100, 6)
    torch.testing.assert_close(first.norm(dim=-1), torch.ones(100))
    again = prompt_text_features(FakeTextEncoder(str(weights)), cache_dir=tmp_path / "cache")
    torch.testing.assert_close(again, first)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    # other weights contents -> another cache entry, computed afresh
    weights.write_bytes(b"second")
    other = FakeTextEncoder(str(weights))
    prompt_text_features(other, cache_dir=tmp_path / "cache")
    assert other.calls == 1 and len(list((tmp_path / "cache").iterdir())) == 2
    # random weights (no file) are never cached
    random = FakeTextEncoder("random")
    prompt_text_features(random, cache_dir=tmp_path / "cache")
    prompt_text_features(random, cache_dir=tmp_path / "cache")
    assert random.calls == 2


def test_load_text_features_files(tmp_path):
    np.save(tmp_path / "t.npy", np.full((3, 2), 2.0, dtype=np.float32))
    loaded = load_text_features(tmp_path / "t.npy")
    torch.testing.assert_close(loaded, torch.full((3, 2), 2**-0.5))
    with pytest.raises(ConfigError, match="not found"):
        load_text_features(tmp_path / "missing.pt")
