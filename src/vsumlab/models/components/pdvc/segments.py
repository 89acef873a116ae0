"""Temporal segment ("box") operations on normalized [0, 1] video time.

Two forms: ``cl`` = (center, length) as the localization head predicts, ``se`` = (start, end).
"""

from __future__ import annotations

import torch
from torch import Tensor


def cl_to_se(boxes: Tensor) -> Tensor:
    center, length = boxes.unbind(-1)
    return torch.stack([center - 0.5 * length, center + 0.5 * length], dim=-1)


def se_to_cl(boxes: Tensor) -> Tensor:
    start, end = boxes.unbind(-1)
    return torch.stack([0.5 * (start + end), end - start], dim=-1)


def _iou_parts(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Intersection, union and enclosing length of broadcastable (..., 2) se segments."""
    inter = (torch.minimum(a[..., 1], b[..., 1]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0)
    union = (a[..., 1] - a[..., 0]) + (b[..., 1] - b[..., 0]) - inter
    enclosing = torch.maximum(a[..., 1], b[..., 1]) - torch.minimum(a[..., 0], b[..., 0])
    return inter, union, enclosing


def segment_iou(a: Tensor, b: Tensor, pairwise: bool = True, eps: float = 1e-7) -> Tensor:
    """Temporal IoU of se segments: (N,2) x (M,2) -> (N,M) pairwise, else elementwise (N,)."""
    if pairwise:
        a, b = a[:, None, :], b[None, :, :]
    inter, union, _ = _iou_parts(a, b)
    return inter / union.clamp(min=eps)


def generalized_segment_iou(
    a: Tensor, b: Tensor, pairwise: bool = True, eps: float = 1e-7
) -> Tensor:
    """Generalized IoU (Rezatofighi et al. 2019) in 1-D: IoU - (enclosing - union) / enclosing.

    In [-1, 1]; unlike IoU it still has a gradient when the segments do not overlap.
    """
    if pairwise:
        a, b = a[:, None, :], b[None, :, :]
    inter, union, enclosing = _iou_parts(a, b)
    iou = inter / union.clamp(min=eps)
    return iou - (enclosing - union) / enclosing.clamp(min=eps)
