"""CSTA's GoogLeNet trunk starts from torchvision's ImageNet weights where the encoders find
them (the torch hub cache, or a given file), read with weights_only; never fetched unless asked."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import googlenet

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA
from vsumlab.video.encoders import EncoderError
from vsumlab.video.weights import DOWNLOAD_ENV


@pytest.fixture(scope="module")
def imagenet_layout():
    """A random state dict in the exact torchvision GoogLeNet layout (aux heads, fc)."""
    torch.manual_seed(6)
    return googlenet(weights=None, aux_logits=True, init_weights=False).state_dict()


def _trunk_tensors(model: CSTA) -> dict[str, torch.Tensor]:
    body = model.trunk.body
    return {
        "conv1.conv.weight": body[0].conv.weight,
        "conv1.bn.running_mean": body[0].bn.running_mean,
        "inception5b.branch4.1.conv.weight": body[15].branch4[1].conv.weight,
    }


def test_trunk_loads_imagenet_weights_from_the_hub_cache(hub, imagenet_layout):
    hub.parent.mkdir(parents=True)
    torch.save(imagenet_layout, hub)
    model = CSTA(16, trunk="googlenet", embed_dim=24)
    assert model.trunk_weights_used == str(hub)
    for key, tensor in _trunk_tensors(model).items():
        torch.testing.assert_close(tensor, imagenet_layout[key])
    required = CSTA(16, trunk="googlenet", embed_dim=24, trunk_weights="imagenet")
    assert required.trunk_weights_used == str(hub)


def test_trunk_from_a_given_file_and_random(hub, imagenet_layout, tmp_path):
    path = tmp_path / "googlenet.pth"
    torch.save(imagenet_layout, path)
    model = CSTA(16, trunk="googlenet", embed_dim=24, trunk_weights=str(path))
    assert model.trunk_weights_used == str(path)
    torch.testing.assert_close(model.trunk.body[0].conv.weight,
                               imagenet_layout["conv1.conv.weight"])
    hub.parent.mkdir(parents=True)
    torch.save(imagenet_layout, hub)
    random = CSTA(16, trunk="googlenet", embed_dim=24, trunk_weights="random")
    assert random.trunk_weights_used == "random"
    assert not torch.allclose(random.trunk.body[0].conv.weight,
                              imagenet_layout["conv1.conv.weight"])


def test_trunk_without_cached_weights_starts_random_and_never_fetches(hub):
    assert CSTA(16, trunk="googlenet", embed_dim=24).trunk_weights_used == "random"
    with pytest.raises(ConfigError) as info:
        CSTA(16, trunk="googlenet", trunk_weights="imagenet")
    message = str(info.value)
    assert "\n" not in message and "trunk_weights='imagenet' needs GoogLeNet ImageNet" in message
    assert str(hub) in message and DOWNLOAD_ENV in message


def test_trunk_weight_file_errors_are_one_line(hub, tmp_path):
    with pytest.raises(ConfigError, match="trunk_weights='.*none.pth': no such file"):
        CSTA(16, trunk="googlenet", trunk_weights=str(tmp_path / "none.pth"))
    other = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(2)}, other)
    with pytest.raises(EncoderError, match="not GoogLeNet weights"):
        CSTA(16, trunk="googlenet", trunk_weights=str(other))
    # weights_only: a pickled object is refused, never unpickled
    pickled = tmp_path / "object.pth"
    torch.save({"conv1.conv.weight": ConfigError("an arbitrary object")}, pickled)
    with pytest.raises(EncoderError) as info:
        CSTA(16, trunk="googlenet", trunk_weights=str(pickled))
    assert "not a readable PyTorch checkpoint" in str(info.value)
    with pytest.raises(ConfigError, match="trunk_weights='imagenet' needs trunk='googlenet'"):
        CSTA(16, trunk="small", trunk_weights="imagenet")
