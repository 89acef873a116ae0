"""Temporal IoU/GIoU and Hungarian matching on hand-computed examples."""

from __future__ import annotations

import math

import pytest
import torch

from vsumlab.models.components.pdvc.matcher import HungarianMatcher, focal_class_cost
from vsumlab.models.components.pdvc.segments import (
    cl_to_se,
    generalized_segment_iou,
    se_to_cl,
    segment_iou,
)


def test_box_forms_round_trip():
    se = torch.tensor([[0.1, 0.3], [0.2, 0.9]])
    torch.testing.assert_close(se_to_cl(se), torch.tensor([[0.2, 0.2], [0.55, 0.7]]))
    torch.testing.assert_close(cl_to_se(se_to_cl(se)), se)


def test_iou_and_giou_by_hand():
    a = torch.tensor([[0.1, 0.3], [0.0, 0.2]])
    b = torch.tensor([[0.2, 0.6], [0.5, 0.7]])
    # [0.1,0.3] vs [0.2,0.6]: inter 0.1, union 0.5, enclosing 0.5 -> IoU 0.2, GIoU 0.2
    # [0.0,0.2] vs [0.5,0.7]: inter 0, union 0.4, enclosing 0.7 -> IoU 0, GIoU -0.3/0.7
    torch.testing.assert_close(segment_iou(a, b, pairwise=False), torch.tensor([0.2, 0.0]))
    torch.testing.assert_close(
        generalized_segment_iou(a, b, pairwise=False), torch.tensor([0.2, -3 / 7])
    )
    pairwise = generalized_segment_iou(a, b)
    assert pairwise.shape == (2, 2)
    # [0.1,0.3] vs [0.5,0.7]: union 0.4, enclosing 0.6 -> -0.2/0.6
    assert pairwise[0, 1].item() == pytest.approx(-1 / 3)


def test_focal_class_cost_by_hand():
    # p = 0.5: pos = 0.25 * 0.25 * ln 2, neg = 0.75 * 0.25 * ln 2 -> cost = -0.125 ln 2
    cost = focal_class_cost(torch.tensor([0.0]))
    assert cost.item() == pytest.approx(-0.125 * math.log(2), rel=1e-5)


def test_cost_matrix_value_by_hand():
    matcher = HungarianMatcher(cost_class=2.0, cost_giou=4.0)
    cost = matcher.cost_matrix(
        torch.tensor([0.0]), torch.tensor([[0.5, 0.2]]), torch.tensor([[0.5, 0.2]])
    )
    # identical boxes: GIoU 1 -> -4; class 2 * (-0.125 ln 2)
    assert cost.item() == pytest.approx(-4.0 - 0.25 * math.log(2), rel=1e-5)


def test_matching_follows_overlap_when_scores_tie():
    matcher = HungarianMatcher()
    logits = torch.zeros(1, 2)
    boxes = torch.tensor([[[0.25, 0.5], [0.75, 0.5]]])  # [0, 0.5] and [0.5, 1]
    targets = [torch.tensor([[0.75, 0.5], [0.2, 0.4]])]  # [0.5, 1] and [0, 0.4]
    ((queries, events),) = matcher(logits, boxes, targets)
    assert queries.tolist() == [0, 1] and events.tolist() == [1, 0]


def test_matching_prefers_the_confident_query_among_equal_boxes():
    matcher = HungarianMatcher()
    logits = torch.tensor([[-3.0, 3.0, 0.0]])
    boxes = torch.tensor([[[0.5, 0.2], [0.5, 0.2], [0.1, 0.1]]])
    ((queries, events),) = matcher(logits, boxes, [torch.tensor([[0.5, 0.2]])])
    assert queries.tolist() == [1] and events.tolist() == [0]


def test_matching_more_events_than_queries_and_no_events():
    matcher = HungarianMatcher()
    logits = torch.zeros(2, 2)
    boxes = torch.tensor([[[0.2, 0.2], [0.8, 0.2]]]).expand(2, 2, 2)
    targets = [torch.tensor([[0.8, 0.2], [0.5, 0.1], [0.2, 0.2]]), torch.zeros(0, 2)]
    first, second = matcher(logits, boxes, targets)
    assert first[0].tolist() == [0, 1] and first[1].tolist() == [2, 0]
    assert second[0].numel() == 0 and second[1].numel() == 0


def test_hungarian_assignment_is_the_optimum_not_the_greedy_choice():
    # queries [0, 0.4], [0, 0.2]; events [0, 0.3], [0.1, 0.5] (start, end). GIoU by hand:
    # q0-e0 0.3/0.4 = 0.75, q0-e1 0.3/0.5 = 0.6, q1-e0 0.2/0.3 = 2/3, q1-e1 0.1/0.5 = 0.2
    # (enclosing = union in all four). Equal logits: the class cost is one constant per query.
    boxes = se_to_cl(torch.tensor([[0.0, 0.4], [0.0, 0.2]]))
    events = se_to_cl(torch.tensor([[0.0, 0.3], [0.1, 0.5]]))
    matcher = HungarianMatcher(cost_class=2.0, cost_giou=4.0)
    cost = matcher.cost_matrix(torch.zeros(2), boxes, events)
    constant = 2 * -0.125 * math.log(2)
    expected = constant - 4 * torch.tensor([[0.75, 0.6], [2 / 3, 0.2]])
    torch.testing.assert_close(cost, expected)
    # greedy (q0 takes its best, e0) totals 0.75 + 0.2 = 0.95 GIoU; the optimum 0.6 + 2/3
    ((queries, matched),) = matcher(torch.zeros(1, 2), boxes[None], [events])
    assert queries.tolist() == [0, 1] and matched.tolist() == [1, 0]
    # the class cost weighs 2, the focal cost of a confident query is lower
    confident = HungarianMatcher().cost_matrix(torch.tensor([2.0, 0.0]), boxes, events)
    p = torch.sigmoid(torch.tensor(2.0))
    focal = 0.25 * (1 - p) ** 2 * -torch.log(p) - 0.75 * p**2 * -torch.log(1 - p)
    torch.testing.assert_close(confident[0], 2 * focal - 4 * torch.tensor([0.75, 0.6]))
