from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from torchvision.models import GoogLeNet

from vsumlab.errors import ConfigError
from vsumlab.video.encoders import (
    TINY_CLIP,
    EncoderError,
    build_encoder,
    build_text_encoder,
)


def _frames(n: int = 3, h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_colorhist_hand_computed():
    enc = build_encoder("colorhist", bins=2)
    assert enc.dim == 8
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    frames[0] = (200, 10, 10)  # bins (1, 0, 0) -> cell 4
    frames[1, :, :2] = (10, 10, 10)  # half cell 0
    frames[1, :, 2:] = (255, 255, 255)  # half cell 7
    feats = enc.encode(enc.preprocess(frames)).numpy()
    expected = np.zeros((2, 8), np.float32)
    expected[0, 4] = 1.0
    expected[1, [0, 7]] = np.sqrt(0.5)  # sqrt of the normalised counts
    np.testing.assert_allclose(feats, expected, atol=1e-6)
    # the dot product is the Bhattacharyya coefficient: 1 for a frame with itself
    np.testing.assert_allclose((feats * feats).sum(1), [1.0, 1.0], atol=1e-6)


def test_colorhist_rejects_weights_and_unknown_options():
    with pytest.raises(ConfigError, match="no weights"):
        build_encoder("colorhist", weights="x.pt")
    with pytest.raises(ConfigError, match="unknown option"):
        build_encoder("colorhist", colour_space="hsv")


def test_tiny_clip_shapes_determinism_and_bf16():
    torch.manual_seed(0)
    enc = build_encoder(TINY_CLIP)
    assert (enc.dim, enc.input_size, enc.weights) == (32, 32, "random")
    batch = enc.preprocess(_frames())
    assert batch.shape == (3, 3, 32, 32) and batch.dtype == torch.float32
    feats = enc.encode(batch)
    assert feats.shape == (3, 32) and feats.dtype == torch.float32
    torch.testing.assert_close(enc.encode(batch), feats)  # eval mode: no dropout
    enc.bf16 = True
    low = enc.encode(batch)
    assert low.dtype == torch.float32
    # bf16 keeps ~3 significant digits: the features agree to a few percent of their scale
    assert (low - feats).abs().max() < 0.05 * feats.abs().max()


def test_open_clip_weights_from_a_local_file(tmp_path):
    torch.manual_seed(1)
    reference = build_encoder(TINY_CLIP)
    model = open_clip.create_model(TINY_CLIP, pretrained=None)
    path = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), path)
    loaded = build_encoder(TINY_CLIP, weights=str(path))
    batch = loaded.preprocess(_frames())
    expected = model.eval().encode_image(batch)
    torch.testing.assert_close(loaded.encode(batch), expected.detach())
    # a different random model gives different features: the file was really used
    assert not torch.allclose(reference.encode(batch), expected.detach())
    assert loaded.describe() == {"model": TINY_CLIP, "weights": str(path), "dim": 32}


def test_open_clip_never_downloads_and_explains(tmp_path):
    with pytest.raises(EncoderError, match="not in the local cache.*--weights PATH"):
        build_encoder("ViT-B-16")  # default tag 'openai', absent from this machine's cache
    with pytest.raises(EncoderError, match="no such file, and not a pretrained tag"):
        build_encoder("ViT-B-16", weights=str(tmp_path / "missing.bin"))
    with pytest.raises(ConfigError, match="unknown encoder model 'resnet9000'"):
        build_encoder("resnet9000")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"garbage")
    with pytest.raises(EncoderError, match="cannot load into"):
        build_encoder(TINY_CLIP, weights=str(bad))


@pytest.fixture(scope="module")
def googlenet_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[GoogLeNet, str]:
    torch.manual_seed(2)
    net = GoogLeNet(aux_logits=True, transform_input=True, init_weights=True).eval()
    path = tmp_path_factory.mktemp("weights") / "googlenet.pth"
    torch.save(net.state_dict(), path)  # the torchvision file layout, aux heads included
    return net, str(path)


@pytest.mark.slow  # first GoogLeNet forward pays oneDNN warm-up: 1-7 s on the shared 2 cores
def test_googlenet_pool5_from_a_local_file(googlenet_file):
    net, path = googlenet_file
    enc = build_encoder("googlenet", weights=path, image_size=32)
    assert (enc.dim, enc.input_size) == (1024, 37)  # torchvision's 256/224 resize ratio
    batch = enc.preprocess(_frames(n=2))
    assert batch.shape == (2, 3, 32, 32)
    feats = enc.encode(batch)
    # pool5 = the input of the classifier: fc(pool5) must reproduce the full network's logits
    with torch.no_grad():
        logits = net(batch)
        torch.testing.assert_close(net.fc(feats), logits, atol=1e-4, rtol=1e-4)
    assert feats.shape == (2, 1024) and torch.all(feats >= 0)  # after ReLU and average pool


def test_googlenet_weights_errors(tmp_path):
    with pytest.raises(EncoderError, match="GoogLeNet weights not found at .*--weights PATH"):
        build_encoder("googlenet")  # not in this machine's torch hub cache
    with pytest.raises(EncoderError, match="weights file not found"):
        build_encoder("googlenet", weights=str(tmp_path / "none.pth"))
    other = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(2)}, other)
    with pytest.raises(EncoderError, match="not GoogLeNet weights"):
        build_encoder("googlenet", weights=str(other))


def test_preprocess_rejects_wrong_frames():
    enc = build_encoder("colorhist")
    with pytest.raises(EncoderError, match=r"expected uint8 array \(N, H, W, 3\)"):
        enc.preprocess(np.zeros((2, 8, 8), np.uint8))


def test_text_encoder_tiny_clip():
    torch.manual_seed(3)
    text = build_text_encoder(TINY_CLIP)
    feats = text.encode_text(["An image of apple.", "An image of bicycle.", "An image of apple."])
    assert feats.shape == (3, 32) and text.dim == 32
    torch.testing.assert_close(feats[0], feats[2])
    assert not torch.allclose(feats[0], feats[1])
    assert text.encode_text([]).shape == (0, 32)
    with pytest.raises(EncoderError, match="list of strings"):
        text.encode_text("apple")
    with pytest.raises(ConfigError, match="no text tower"):
        build_text_encoder("googlenet")


def test_open_clip_tag_is_found_in_the_local_hf_cache(tmp_path, monkeypatch):
    """A pretrained tag resolves to the Hugging Face cache layout, never to a download."""
    import huggingface_hub.constants
    import open_clip.pretrained

    tag_cfg = {"hf_hub": "vsumlab/tiny-clip/", "mean": (0.5, 0.5, 0.5), "std": (0.25,) * 3,
               "quick_gelu": True}
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY_CLIP, {"unit": tag_cfg})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(EncoderError, match="weights 'unit' are not in the local cache"):
        build_encoder(TINY_CLIP, weights="unit")
    # the layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<rev>/file}
    repo = tmp_path / "models--vsumlab--tiny-clip"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    torch.manual_seed(4)
    model = open_clip.create_model(TINY_CLIP, pretrained=None, force_quick_gelu=True)
    torch.save(model.state_dict(), snapshot / "open_clip_pytorch_model.bin")
    enc = build_encoder(TINY_CLIP, weights="unit")
    assert enc.weights == f"unit:{snapshot / 'open_clip_pytorch_model.bin'}"
    assert (enc.mean, enc.std) == ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))  # the tag's own
    batch = enc.preprocess(_frames())
    torch.testing.assert_close(enc.encode(batch), model.eval().encode_image(batch).detach())
