from pathlib import Path

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA, GoogLeNetTrunk
from vsumlab.training.recipes import compose_recipe

from .summarizer_checks import (
    assert_all_parameters_get_gradients,
    assert_padding_invariant,
    fit_planted,
)


def small(**kwargs) -> CSTA:
    torch.manual_seed(0)
    args = dict(trunk_channels=4, head_hidden=16, embed_dim=None)
    args.update(kwargs)
    return CSTA(16, **args)


def test_shapes_and_dims():
    model = small(embed_dim=12)
    assert model.input_dim == 16 and model.encode_dim == 12
    mask = torch.ones(2, 9, dtype=torch.bool)
    assert model(torch.randn(2, 9, 16), mask).shape == (2, 9)
    assert model.encode(torch.randn(2, 9, 16), mask).shape == (2, 12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"embed_dim": 12, "image_channels": 3, "combine": "product"},
        {"trunk_layers": 1, "kernel_size": 5, "scale_attention": False, "positional": "none"},
        {"residual": False, "trunk_layers": 4},
        {"cls_readout": "row", "scale_attention": False},
    ],
)
def test_padding_invariance(kwargs):
    # The CNN sees neighbouring rows: padded rows must behave like the end of a single video.
    assert_padding_invariant(small(**kwargs), 16)


def test_padding_invariance_googlenet_trunk():
    assert_padding_invariant(small(trunk="googlenet", embed_dim=24), 16, lengths=(5, 40, 17))


def test_googlenet_batchnorm_stays_on_running_statistics():
    model = small(trunk="googlenet")
    model.train()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert model.head.training


def test_gradients_reach_every_parameter():
    assert_all_parameters_get_gradients(small(dropout=0.0, embed_dim=12, image_channels=3), 16)


def zero_trunk(model: CSTA) -> CSTA:
    for conv in model.trunk.convs:
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    return model


@pytest.mark.parametrize("readout", ["pool", "row"])
def test_attention_maps_by_hand(readout):
    # With a zero trunk output both softmax maps are uniform; scaled by their axis lengths they
    # are all ones, so the sum is 2 everywhere and the step state is 2 * value(x) + x (no PE).
    model = zero_trunk(small(positional="none", dropout=0.0, cls_readout=readout))
    x = torch.randn(1, 4, 16)
    cls, states = model.hidden(x, torch.ones(1, 4, dtype=torch.bool))
    torch.testing.assert_close(states, 2 * model.value(x) + x)
    if readout == "row":
        expected = 2 * model.value(model.cls) + model.cls
    else:  # uniform time weights: the mean value over the 5 rows (CLS + 4 steps)
        rows = torch.cat([model.cls[None], x[0]])
        expected = model.value(rows).mean(0) + model.cls
    torch.testing.assert_close(cls[0], expected)


def test_pooled_cls_weights_rows_by_time_softmax():
    # Pool readout without scaling: sum_t softmax_t(M)[t, d] * value[t, d] + input CLS row.
    model = small(positional="none", dropout=0.0, scale_attention=False)
    x = torch.randn(1, 6, 16)
    mask = torch.ones(1, 6, dtype=torch.bool)
    rows = torch.cat([model.cls[None], x[0]])[None]
    logits = model.trunk(rows[:, None], torch.ones(1, 7, dtype=torch.bool))
    expected = (torch.softmax(logits, dim=1) * model.value(rows)).sum(1) + model.cls
    torch.testing.assert_close(model.encode(x, mask), expected)


def test_bad_config_is_rejected():
    with pytest.raises(ConfigError, match="trunk='resnet'.*small, googlenet"):
        CSTA(16, trunk="resnet")
    with pytest.raises(ConfigError, match="image_channels=2"):
        CSTA(16, image_channels=2)
    with pytest.raises(ConfigError, match="kernel_size=4"):
        CSTA(16, kernel_size=4)


def test_wrong_feature_dim_names_both_shapes():
    with pytest.raises(ConfigError, match=r"\(batch, steps, 16\).*\(1, 5, 3\)"):
        small()(torch.randn(1, 5, 3), torch.ones(1, 5, dtype=torch.bool))


def test_overfits_planted_segments():
    torch.manual_seed(0)
    model = CSTA(32, trunk_channels=4, head_hidden=32)  # default embed_dim: projected to 128
    mse, baseline = fit_planted(model, steps=120, lr=3e-3)
    # Predicting the mean score gives baseline ~0.17; the model must get 10x below it.
    assert baseline > 0.1
    assert mse < baseline / 10, (mse, baseline)


# ------------------------------------------------------------------ CSTA as published
PAPER_MODEL = Path(__file__).resolve().parents[3] / "experiments" / "_base" / "model_csta_paper.yaml"
# torchvision GoogLeNet without aux heads: 6,624,904 parameters, of which the 1000-class fc holds
# 1024 * 1000 + 1000; the body up to inception5b is the rest.
GOOGLENET_BODY = 6_624_904 - (1024 * 1000 + 1000)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_recipe_builds_the_published_widths():
    init = compose_recipe(PAPER_MODEL)["model"]["init_args"]
    assert (init["lr"], init["weight_decay"], init["input_dim"]) == (1e-3, 1e-7, 1024)
    # the recipe requires ImageNet weights (test_csta_weights.py); the widths do not depend on them
    assert init["summarizer_args"]["trunk_weights"] == "imagenet"
    model = CSTA(init["input_dim"], **{**init["summarizer_args"], "trunk_weights": "random"})
    assert isinstance(model.trunk, GoogLeNetTrunk) and model.trunk.to_map is None
    assert count(model.trunk) == GOOGLENET_BODY == 5_599_904
    linear = 1024 * 1024 + 1024
    assert count(model.project) == count(model.value) == linear  # key / value embeddings
    assert model.head[1].in_features == model.head[1].out_features == 1024
    assert count(model.head) == 2 * 1024 + linear + (1024 + 1)
    assert count(model) == GOOGLENET_BODY + 2 * linear + 1024 + count(model.head)  # + CLS row
    assert model.image_channels == 3 and model.dropout.p == 0.6
    assert (model.combine, model.scale_attention, model.positional) == ("sum", False, "sinusoidal")


