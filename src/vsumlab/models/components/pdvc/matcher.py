"""Hungarian matching of event queries to ground-truth events (DETR-style set prediction).

Cost of assigning query q to event g (PDVC / Deformable DETR, METHODS.md weights):
``cost_class * focal_class_cost + cost_giou * (-GIoU) + cost_bbox * L1(center, length)``,
where the focal class cost is ``alpha (1-p)^gamma (-log p) - (1-alpha) p^gamma (-log(1-p))``.
The assignment minimizing the total cost comes from ``scipy.optimize.linear_sum_assignment``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from vsumlab.models.components.pdvc.segments import cl_to_se, generalized_segment_iou


def focal_class_cost(logits: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """(Q,) foreground logits -> (Q,) cost of calling each query a foreground event."""
    prob = logits.sigmoid()
    neg = (1 - alpha) * prob**gamma * -torch.log((1 - prob).clamp(min=1e-8))
    pos = alpha * (1 - prob) ** gamma * -torch.log(prob.clamp(min=1e-8))
    return pos - neg


class HungarianMatcher:
    """``matcher(logits (B,Q), boxes (B,Q,2) cl, target_boxes [ (G_b,2) cl ])``.

    Returns per video a pair (query indices, event indices), sorted by query index; with more
    events than queries only ``Q`` events are matched.
    """

    def __init__(
        self,
        cost_class: float = 2.0,
        cost_giou: float = 4.0,
        cost_bbox: float = 0.0,
        focal_alpha: float = 0.25,
        focal_gamma: float = 2.0,
    ):
        self.cost_class, self.cost_giou, self.cost_bbox = cost_class, cost_giou, cost_bbox
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma

    def cost_matrix(self, logits: Tensor, boxes: Tensor, target_boxes: Tensor) -> Tensor:
        """(Q,), (Q,2), (G,2) -> (Q, G) total cost."""
        class_cost = focal_class_cost(logits, self.focal_alpha, self.focal_gamma)[:, None]
        giou = generalized_segment_iou(cl_to_se(boxes), cl_to_se(target_boxes))
        cost = self.cost_class * class_cost - self.cost_giou * giou
        if self.cost_bbox:
            cost = cost + self.cost_bbox * torch.cdist(boxes, target_boxes, p=1)
        return cost

    @torch.no_grad()
    def __call__(
        self, logits: Tensor, boxes: Tensor, target_boxes: list[Tensor]
    ) -> list[tuple[Tensor, Tensor]]:
        matches = []
        for b, targets in enumerate(target_boxes):
            if targets.shape[0] == 0:
                empty = torch.zeros(0, dtype=torch.long, device=logits.device)
                matches.append((empty, empty.clone()))
                continue
            cost = self.cost_matrix(logits[b].float(), boxes[b].float(), targets.float())
            rows, cols = linear_sum_assignment(cost.cpu().numpy())
            order = np.argsort(rows)
            matches.append(
                (
                    torch.as_tensor(rows[order], dtype=torch.long, device=logits.device),
                    torch.as_tensor(cols[order], dtype=torch.long, device=logits.device),
                )
            )
        return matches
