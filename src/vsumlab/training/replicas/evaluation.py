"""One replica's validation metrics and test predictions, computed as a sequential fold does.

Each replica is evaluated with its own module (eval mode, ``torch.inference_mode``, the
trainer's precision context): the very code path of Lightning's validation and prediction loops
in a sequential run, so the scores of a replica equal those of its sequential fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device

from vsumlab.evaluation.torchmetrics import SummarizationMetrics
from vsumlab.models.summarizer import masked_mse, per_video_scores
from vsumlab.protocol.options import Protocol


def validation_metric(protocol: Protocol, datamodule: Any) -> SummarizationMetrics:
    """The metric of the replica's validation videos under the run's protocol (as
    :class:`~vsumlab.training.scoring.ProtocolScoring` builds it). Not synchronised across
    processes: under DDP each process validates its own replicas on all of their videos."""
    from vsumlab.training.scoring import stage_metric

    return stage_metric(protocol, datamodule, "val", sync_on_compute=False)


def validate(module: Any, loader: Iterable[Any], metric: SummarizationMetrics,
             device: torch.device, context: AbstractContextManager | None = None
             ) -> dict[str, float]:
    """``mse`` (batch-size weighted, as Lightning's epoch mean) and the protocol's metrics."""
    was_training = module.training
    module.eval()
    total = torch.zeros((), dtype=torch.float32)
    count = 0
    with torch.inference_mode(), context or nullcontext():
        for batch in loader:
            batch = move_data_to_device(batch, device)
            scores = module.scores(batch["features"], batch["mask"])
            videos = per_video_scores(batch, scores)
            metric.update(list(videos), list(videos.values()))
            size = len(batch["keys"])
            loss = masked_mse(scores, batch["gtscore"], batch["mask"]).float().cpu()
            total += loss * size
            count += size
    module.train(was_training)
    values = {name: float(value) for name, value in metric.compute().items()}
    metric.reset()
    return {"mse": float(total / max(count, 1)), **values}


def predict(module: Any, loader: Iterable[Any], device: torch.device,
            context: AbstractContextManager | None = None) -> dict[str, np.ndarray]:
    """Step scores per test video, from the module's own ``predict_step``."""
    was_training = module.training
    module.eval()
    predictions: dict[str, np.ndarray] = {}
    with torch.inference_mode(), context or nullcontext():
        for index, batch in enumerate(loader):
            predictions.update(module.predict_step(move_data_to_device(batch, device), index))
    module.train(was_training)
    return predictions
