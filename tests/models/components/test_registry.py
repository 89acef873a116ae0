import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA
from vsumlab.models.components.registry import (
    build_summarizer,
    summarizer_names,
    summarizer_options,
)
from vsumlab.models.components.transformer_summarizer import TransformerSummarizer


def test_names():
    assert summarizer_names() == ["csta", "transformer"]


@pytest.mark.parametrize(
    ("name", "cls", "kwargs"),
    [("transformer", TransformerSummarizer, {"d_model": 16, "n_heads": 2}), ("csta", CSTA, {})],
)
def test_builds_with_kwargs(name, cls, kwargs):
    model = build_summarizer(name, 8, **kwargs)
    assert isinstance(model, cls) and model.input_dim == 8
    out = model(torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool))
    assert out.shape == (2, 5)


def test_unknown_name_lists_allowed():
    with pytest.raises(ConfigError, match=r"unknown summarizer 'lstm'; expected one of csta, transformer"):
        build_summarizer("lstm", 8)


def test_unknown_kwarg_names_it_and_allowed():
    with pytest.raises(ConfigError, match=r"'csta': unknown argument\(s\) d_model, nheads; allowed: .*trunk"):
        build_summarizer("csta", 8, d_model=4, nheads=2)


def test_options_exclude_input_dim():
    options = summarizer_options("transformer")
    assert "input_dim" not in options and "d_model" in options
