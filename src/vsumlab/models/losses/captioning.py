"""Dense captioning losses of the PDVC captioner (Wang et al. 2021; Cap2Sum eq. 2).

Per decoder layer, queries are matched to ground-truth events (Hungarian) and

    L_cap = w_giou * L_giou + w_cls * L_cls + w_ec * L_ec + w_pred * L_pred (+ w_bbox * L1)

with the paper's weights 4, 2, 0.5, 0.5 (L1 weight 0 as PDVC). Aux losses: the same sum at every
decoder layer (each with its own matching) is added, as PDVC/Deformable DETR do.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import sigmoid_focal_loss as _tv_sigmoid_focal_loss

from vsumlab.models.components.pdvc.captioner import CaptionerOutput, LayerOutput, PDVCCaptioner
from vsumlab.models.components.pdvc.matcher import HungarianMatcher
from vsumlab.models.components.pdvc.segments import cl_to_se, generalized_segment_iou


@dataclass
class EventTargets:
    """Ground-truth events of one video."""

    boxes: Tensor  # (G, 2) (center, length) in [0, 1] of the video's steps
    tokens: Tensor  # (G, L) <bos> words <eos> <pad>...


def sigmoid_focal_loss(
    logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0
) -> Tensor:
    """Elementwise focal loss (Lin et al. 2017) on binary targets, via torchvision."""
    return _tv_sigmoid_focal_loss(logits, targets.to(logits.dtype), alpha, gamma, reduction="none")


def giou_loss(pred_boxes: Tensor, target_boxes: Tensor) -> Tensor:
    """(N,2), (N,2) (center, length) -> (N,) 1 - generalized temporal IoU."""
    giou = generalized_segment_iou(cl_to_se(pred_boxes), cl_to_se(target_boxes), pairwise=False)
    return 1.0 - giou


def event_count_loss(count_logits: Tensor, counts: Tensor) -> Tensor:
    """Cross-entropy of the event counter; counts above its range are clipped to the max."""
    counts = counts.clamp(max=count_logits.shape[-1] - 1)
    return F.cross_entropy(count_logits, counts)


def caption_cross_entropy(logits: Tensor, targets: Tensor, pad: int = 0) -> Tensor:
    """Mean word cross-entropy over non-padding targets: logits (N,L,V), targets (N,L)."""
    if targets.numel() == 0 or bool((targets == pad).all()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad)


class DenseCaptionCriterion:
    """``criterion(captioner, output, targets) -> (loss, logs)`` with the weighted sum above."""

    def __init__(
        self,
        weight_giou: float = 4.0,
        weight_cls: float = 2.0,
        weight_ec: float = 0.5,
        weight_caption: float = 0.5,
        weight_bbox: float = 0.0,
        aux_loss: bool = True,
        focal_alpha: float = 0.25,
        focal_gamma: float = 2.0,
        matcher: HungarianMatcher | None = None,
        pad: int = 0,
    ):
        self.weights = {
            "giou": weight_giou,
            "cls": weight_cls,
            "ec": weight_ec,
            "caption": weight_caption,
            "bbox": weight_bbox,
        }
        self.aux_loss = aux_loss
        self.focal_alpha, self.focal_gamma, self.pad = focal_alpha, focal_gamma, pad
        self.matcher = matcher or HungarianMatcher(
            cost_class=2.0, cost_giou=4.0, focal_alpha=focal_alpha, focal_gamma=focal_gamma
        )

    def layer_losses(
        self,
        captioner: PDVCCaptioner,
        output: CaptionerOutput,
        layer: LayerOutput,
        targets: list[EventTargets],
    ) -> dict[str, Tensor]:
        matches = self.matcher(layer.logits, layer.boxes, [t.boxes for t in targets])
        device = layer.logits.device
        batch_index = torch.cat([torch.full_like(q, b) for b, (q, _) in enumerate(matches)]).to(
            device
        )
        query_index = torch.cat([q for q, _ in matches]).to(device)
        matched_boxes = torch.cat([t.boxes[g] for t, (_, g) in zip(targets, matches)])
        matched_tokens = [t.tokens[g] for t, (_, g) in zip(targets, matches)]
        num_boxes = max(1, sum(int(t.boxes.shape[0]) for t in targets))

        onehot = torch.zeros_like(layer.logits)
        onehot[batch_index, query_index] = 1.0
        focal = sigmoid_focal_loss(layer.logits, onehot, self.focal_alpha, self.focal_gamma)
        losses = {"cls": focal.sum() / num_boxes}
        pred_boxes = layer.boxes[batch_index, query_index]
        losses["giou"] = giou_loss(pred_boxes, matched_boxes).sum() / num_boxes
        if self.weights["bbox"]:
            losses["bbox"] = F.l1_loss(pred_boxes, matched_boxes, reduction="sum") / num_boxes
        counts = torch.tensor([t.boxes.shape[0] for t in targets], device=device)
        losses["ec"] = event_count_loss(layer.count_logits, counts)
        if query_index.numel() > 0:
            width = max(int(t.shape[1]) for t in matched_tokens)
            tokens = torch.cat(
                [F.pad(t, (0, width - t.shape[1]), value=self.pad) for t in matched_tokens]
            )
            logits = captioner.caption_logits(
                output, layer, batch_index, query_index, tokens[:, :-1]
            )
            losses["caption"] = caption_cross_entropy(logits, tokens[:, 1:], self.pad)
        else:
            losses["caption"] = layer.logits.sum() * 0.0
        return losses

    def weighted(self, losses: dict[str, Tensor]) -> Tensor:
        return sum(self.weights[name] * value for name, value in losses.items())  # type: ignore[return-value]

    def __call__(
        self, captioner: PDVCCaptioner, output: CaptionerOutput, targets: list[EventTargets]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        layers = output.layers if self.aux_loss else [output.last]
        total = output.last.logits.new_zeros(())
        logs: dict[str, Tensor] = {}
        for layer in layers:
            losses = self.layer_losses(captioner, output, layer, targets)
            total = total + self.weighted(losses)
            if layer is output.last:
                logs = {name: value.detach() for name, value in losses.items()}
        logs["total"] = total.detach()
        return total, logs
