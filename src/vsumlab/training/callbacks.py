"""Callbacks the harness adds to Lightning runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch.distributed as dist
from lightning.pytorch.callbacks import BasePredictionWriter


class PredictionsWriter(BasePredictionWriter):
    """Write ``predict`` outputs as a predictions file (h5 or npz) that `vsumlab eval` reads.

    Each rank's outputs are gathered so DDP runs write one complete file, from rank 0.
    """

    def __init__(self, output: str | os.PathLike, force: bool = False) -> None:
        super().__init__(write_interval="epoch")
        self.output = Path(output)
        self.force = force

    def write_on_epoch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        predictions: Any,
        batch_indices: Any,
    ) -> None:
        from vsumlab.evaluation.predictions import write_predictions

        merged: dict[str, np.ndarray] = {}
        batches = predictions[0] if predictions and isinstance(predictions[0], list) else predictions
        for batch in batches:
            merged.update(batch)
        if dist.is_available() and dist.is_initialized() and trainer.world_size > 1:
            gathered: list[dict[str, np.ndarray]] = [{} for _ in range(trainer.world_size)]
            dist.all_gather_object(gathered, merged)
            merged = {k: v for part in gathered for k, v in part.items()}
        if trainer.is_global_zero:
            write_predictions(self.output, merged, force=self.force)
