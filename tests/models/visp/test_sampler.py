"""The summary sampler (visp.txt eq. 6 and Table 1 variants)."""

import pytest
import torch

from vsumlab.errors import ConfigError
from vsumlab.models.components.visp import (
    REPARAMETERIZATIONS,
    SummarySampler,
    gumbel_keep_drop,
    relaxed_summary,
    straight_through_bernoulli,
    subset_draws,
)

ALPHAS = torch.tensor([-2.0, -0.5, 0.0, 1.0, 2.5])
DRAWS = 20_000


def draws(method: str, temperature: float, alphas: torch.Tensor = ALPHAS, **kwargs) -> torch.Tensor:
    torch.manual_seed(0)
    logits = alphas.repeat(DRAWS, 1)
    mask = torch.ones_like(logits, dtype=torch.bool)
    return relaxed_summary(logits, mask, temperature, method, **kwargs)


def test_zero_temperature_gives_bernoulli_with_sigmoid_alpha():
    y = draws("concrete", temperature=0.02)
    # Binary in the limit: almost every draw is within 0.01 of 0 or 1 ...
    near_binary = ((y < 0.01) | (y > 0.99)).float().mean().item()
    assert near_binary > 0.93
    # ... and P(y = 1) = sigmoid(alpha) (4 standard errors of 20k draws ~ 0.014).
    torch.testing.assert_close((y > 0.5).float().mean(0), torch.sigmoid(ALPHAS), atol=0.015, rtol=0)


def test_high_temperature_concentrates_near_one_half():
    y = draws("concrete", temperature=50.0)
    assert (y - 0.5).abs().max().item() < 0.2
    assert (y - 0.5).abs().mean().item() < 0.03


# Our extra, the Gumbel-Softmax subset sampler: k categorical draws over the frames, soft union.
# sum sigmoid(ALPHAS) = 0.119 + 0.378 + 0.5 + 0.731 + 0.924 = 2.65 -> k = 3 draws.
K = 3


def test_gumbel_draws_by_hand():
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    logits = torch.stack([ALPHAS, torch.tensor([3.0, 3.0, 3.0, 9.0, 9.0])])
    # expected size: 2.65 -> 3; 3 * sigmoid(3) = 2.86 -> 3 (padded 9s ignored)
    assert subset_draws(logits, mask).tolist() == [K, 3]
    assert subset_draws(torch.full((1, 5), -9.0), mask[:1]).tolist() == [1]  # at least 1
    # a share of the frames: round(0.5 * 5) = 2 (half to even), round(0.5 * 3) = 2; 1.0 -> T
    assert subset_draws(logits, mask, 0.5).tolist() == [2, 2]
    assert subset_draws(logits, mask, 0.3).tolist() == [2, 1]
    assert subset_draws(logits, mask, 1.0).tolist() == [5, 3]


def test_gumbel_zero_temperature_is_a_k_draw_categorical_union():
    y = draws("gumbel_subset", temperature=0.02)
    near_binary = ((y < 0.01) | (y > 0.99)).float().mean().item()
    assert near_binary > 0.95
    # P(frame t kept) = 1 - (1 - pi_t)^k with pi = softmax(alpha) and k = 3
    pi = torch.softmax(ALPHAS, 0)
    torch.testing.assert_close(
        (y > 0.5).float().mean(0), 1 - (1 - pi) ** K, atol=0.015, rtol=0
    )
    # every hard sample keeps between 1 and k frames
    kept = (y > 0.5).sum(1)
    assert kept.min().item() >= 1 and kept.max().item() <= K


@pytest.mark.parametrize("method", ["concrete", "gumbel", "gumbel_subset"])
def test_higher_score_is_selected_more_often(method):
    # orientation: alpha is the score of keeping a frame, for both relaxations
    frequency = (draws(method, temperature=0.1) > 0.5).float().mean(0)
    assert torch.all(frequency[1:] > frequency[:-1] + 0.02), frequency


def test_gumbel_high_temperature_gives_the_uniform_union():
    # lambda -> infinity: every draw is the uniform 1/T over frames; y = 1 - (1 - 1/5)^3
    y = draws("gumbel_subset", temperature=1e4)
    torch.testing.assert_close(y, torch.full_like(y, 1 - 0.8**K), atol=2e-3, rtol=0)


def test_gumbel_subset_and_concrete_sample_distributions_differ():
    # All frames equally likely (alpha = 0, T = 10): concrete keeps each frame by an
    # independent fair coin (kept count ~ Binomial(10, 1/2): mean 5, variance 2.5, frames
    # uncorrelated); Gumbel-Softmax makes k = 5 draws that compete for frames (kept count =
    # distinct frames among 5 uniform draws: mean 10 (1 - 0.9^5) = 4.10, variance 0.53, frames
    # negatively correlated).
    alphas = torch.zeros(10)
    concrete = (draws("concrete", 0.02, alphas) > 0.5).float()
    gumbel = (draws("gumbel_subset", 0.02, alphas) > 0.5).float()
    assert concrete.sum(1).mean().item() == pytest.approx(5.0, abs=0.05)
    assert concrete.sum(1).var().item() == pytest.approx(2.5, abs=0.15)
    assert gumbel.sum(1).mean().item() == pytest.approx(10 * (1 - 0.9**5), abs=0.05)
    assert gumbel.sum(1).var().item() == pytest.approx(0.53, abs=0.1)
    pair = lambda x: torch.corrcoef(x[:, :2].T)[0, 1].item()  # noqa: E731
    assert abs(pair(concrete)) < 0.03 and pair(gumbel) < -0.05


