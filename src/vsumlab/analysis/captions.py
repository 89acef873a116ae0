"""Caption viewer helpers: ground-truth and Cap2Sum-predicted events on one timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vsumlab.errors import ConfigError


@dataclass(frozen=True)
class TimelineEvent:
    start: float  # seconds
    end: float
    sentence: str
    score: float | None = None  # the captioner's foreground score (predicted events)


def ground_truth_events(video: Any) -> list[TimelineEvent]:
    """Events of a :class:`vsumlab.data.captions.format.CaptionVideo`, in time order."""
    events = [TimelineEvent(float(e.start), float(e.end), e.sentence) for e in video.events]
    return sorted(events, key=lambda e: (e.start, e.end))


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two [start, end] intervals (0 when disjoint or empty)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def best_matches(
    predicted: Sequence[TimelineEvent], truth: Sequence[TimelineEvent]
) -> list[tuple[int | None, float]]:
    """For each predicted event, the ground-truth event of highest tIoU and that tIoU."""
    out: list[tuple[int | None, float]] = []
    for event in predicted:
        ious = [temporal_iou((event.start, event.end), (t.start, t.end)) for t in truth]
        best = int(np.argmax(ious)) if ious else None
        out.append((best, float(ious[best]) if best is not None else 0.0))
    return out


def predict_events(
    module: Any, features: np.ndarray, duration: float, beam_size: int = 1
) -> tuple[list[TimelineEvent], np.ndarray]:
    """Events a Cap2Sum module's captioner predicts for one video, and its summarizer scores.

    The captioner sees the score-weighted features, as in training (S * F); event spans come
    back as fractions of the video and are scaled to ``duration`` seconds.
    """
    import torch

    captioner = getattr(module, "captioner", None)
    vocabulary = getattr(module, "vocabulary", None)
    if captioner is None or vocabulary is None:
        raise ConfigError(
            f"{type(module).__name__} has no captioner and vocabulary: predicted events need a "
            "Cap2Sum checkpoint of a caption mode (pretrain, weak_finetune, captioner)"
        )
    if features.ndim != 2 or features.shape[1] != module.input_dim:
        raise ConfigError(
            f"features of shape {tuple(features.shape)} do not fit this model: it expects "
            f"(n_steps, {module.input_dim})"
        )
    module.eval()
    with torch.no_grad():
        x = torch.as_tensor(features, dtype=torch.float32, device=module.device)[None]
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=module.device)
        if getattr(module, "mode", None) == "captioner":
            scores = mask.to(x.dtype)  # that mode trains the captioner on raw features (S = 1)
        else:
            scores = module.scores(x, mask)
        output = captioner(x * scores[..., None], mask)
        predicted = captioner.predict_events(
            output, vocabulary.bos, vocabulary.eos, module.hparams.max_caption_len, beam_size
        )[0]
    events = [
        TimelineEvent(e.start * duration, e.end * duration, vocabulary.decode(e.tokens),
                      float(e.score))
        for e in predicted
    ]
    return events, scores[0].cpu().numpy()


#: two short videos in the ActivityNet Captions form, so the viewer runs without any data
DEMO_CAPTIONS: dict[str, Any] = {
    "demo_cooking": {
        "duration": 60.0,
        "timestamps": [[0.0, 12.5], [10.0, 31.0], [33.0, 58.0]],
        "sentences": [
            "A woman stands in a kitchen and talks to the camera.",
            "She cuts vegetables on a wooden board.",
            "She stirs the pot and serves the soup.",
        ],
    },
    "demo_skate": {
        "duration": 40.0,
        "timestamps": [[2.0, 15.0], [18.0, 36.0]],
        "sentences": [
            "A boy rides a skateboard down the street.",
            "He jumps over a ramp and falls.",
        ],
    },
}
