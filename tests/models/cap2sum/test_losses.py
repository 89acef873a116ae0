"""Captioning losses and score regularizers on hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from vsumlab.models.losses.captioning import (
    caption_cross_entropy,
    event_count_loss,
    giou_loss,
    sigmoid_focal_loss,
)
from vsumlab.models.losses.regularizers import length_loss, prior_loss, variance_loss

LN2 = math.log(2)


def test_sigmoid_focal_loss_by_hand():
    # logit 0 -> p = 0.5, CE = ln 2; positive: alpha (1-p)^2 CE, negative: (1-alpha) p^2 CE
    loss = sigmoid_focal_loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(loss, torch.tensor([0.25 * 0.25 * LN2, 0.75 * 0.25 * LN2]))
    # A confident correct prediction costs almost nothing (the point of the focal term).
    assert sigmoid_focal_loss(torch.tensor([6.0]), torch.tensor([1.0])).item() < 1e-6


def test_giou_loss_by_hand():
    pred = torch.tensor([[0.2, 0.2], [0.1, 0.2]])  # [0.1, 0.3], [0.0, 0.2]
    target = torch.tensor([[0.4, 0.4], [0.6, 0.2]])  # [0.2, 0.6], [0.5, 0.7]
    torch.testing.assert_close(giou_loss(pred, target), torch.tensor([0.8, 1 + 3 / 7]))


def test_event_count_loss_by_hand_and_clipping():
    logits = torch.zeros(2, 3)
    assert event_count_loss(logits, torch.tensor([1, 2])).item() == pytest.approx(math.log(3))
    logits = torch.tensor([[0.0, 0.0, math.log(2)]])
    # 5 events with a counter for 0..2 is clipped to class 2: -log(2/4)
    assert event_count_loss(logits, torch.tensor([5])).item() == pytest.approx(math.log(2))


def test_caption_cross_entropy_ignores_padding():
    logits = torch.full((1, 3, 4), -1e9)
    logits[0, 0, 2] = math.log(3.0)  # target 2 with p = 3/4
    logits[0, 0, 3] = 0.0
    logits[0, 1, 1] = 0.0  # target 1 with p = 1
    logits[0, 2] = torch.randn(4)  # padding: must not count
    loss = caption_cross_entropy(logits, torch.tensor([[2, 1, 0]]))
    assert loss.item() == pytest.approx(-math.log(0.75) / 2, rel=1e-5)
    assert caption_cross_entropy(logits, torch.zeros(1, 3, dtype=torch.long)).item() == 0.0


def test_regularizers_by_hand_with_padding():
    scores = torch.tensor([[0.1, 0.5, 0.9, 0.7]])
    valid = torch.tensor([[True, True, True, False]])
    assert length_loss(scores, valid).item() == pytest.approx((0.5 - 0.3) ** 2)
    assert variance_loss(scores, valid).item() == pytest.approx(0.25 - 0.32 / 3)
    prior = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    assert prior_loss(scores, prior, valid).item() == pytest.approx((0.81 + 0.01) / 3)


def test_regularizers_average_videos_not_steps():
    scores = torch.tensor([[0.3, 0.3, 0.3, 0.3], [1.0, 0.0, 0.0, 0.0]])
    valid = torch.tensor([[True] * 4, [True, False, False, False]])
    # video 1: mean 0.3 -> 0; video 2: mean 1 -> 0.49; batch mean 0.245
    assert length_loss(scores, valid).item() == pytest.approx(0.245)
    assert prior_loss(scores, torch.zeros(2, 4), valid).item() == 0.0
