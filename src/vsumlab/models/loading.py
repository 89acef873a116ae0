"""Load any vsumlab checkpoint as a scorer, whatever method wrote it."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import lightning as L
import torch

from vsumlab.errors import ConfigError

CLASS_KEY = "vsumlab_class"


def checkpoint_class(payload: dict[str, Any], path: Path) -> type[L.LightningModule]:
    """The LightningModule class recorded in a checkpoint by ``on_save_checkpoint``."""
    qualified = payload.get(CLASS_KEY)
    if not qualified:
        raise ConfigError(f"{path}: not a vsumlab checkpoint (no '{CLASS_KEY}' entry)")
    module_name, _, class_name = qualified.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{path}: checkpoint class {qualified} cannot be imported") from exc
    return cls


def load_summarizer(
    checkpoint_path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> L.LightningModule:
    """The module of a checkpoint, in eval mode; it has ``score_video`` (and ``input_dim``)."""
    path = Path(checkpoint_path)
    if not path.is_file():
        raise ConfigError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # corrupt or foreign files surface as many exception types
        raise ConfigError(f"{path}: not a readable checkpoint ({exc.__class__.__name__})") from exc
    if not isinstance(payload, dict):
        raise ConfigError(f"{path}: not a Lightning checkpoint")
    cls = checkpoint_class(payload, path)
    overrides = {}
    if "pretrained" in payload.get("hyper_parameters", {}):
        # the weights are in the checkpoint; the pretraining file need not exist any more
        overrides["pretrained"] = None
    # our own checkpoints hold plain Python objects (hyperparameters, vocabularies)
    module = cls.load_from_checkpoint(
        path, map_location=map_location, weights_only=False, **overrides
    )
    module.eval()
    return module
