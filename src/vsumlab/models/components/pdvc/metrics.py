"""Validation metrics of dense captioning (pretraining): event count accuracy, localization
precision/recall at tIoU thresholds (as the ActivityNet dense-captioning evaluator: per video,
then averaged over videos) and BLEU-4 of the captions (torchmetrics ``BLEUScore``).

For BLEU, each predicted event at each threshold is scored against the sentences of the
ground-truth events it overlaps with tIoU >= threshold; an event that overlaps none gets an
empty reference, so its n-grams count as unmatched (as the evaluator's dummy reference does).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.text import BLEUScore

from vsumlab.models.components.pdvc.segments import segment_iou

TIOU_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


def precision_recall(pred_se: Tensor, gt_se: Tensor, threshold: float) -> tuple[float, float]:
    """Share of predictions hitting some event, share of events hit by some prediction."""
    if pred_se.shape[0] == 0 or gt_se.shape[0] == 0:
        return 0.0, 0.0
    hits = segment_iou(pred_se.float(), gt_se.float()) >= threshold
    return float(hits.any(1).float().mean()), float(hits.any(0).float().mean())


class DenseCaptionMetrics(Metric):
    """``update(pred_spans, pred_captions, count_pred, gt_spans, gt_sentences)`` per batch."""

    full_state_update = False

    def __init__(
        self, thresholds: Sequence[float] = TIOU_THRESHOLDS, max_events: int | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.thresholds = tuple(thresholds)
        self.max_events = max_events  # the counter's range: larger true counts are clipped
        n = len(self.thresholds)
        self.add_state("precision", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("recall", torch.zeros(n, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count_correct", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("videos", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.bleu = BLEUScore(n_gram=4)

    def update(
        self,
        pred_spans: Sequence[Tensor],
        pred_captions: Sequence[Sequence[str]],
        count_pred: Tensor,
        gt_spans: Sequence[Tensor],
        gt_sentences: Sequence[Sequence[str]],
    ) -> None:
        """Spans are (n, 2) (start, end) in [0, 1] per video; count_pred (B,) predicted counts."""
        for b, (pred, gt) in enumerate(zip(pred_spans, gt_spans)):
            self.videos += 1
            target = gt.shape[0] if self.max_events is None else min(gt.shape[0], self.max_events)
            self.count_correct += float(int(count_pred[b]) == target)
            ious = segment_iou(pred.float(), gt.float()) if len(pred) and len(gt) else None
            for i, t in enumerate(self.thresholds):
                p, r = precision_recall(pred, gt, t)
                self.precision[i] += p
                self.recall[i] += r
                refs = []
                for row in range(pred.shape[0]):
                    chosen = [] if ious is None else (ious[row] >= t).nonzero()[:, 0].tolist()
                    refs.append([gt_sentences[b][g] for g in chosen] or [""])
                if pred.shape[0]:
                    self.bleu.update([str(c) for c in pred_captions[b]], refs)

    def compute(self) -> dict[str, Tensor]:
        videos = self.videos.clamp(min=1)
        out = {"count_accuracy": (self.count_correct / videos).float()}
        for i, t in enumerate(self.thresholds):
            out[f"precision@{t}"] = (self.precision[i] / videos).float()
            out[f"recall@{t}"] = (self.recall[i] / videos).float()
        out["precision"] = (self.precision.sum() / (videos * len(self.thresholds))).float()
        out["recall"] = (self.recall.sum() / (videos * len(self.thresholds))).float()
        out["bleu4"] = self.bleu.compute().float()
        return out

    def reset(self) -> None:
        super().reset()
        self.bleu.reset()
