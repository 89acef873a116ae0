"""Named pretrained weights missing from the cache: fetched by open_clip / torch.hub only on the
user's opt-in; otherwise, or offline, a one-line error. The fetch functions are replaced here,
so nothing ever reaches the network."""

from __future__ import annotations

import open_clip
import open_clip.pretrained
import pytest
import torch
from torchvision.models import GoogLeNet

from vsumlab.cli.main import main
from vsumlab.video.encoders import (
    TINY_CLIP,
    EncoderError,
    build_encoder,
    build_text_encoder,
    googlenet_cache_file,
)
from vsumlab.video.weights import DOWNLOAD_ENV, GOOGLENET_FILE, download_allowed

TAG = "unit"


def test_opt_in_is_the_flag_else_the_environment(monkeypatch):
    monkeypatch.delenv(DOWNLOAD_ENV, raising=False)
    assert download_allowed() is False and download_allowed(True) is True
    monkeypatch.setenv(DOWNLOAD_ENV, "1")
    assert download_allowed() is True and download_allowed(False) is False
    monkeypatch.setenv(DOWNLOAD_ENV, "0")
    assert download_allowed() is False


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.fixture
def tiny_tag(tmp_path, monkeypatch):
    """A pretrained tag of the tiny CLIP model on the HF hub, an empty HF cache, and open_clip's
    download function replaced by a recorder (``calls``) that fails unless given a file."""
    import huggingface_hub
    import huggingface_hub.constants

    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY_CLIP,
                        {TAG: {"hf_hub": "vsumlab/tiny-clip/"}})
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls: list[dict] = []
    state = {"result": None}

    def fake_download(cfg, prefer_hf_hub=True, cache_dir=None):
        calls.append(cfg)
        if isinstance(state["result"], Exception):
            raise state["result"]
        if state["result"] is None:
            raise AssertionError("a fetch was attempted")
        return state["result"]

    def no_network(*args, **kwargs):
        raise AssertionError("huggingface_hub was asked to download")

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", fake_download)
    monkeypatch.setattr(open_clip.factory, "download_pretrained", fake_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_network)
    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", no_network, raising=False)
    return calls, state


def test_open_clip_tag_missing_without_opt_in_never_fetches(tiny_tag):
    calls, _ = tiny_tag
    with pytest.raises(EncoderError) as info:
        build_encoder(TINY_CLIP, weights=TAG)
    message = _one_line(info)
    assert f"weights '{TAG}' are not in the local cache" in message
    assert "--download-weights" in message and DOWNLOAD_ENV in message
    with pytest.raises(EncoderError):
        build_text_encoder(TINY_CLIP, weights=TAG)
    assert calls == []


def test_open_clip_tag_opt_in_uses_open_clips_download(tiny_tag, tmp_path, monkeypatch):
    calls, state = tiny_tag
    torch.manual_seed(4)
    model = open_clip.create_model(TINY_CLIP, pretrained=None).eval()
    fetched = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(model.state_dict(), fetched)
    state["result"] = str(fetched)

    encoder = build_encoder(TINY_CLIP, weights=TAG, download=True)
    assert encoder.weights == f"{TAG}:{fetched}" and calls == [{"hf_hub": "vsumlab/tiny-clip/"}]
    batch = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(encoder.encode(batch), model.encode_image(batch).detach())

    monkeypatch.setenv(DOWNLOAD_ENV, "1")  # the environment opt-in reaches text encoders too
    text = build_text_encoder(TINY_CLIP, weights=TAG)
    assert text.weights == f"{TAG}:{fetched}" and len(calls) == 2


def test_open_clip_opt_in_but_offline_is_one_line(tiny_tag, monkeypatch):
    calls, state = tiny_tag
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderError) as info:
        build_encoder(TINY_CLIP, weights=TAG, download=True)
    assert "HF_HUB_OFFLINE is set" in _one_line(info) and calls == []

    monkeypatch.delenv("HF_HUB_OFFLINE")
    state["result"] = OSError("[Errno 101] Network is unreachable\nretries exhausted")
    with pytest.raises(EncoderError) as info:
        build_encoder(TINY_CLIP, weights=TAG, download=True)
    message = _one_line(info)
    assert "open_clip could not fetch them ([Errno 101] Network is unreachable)" in message
    assert len(calls) == 1


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache and torch.hub's download replaced by a recorder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert str(googlenet_cache_file()).startswith(str(tmp_path))
    calls: list[str] = []
    state = {"result": None}

    def fake_fetch(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                   file_name=None, weights_only=False):
        calls.append(url)
        if isinstance(state["result"], Exception):
            raise state["result"]
        if state["result"] is None:
            raise AssertionError("a fetch was attempted")
        googlenet_cache_file().parent.mkdir(parents=True, exist_ok=True)
        torch.save(state["result"], googlenet_cache_file())
        return state["result"]

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_fetch)
    return calls, state


def test_googlenet_missing_without_opt_in_never_fetches(hub):
    calls, _ = hub
    with pytest.raises(EncoderError) as info:
        build_encoder("googlenet")
    message = _one_line(info)
    assert "GoogLeNet weights not found at" in message and "--download-weights" in message
    assert calls == []


def test_googlenet_opt_in_fetches_through_torch_hub(hub):
    from torchvision.models import GoogLeNet_Weights

    calls, state = hub
    torch.manual_seed(5)
    net = GoogLeNet(aux_logits=True, transform_input=True, init_weights=False)
    state["result"] = net.state_dict()
    encoder = build_encoder("googlenet", download=True)
    assert calls == [GoogLeNet_Weights.IMAGENET1K_V1.url]
    assert GoogLeNet_Weights.IMAGENET1K_V1.url.endswith(GOOGLENET_FILE)
    assert encoder.weights == str(googlenet_cache_file())
    torch.testing.assert_close(encoder.model.conv1.conv.weight, net.conv1.conv.weight)
    # cached now: the next build reads the file without fetching
    build_encoder("googlenet")
    assert len(calls) == 1


def test_googlenet_opt_in_but_offline_is_one_line(hub):
    from urllib.error import URLError

    calls, state = hub
    state["result"] = URLError("[Errno -3] Temporary failure in name resolution")
    with pytest.raises(EncoderError) as info:
        build_encoder("googlenet", download=True)
    message = _one_line(info)
    assert "torch.hub could not fetch" in message and "name resolution" in message
    assert len(calls) == 1


def test_cli_download_flag_reaches_the_encoder(hub, tmp_path, capsys):
    from urllib.error import URLError

    calls, state = hub
    state["result"] = URLError("offline")
    videos = tmp_path / "videos"
    videos.mkdir()
    argv = ["features", "extract", str(videos), "--out", str(tmp_path / "f.h5"),
            "--model", "googlenet"]
    assert main(argv) == 2 and calls == []  # no flag: no fetch
    assert main([*argv, "--download-weights"]) == 2 and len(calls) == 1
    err = capsys.readouterr().err
    assert "torch.hub could not fetch" in err and "Traceback" not in err
