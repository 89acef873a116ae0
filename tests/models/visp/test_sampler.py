"""The summary sampler (visp.txt eq. 6 and Table 1 variants)."""

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.visp import (
    SummarySampler,
    relaxed_summary,
    straight_through_bernoulli,
)

ALPHAS = torch.tensor([-2.0, -0.5, 0.0, 1.0, 2.5])
DRAWS = 20_000


def draws(method: str, temperature: float) -> torch.Tensor:
    torch.manual_seed(0)
    logits = ALPHAS.repeat(DRAWS, 1)
    return relaxed_summary(logits, torch.ones_like(logits, dtype=torch.bool), temperature, method)


@pytest.mark.parametrize("method", ["concrete", "gumbel"])
def test_zero_temperature_gives_bernoulli_with_sigmoid_alpha(method):
    y = draws(method, temperature=0.02)
    # Binary in the limit: almost every draw is within 0.01 of 0 or 1 ...
    near_binary = ((y < 0.01) | (y > 0.99)).float().mean().item()
    assert near_binary > 0.93
    # ... and P(y = 1) = sigmoid(alpha) (4 standard errors of 20k draws ~ 0.014).
    torch.testing.assert_close((y > 0.5).float().mean(0), torch.sigmoid(ALPHAS), atol=0.015, rtol=0)


@pytest.mark.parametrize("method", ["concrete", "gumbel"])
def test_high_temperature_concentrates_near_one_half(method):
    y = draws(method, temperature=50.0)
    assert (y - 0.5).abs().max().item() < 0.2
    assert (y - 0.5).abs().mean().item() < 0.03


def test_sigmoid_variant_is_deterministic():
    logits = torch.tensor([[-1.0, 0.0, 2.0]])
    y = relaxed_summary(logits, torch.ones(1, 3, dtype=torch.bool), 0.5, "sigmoid")
    torch.testing.assert_close(y, torch.sigmoid(logits / 0.5))


@pytest.mark.parametrize("method", ["concrete", "gumbel", "sigmoid"])
def test_padding_is_zero_and_gradients_flow(method):
    logits = torch.randn(2, 4, requires_grad=True)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    y = relaxed_summary(logits, mask, 0.5, method)
    assert torch.all(y[~mask] == 0) and torch.all((y[mask] > 0) & (y[mask] < 1))
    y.sum().backward()
    assert torch.all(logits.grad[mask] != 0) and torch.all(logits.grad[~mask] == 0)


def test_straight_through_forward_is_binary_backward_is_identity():
    torch.manual_seed(0)
    y = torch.tensor([0.0, 1.0, 0.3, 0.7], requires_grad=True)
    out = straight_through_bernoulli(y)
    assert set(out.tolist()) <= {0.0, 1.0}
    assert out[0].item() == 0.0 and out[1].item() == 1.0
    (out * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    torch.testing.assert_close(y.grad, torch.tensor([1.0, 2.0, 3.0, 4.0]))


def test_straight_through_keeps_each_step_with_probability_y():
    torch.manual_seed(0)
    y = torch.full((DRAWS,), 0.3)
    assert straight_through_bernoulli(y).mean().item() == pytest.approx(0.3, abs=0.015)


def test_ste_sampler_returns_binary_summary_and_relaxed_penalty_input():
    torch.manual_seed(0)
    sampler = SummarySampler("concrete", "ste", temperature=0.5)
    mask = torch.tensor([[True, True, True, False]])
    y, soft = sampler(torch.randn(1, 4), mask)
    assert set(y[mask].tolist()) <= {0.0, 1.0} and y[0, 3] == 0
    assert torch.all((soft[mask] > 0) & (soft[mask] < 1))


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="reparameterization='bernoulli'.*concrete, gumbel, sigmoid"):
        SummarySampler("bernoulli")
    with pytest.raises(ConfigError, match="gradient_flow='mask'.*gating, marginalization, ste"):
        SummarySampler(gradient_flow="mask")
    with pytest.raises(ConfigError, match="temperature=0"):
        SummarySampler(temperature=0)
