"""Shared pieces of the DeSumNet tests: tiny modules and checkpoints written by Lightning."""

from __future__ import annotations

from pathlib import Path

import lightning as L

from vsumlab.models.desumnet import DeSumNetModule

#: a tiny network for 16-frame 32x32 crops of 36x48 frames (paper: width 1, 112 of 128x171)
TINY = {"width": 0.0625, "crop": 32, "clip_resize": (36, 48), "dropout": 0.0}


def tiny_module(class_names: list[str] | None = None, **overrides) -> DeSumNetModule:
    kwargs = {**TINY, **overrides}
    if class_names is None and "num_classes" not in kwargs:
        class_names = ["cat0", "cat1", "cat2"]
    return DeSumNetModule(class_names=class_names, **kwargs)


def save_checkpoint(module: L.LightningModule, path: Path) -> Path:
    """A checkpoint exactly as Lightning writes it (hooks included), without training."""
    trainer = L.Trainer(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=0
    )
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return path
