"""Sentence embeddings are computed once per caption set and encoder, then reused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.text_encoder import TextFeatureCache, encoder_id

from .helpers import TINY, TINY_DIM


class CountingEncoder:
    """A deterministic stand-in text tower that records every sentence it encodes."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode_text(self, texts: list[str]) -> torch.Tensor:
        self.calls.append(list(texts))
        return torch.tensor([[len(t), t.count("a"), 1.0] for t in texts])


CAPTIONS = {
    "video_1": ["a dog runs", "a cat sleeps"],
    "video_2": ["a dog runs"],
    "video_3": [],
}


def test_each_distinct_sentence_is_encoded_once():
    encoder = CountingEncoder()
    cache = TextFeatureCache(encoder, identity="counting")
    features = cache.features(CAPTIONS)
    assert encoder.calls == [["a dog runs", "a cat sleeps"]]
    assert features["video_1"].shape == (2, 3) and features["video_3"].shape == (0, 3)
    np.testing.assert_allclose(features["video_2"][0], features["video_1"][0])
    # L2-normalised: "a dog runs" -> (10, 1, 1) / sqrt(102)
    np.testing.assert_allclose(features["video_2"][0], np.array([10, 1, 1]) / np.sqrt(102), rtol=1e-6)
    # a second epoch (or a query already seen) never reaches the encoder
    cache.features(CAPTIONS)
    cache.encode(["a cat sleeps"])
    assert cache.n_encoded == 2 and len(encoder.calls) == 1


def test_disk_cache_is_reused_without_building_the_encoder(tmp_path):
    first = TextFeatureCache(CountingEncoder(), identity="counting", cache_dir=tmp_path)
    expected = first.features(CAPTIONS)
    files = list(tmp_path.glob("text-counting-*.npz"))
    assert len(files) == 1

    def must_not_build():
        raise AssertionError("the encoder was built although the cache has this caption set")

    second = TextFeatureCache(must_not_build, identity="counting", cache_dir=tmp_path)
    loaded = second.features(CAPTIONS)
    assert second.n_encoded == 0 and set(loaded) == set(CAPTIONS)
    for key in CAPTIONS:
        np.testing.assert_array_equal(loaded[key], expected[key])
    # the cached set also warms the per-sentence cache used for queries
    np.testing.assert_array_equal(second.encode(["a cat sleeps"])[0], expected["video_1"][1])
    assert second.n_encoded == 0


def test_cache_keys_separate_caption_sets_and_encoders(tmp_path):
    cache = TextFeatureCache(CountingEncoder(), identity="counting", cache_dir=tmp_path)
    cache.features(CAPTIONS)
    cache.features({**CAPTIONS, "video_3": ["a new sentence"]})
    other = TextFeatureCache(CountingEncoder(), identity="other", cache_dir=tmp_path)
    other.features(CAPTIONS)
    assert len(list(tmp_path.glob("text-counting-*.npz"))) == 2
    assert len(list(tmp_path.glob("text-other-*.npz"))) == 1
    assert other.n_encoded == 2  # another encoder never reuses these embeddings


def test_encoder_identity_follows_the_weights_file(tmp_path):
    weights = tmp_path / "tower.bin"
    weights.write_bytes(b"12345")
    before = encoder_id("ViT-B-16", weights)
    weights.write_bytes(b"1234567")  # retrained weights: a new identity, a new cache entry
    assert encoder_id("ViT-B-16", weights) != before
    assert encoder_id("ViT-B-16") == "ViT-B-16@default"


def test_tiny_open_clip_tower_by_name_is_deterministic(tmp_path):
    """Random-weight towers are seeded, so training and a reloaded checkpoint agree."""
    sentences = ["a dog catches a frisbee", "a cat climbs a tree"]
    a = TextFeatureCache(TINY).encode(sentences)
    b = TextFeatureCache(TINY).encode(sentences)
    assert a.shape == (2, TINY_DIM)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert abs(float(a[0] @ a[1])) < 0.999  # different sentences, different embeddings


def test_bad_encoders_are_config_errors():
    with pytest.raises(ConfigError, match="cannot use 42 as a text encoder"):
        TextFeatureCache(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="factory encoder needs an explicit identity"):
        TextFeatureCache(CountingEncoder)