@pytest.mark.parametrize("dataset", ["tvsum", "summe"])
def test_paper_cv_recipes_train_as_csta_did(dataset):
    recipe = compose_recipe(PAPER_MODEL.parents[1] / "supervised" / f"csta_{dataset}_paper.yaml")
    assert recipe["trainer"]["max_epochs"] == 100 and recipe["data"]["init_args"]["batch_size"] == 1
    assert recipe["model"]["init_args"]["summarizer_args"]["trunk"] == "googlenet"
    demo = compose_recipe(PAPER_MODEL.parents[1] / "supervised" / f"csta_{dataset}.yaml")
    assert demo["model"]["init_args"]["summarizer_args"]["trunk"] == "small"  # CPU demo stays


def test_googlenet_channels_are_the_feature_axis():
    torch.manual_seed(0)
    model = CSTA(8, embed_dim=1024, trunk="googlenet", googlenet_readout="channels", head_hidden=8)
    model.eval()
    x, mask = torch.randn(2, 6, 8), torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    assert model(x, mask).shape == (2, 6)
    rows = torch.cat([torch.ones(2, 1, dtype=torch.bool), mask], 1)
    image = model.project(x).new_zeros(2, 3, 7, 1024)
    maps = model.trunk(image, rows)
    assert maps.shape == (2, 7, 1024) and torch.all(maps[1, 5:] == 0)
    # channel c of GoogLeNet, averaged over the feature-map width, is feature column c
    image = torch.randn(1, 3, 40, 1024)
    with torch.no_grad():
        body = model.trunk.body(image)  # (1, 1024, 2, 32)
        maps = model.trunk(image, torch.ones(1, 40, dtype=torch.bool))
    expected = torch.nn.functional.adaptive_avg_pool2d(body, (40, 1))[0, :, :, 0].T
    # relative tolerance only: an untrained body's activations are tiny (std-0.01 init)
    assert expected.abs().max() > 0 and expected[:, :512].ne(expected[:, 512:]).any()
    torch.testing.assert_close(maps[0], expected, atol=0, rtol=1e-4)
    torch.testing.assert_close(maps[0, 0], body[0, :, 0, :].mean(-1), atol=0, rtol=1e-4)
    with pytest.raises(ConfigError, match="googlenet_readout='channels'.*width is 128"):
        CSTA(8, embed_dim=128, trunk="googlenet", googlenet_readout="channels")


class FixedTrunk(torch.nn.Module):
    """Stands in for the CNN: returns given attention logits (B, T+1, E)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, image: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return self.logits


@pytest.mark.parametrize("combine", ["sum", "product"])
@pytest.mark.parametrize("scale", [True, False])
def test_softmax_axes_combination_and_scaling_by_hand(combine, scale):
    # Non-uniform logits pin which axis each softmax runs over (time: rows, feature: columns),
    # how the two maps combine, their scaling by the axis length, and the CLS pooling.
    torch.manual_seed(1)
    model = small(positional="none", dropout=0.0, combine=combine, scale_attention=scale)
    rows, width = 4, 16  # CLS + 3 steps
    logits = torch.randn(1, rows, width) * 2
    model.trunk = FixedTrunk(logits)
    x = torch.randn(1, 3, width)
    cls, states = model.hidden(x, torch.ones(1, 3, dtype=torch.bool))
    image = torch.cat([model.cls[None, None], x], dim=1)
    over_time = torch.softmax(logits, dim=1) * (rows if scale else 1)
    over_feat = torch.softmax(logits, dim=2) * (width if scale else 1)
    attention = over_time + over_feat if combine == "sum" else over_time * over_feat
    values = model.value(image)
    torch.testing.assert_close(states, (attention * values + image)[:, 1:])
    pooled = (over_time * values).sum(1) / (rows if scale else 1)
    torch.testing.assert_close(cls, pooled + image[:, 0])


def test_padded_rows_get_no_time_attention():
    model = small(positional="none", dropout=0.0, scale_attention=False)
    logits = torch.zeros(1, 5, 16)
    logits[0, 4] = 50.0  # a padded row with a huge logit must not draw the time softmax
    model.trunk = FixedTrunk(logits)
    x = torch.randn(1, 4, 16)
    cls, _ = model.hidden(x, torch.tensor([[True, True, True, False]]))
    # uniform time weights over the 4 valid rows (CLS + 3 steps): the CLS state is their mean
    # value plus the CLS row (residual); the padded row takes no weight
    valid = torch.cat([model.cls[None], x[0, :3]])
    torch.testing.assert_close(cls[0], model.value(valid).mean(0) + model.cls)
