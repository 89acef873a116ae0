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


class RNGStateCheckpoint(L.Callback):
    """Save the random number generators' states with every checkpoint; restore them on resume.

    Lightning restores weights, optimizers and loop counters but not the global RNGs, so a
    resumed fold shuffled and dropped out differently from an uninterrupted one. The states are
    captured when the checkpoint is written (at an epoch boundary) and put back before the next
    epoch starts, so a resumed ``--deterministic`` run is bit-for-bit the uninterrupted one. The
    train loader shuffles with the global torch generator, so its order follows. States are
    stored as tensors and lists (what ``torch.load(weights_only=True)`` reads).
    """

    def state_dict(self) -> dict[str, Any]:
        import random

        import torch

        # the legacy global state is the one seed_everything seeds and numpy code draws from
        kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
        state: dict[str, Any] = {
            "python": _as_lists(random.getstate()),
            "numpy": [kind, torch.as_tensor(np.asarray(keys, dtype=np.int64)), int(pos),
                      int(has_gauss), float(gauss)],
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        import random

        import torch

        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))
        kind, keys, pos, has_gauss, cached = state_dict["numpy"]
        np.random.set_state(  # noqa: NPY002
            (kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached)
        )
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def _as_lists(value: Any) -> Any:
    """Tuples as lists, recursively (plain containers for the checkpoint)."""
    if isinstance(value, tuple):
        return [_as_lists(item) for item in value]
    return value


class LoopTimer(L.Callback):
    """Wall time inside Lightning's training, validation and prediction loops (from the first
    epoch's start to the last one's end: steps, data loading, per-epoch checkpoints), summed
    over every run the callback is attached to; what a benchmark sets against the total to
    find the fixed cost of a run. Nested loops (validation inside training) count once."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0
        self._start = 0.0

    def _enter(self) -> None:
        import time

        if self._depth == 0:
            self._start = time.perf_counter()
        self._depth += 1

    def _leave(self) -> None:
        import time

        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._start

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._enter()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._leave()

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._enter()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._leave()

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._enter()

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._leave()