def test_sigmoid_variant_is_deterministic():
    logits = torch.tensor([[-1.0, 0.0, 2.0]])
    y = relaxed_summary(logits, torch.ones(1, 3, dtype=torch.bool), 0.5, "sigmoid")
    torch.testing.assert_close(y, torch.sigmoid(logits / 0.5))


@pytest.mark.parametrize("method", ["concrete", "gumbel", "sigmoid", "gumbel_subset"])
def test_padding_is_zero_and_gradients_flow(method):
    torch.manual_seed(0)
    logits = torch.randn(2, 4, requires_grad=True)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    y = relaxed_summary(logits, mask, 0.5, method)
    assert torch.all(y[~mask] == 0) and torch.all((y[mask] > 0) & (y[mask] < 1))
    # weighted: with one draw the soft one-hot sums to 1, so the plain sum has no gradient
    (y * torch.arange(1.0, 5.0)).sum().backward()
    assert torch.all(logits.grad[mask] != 0) and torch.all(logits.grad[~mask] == 0)


def test_gumbel_subset_one_frame_video_keeps_its_frame():
    y = relaxed_summary(torch.randn(1, 3), torch.tensor([[True, False, False]]), 0.5,
                        "gumbel_subset")
    assert y.tolist() == [[1.0, 0.0, 0.0]]  # a categorical over one frame is certain


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
    with pytest.raises(ConfigError, match="reparameterization='bernoulli'.*concrete, gumbel, sigmoid, gumbel_subset"):
        SummarySampler("bernoulli")
    with pytest.raises(ConfigError, match="gradient_flow='mask'.*gating, marginalization, ste"):
        SummarySampler(gradient_flow="mask")
    with pytest.raises(ConfigError, match="temperature=0"):
        SummarySampler(temperature=0)
    for bad in (0, 1.5, "all"):
        with pytest.raises(ConfigError, match="gumbel_draws=.*'expected' or a share"):
            SummarySampler("gumbel_subset", gumbel_draws=bad)


# The paper's Gumbel row (Table 1, Table 3 "(+) Gumbel"): one two-class Gumbel-Softmax per frame
# (Eq. 4 factorises the summary over frames), straight-through hard sample.
def test_table1_reparameterizations_and_our_extra():
    # visp.txt Table 1: {Concrete-Relaxation}, Gumbel-Softmax; Table 3: (-) Concrete = sigmoid
    assert REPARAMETERIZATIONS == ("concrete", "gumbel", "sigmoid", "gumbel_subset")


def test_gumbel_keep_drop_by_hand():
    # alpha = ln 3: log pi = (log 3/4, log 1/4); noise (g_keep, g_drop) = (0, 0) and (0, 2)
    alpha = torch.tensor([[float(torch.log(torch.tensor(3.0)))] * 2], requires_grad=True)
    noise = torch.tensor([[[0.0, 0.0], [0.0, 2.0]]])
    hard, soft = gumbel_keep_drop(alpha, temperature=0.5, noise=noise)
    # soft = softmax(((log .75, log .25) + g) / 0.5)[keep] = .75^2 / (.75^2 + (.25 e^2)^2)
    e2 = float(torch.exp(torch.tensor(2.0)))
    expected = torch.tensor([[0.5625 / (0.5625 + 0.0625), 0.5625 / (0.5625 + 0.0625 * e2**2)]])
    torch.testing.assert_close(soft.detach(), expected)
    # keep wins the first frame (log .75 > log .25), drop the second (log .25 + 2 > log .75)
    assert hard.tolist() == [[1.0, 0.0]]
    # straight-through: the hard sample's gradient is the soft sample's
    (hard * torch.tensor([[1.0, 2.0]])).sum().backward()
    grad_hard = alpha.grad.clone()
    alpha.grad = None
    _, soft_again = gumbel_keep_drop(alpha, temperature=0.5, noise=noise)
    (soft_again * torch.tensor([[1.0, 2.0]])).sum().backward()
    torch.testing.assert_close(grad_hard, alpha.grad)
    assert torch.all(grad_hard != 0)


def test_gumbel_hard_sample_keeps_each_frame_with_probability_sigmoid_alpha():
    # the Gumbel-max trick samples the class exactly: P(keep) = sigmoid(alpha) at any lambda
    torch.manual_seed(0)
    logits = ALPHAS.repeat(DRAWS, 1)
    for temperature in (0.1, 2.0):
        hard, soft = gumbel_keep_drop(logits, temperature)
        assert set(hard.unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close(hard.mean(0), torch.sigmoid(ALPHAS), atol=0.015, rtol=0)
        assert torch.all((soft >= 0) & (soft <= 1))


def test_gumbel_sampler_builds_the_summary_from_the_hard_sample():
    torch.manual_seed(0)
    mask = torch.tensor([[True, True, True, False]])
    for flow in ("gating", "ste", "marginalization"):
        y, soft = SummarySampler("gumbel", flow, temperature=0.5)(torch.randn(1, 4), mask)
        assert set(y[mask].tolist()) <= {0.0, 1.0} and y[0, 3] == 0 and soft[0, 3] == 0
        assert torch.all((soft[mask] > 0) & (soft[mask] < 1))  # the penalties read the soft one
        # frames are kept where the soft sample favours keep (both from one draw)
        assert torch.equal(y[mask] == 1, soft[mask] > 0.5)
