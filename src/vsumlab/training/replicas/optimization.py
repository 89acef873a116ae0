"""Each replica's own optimizer and LR scheduler, from its module's ``configure_optimizers``.

Replicas keep separate optimizers (not one over stacked parameters): the recipe's optimizer,
whatever it is, then updates each replica exactly as in a sequential run (its own step count
for Adam's bias correction, its own weight decay), and a replica without a batch in a step is
simply not stepped. Only what Lightning's automatic optimization does for one optimizer and an
epoch- or step-interval scheduler is supported; anything else is a reason to train sequentially.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch.optim import Optimizer


@dataclass
class ReplicaOptimization:
    """One replica's optimizer and (optional) scheduler with Lightning's interval/frequency."""

    optimizer: Optimizer
    scheduler: Any = None
    interval: str = "epoch"
    frequency: int = 1


class Unsupported(Exception):
    """A configuration the vectorized engine does not reproduce (the message says which)."""


def replica_optimization(module: L.LightningModule) -> ReplicaOptimization:
    """The module's ``configure_optimizers()`` as one optimizer and at most one scheduler."""
    configured = module.configure_optimizers()
    scheduler: Any = None
    if isinstance(configured, Optimizer):
        optimizer = configured
    elif isinstance(configured, dict) and isinstance(configured.get("optimizer"), Optimizer):
        optimizer, scheduler = configured["optimizer"], configured.get("lr_scheduler")
    else:
        raise Unsupported("configure_optimizers returns more than one optimizer and scheduler "
                          f"({type(configured).__name__})")
    if scheduler is None:
        return ReplicaOptimization(optimizer)
    config = scheduler if isinstance(scheduler, dict) else {"scheduler": scheduler}
    if isinstance(config["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise Unsupported("ReduceLROnPlateau steps on a logged metric")
    interval = config.get("interval", "epoch")
    if interval not in ("epoch", "step"):
        raise Unsupported(f"lr scheduler interval {interval!r}")
    return ReplicaOptimization(optimizer, config["scheduler"], interval,
                               int(config.get("frequency", 1)))
