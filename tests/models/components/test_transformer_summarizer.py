import math

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.transformer_summarizer import (
    TransformerSummarizer,
    sinusoidal_positions,
)

from .summarizer_checks import (
    assert_all_parameters_get_gradients,
    assert_padding_invariant,
    fit_planted,
)


def small(**kwargs) -> TransformerSummarizer:
    torch.manual_seed(0)
    args = dict(d_model=32, n_heads=4, n_layers=2, dim_feedforward=64, head_hidden=32)
    args.update(kwargs)
    return TransformerSummarizer(16, **args)


def test_shapes_and_input_dim():
    model = small()
    assert model.input_dim == 16
    out = model(torch.randn(3, 11, 16), torch.ones(3, 11, dtype=torch.bool))
    assert out.shape == (3, 11)
    assert model.encode(torch.randn(3, 11, 16), torch.ones(3, 11, dtype=torch.bool)).shape == (3, 32)


@pytest.mark.parametrize("cls_token", [False, True])
@pytest.mark.parametrize("positional", ["sinusoidal", "learned", "none"])
def test_padding_invariance(cls_token, positional):
    assert_padding_invariant(small(cls_token=cls_token, positional=positional), 16)


def test_gradients_reach_every_parameter():
    assert_all_parameters_get_gradients(small(dropout=0.0, positional="learned"), 16)


def test_sinusoidal_positions_by_hand():
    table = sinusoidal_positions(3, 4)
    # position 2, pair 1: frequency 10000^(-2/4) = 0.01
    assert table[2, 2].item() == pytest.approx(math.sin(2 * 0.01), abs=1e-6)
    assert table[2, 3].item() == pytest.approx(math.cos(2 * 0.01), abs=1e-6)
    assert table[1, 0].item() == pytest.approx(math.sin(1.0), abs=1e-6)


def test_wrong_feature_dim_names_both_shapes():
    with pytest.raises(ConfigError, match=r"\(batch, steps, 16\).*\(2, 5, 8\)"):
        small()(torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool))


def test_bad_config_is_rejected():
    with pytest.raises(ConfigError, match="divisible"):
        TransformerSummarizer(16, d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="positional='rope'"):
        TransformerSummarizer(16, positional="rope")


def test_learned_positions_reject_too_long_videos():
    model = small(positional="learned", max_len=8)
    with pytest.raises(ConfigError, match="max_len=8"):
        model(torch.randn(1, 9, 16), torch.ones(1, 9, dtype=torch.bool))


def test_overfits_planted_segments():
    model = TransformerSummarizer(32, d_model=32, n_heads=4, dim_feedforward=64, head_hidden=32)
    mse, baseline = fit_planted(model, steps=120, lr=3e-3)
    # Predicting the mean score gives baseline ~0.17; the model must get 10x below it.
    assert baseline > 0.1
    assert mse < baseline / 10, (mse, baseline)
