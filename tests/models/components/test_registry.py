import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA
from vsumlab.models.components.registry import (
    build_summarizer,
    summarizer_class,
    summarizer_class_path,
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


# ---------------------------------------------------------------- summarizers by class path
USER_NETS = '''
import torch
from torch import nn


class LinearNet(nn.Module):
    """A user's scorer: one linear layer over the features."""

    def __init__(self, input_dim, bias=True):
        super().__init__()
        self.linear = nn.Linear(input_dim, 1, bias=bias)

    def forward(self, features, mask):
        return self.linear(features).squeeze(-1).masked_fill(~mask, 0.0)


class LazyNet(nn.Module):
    """No input_dim argument: a lazy layer infers it from the first batch."""

    def __init__(self):
        super().__init__()
        self.linear = nn.LazyLinear(1)

    def forward(self, features, mask):
        return self.linear(features).squeeze(-1)


class KeepsLastDim(nn.Module):
    def __init__(self, input_dim):
        super().__init__()
        self.linear = nn.Linear(input_dim, 1)

    def forward(self, features, mask):
        return self.linear(features)


class Crashes(nn.Module):
    def __init__(self, input_dim):
        super().__init__()

    def forward(self, features, mask):
        raise RuntimeError("boom")


class NotAModule:
    def __init__(self, input_dim):
        pass
'''


@pytest.fixture
def user_nets(tmp_path, monkeypatch):
    """A module of summarizers outside the package, importable as ``user_nets``."""
    (tmp_path / "user_nets.py").write_text(USER_NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "user_nets"


def test_class_path_string_and_dict_forms_build_the_user_class(user_nets):
    by_string = build_summarizer(f"{user_nets}.LinearNet", 8, bias=False)
    by_dict = build_summarizer({"class_path": f"{user_nets}.LinearNet",
                                "init_args": {"bias": False}}, 8)
    for net in (by_string, by_dict):
        assert type(net).__qualname__ == "LinearNet" and net.linear.bias is None
        assert net.linear.in_features == 8
    assert summarizer_class_path({"class_path": f"{user_nets}.LinearNet"}) == "user_nets.LinearNet"
    assert summarizer_options(f"{user_nets}.LinearNet") == ["bias"]


def test_short_names_stay_aliases_also_in_the_dict_form():
    assert summarizer_class_path("transformer") == (
        "vsumlab.models.components.transformer_summarizer.TransformerSummarizer"
    )
    net = build_summarizer({"class_path": "csta", "init_args": {"trunk": "small"}}, 8)
    assert isinstance(net, CSTA)


def test_init_args_and_summarizer_args_merge_but_never_disagree(user_nets):
    spec = {"class_path": f"{user_nets}.LinearNet", "init_args": {"bias": False}}
    assert build_summarizer(spec, 4, bias=False).linear.bias is None
    with pytest.raises(ConfigError, match="bias given both in summarizer.init_args and "
                                          "summarizer_args with different values"):
        build_summarizer(spec, 4, bias=True)
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) d_model; allowed: bias \(another "
                                          r"network's summarizer_args\? set model.init_args"):
        build_summarizer(f"{user_nets}.LinearNet", 4, d_model=8)


def test_a_class_without_input_dim_is_built_and_its_lazy_layers_materialised(user_nets):
    net = build_summarizer(f"{user_nets}.LazyNet", 6)
    # the contract check ran one batch: the optimizer sees real parameters
    assert net.linear.weight.shape == (1, 6)


def test_contract_check_keeps_rng_and_training_mode(user_nets):
    torch.manual_seed(3)
    summarizer_class(f"{user_nets}.LinearNet")(4)  # the constructor alone, no check
    expected = torch.rand(3)
    torch.manual_seed(3)
    net = build_summarizer(f"{user_nets}.LinearNet", 4)
    # the check's random batch came from a forked generator: later draws are unchanged
    assert torch.equal(torch.rand(3), expected) and net.training


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("KeepsLastDim", r"must return float logits of shape \(B, T\) = \(2, 5\); it returned a "
                         r"torch.float32 tensor of shape \(2, 5, 1\)"),
        ("Crashes", r"forward\(features \(2, 5, 4\), mask \(2, 5\)\) failed: RuntimeError: boom"),
        ("NotAModule", "user_nets.NotAModule is not a torch.nn.Module class"),
        ("Missing", "module user_nets has no 'Missing'"),
    ],
)
def test_contract_violations_are_one_line_errors(user_nets, name, message):
    with pytest.raises(ConfigError, match=message) as info:
        build_summarizer(f"{user_nets}.{name}", 4)
    assert "\n" not in str(info.value)


def test_import_failure_names_the_module_and_the_fix():
    with pytest.raises(ConfigError, match=r"cannot import 'no_such_pkg.nets' for "
                                          r"no_such_pkg.nets.Net .*PYTHONPATH"):
        build_summarizer("no_such_pkg.nets.Net", 4)
    with pytest.raises(ConfigError, match="expected a short name"):
        build_summarizer({"init_args": {}}, 4)
    with pytest.raises(ConfigError, match="unknown key"):
        build_summarizer({"class_path": "csta", "args": {}}, 4)
