"""Checkpoints of the replica run: the run's own (atomic) and one per replica.

The run's checkpoint (``OUT/replicas/checkpoints/last.ckpt``: every replica's weights, optimizer
and scheduler states, best states and metrics, loop counters, RNG states) is what an
interrupted run resumes from; :class:`AtomicCheckpointIO` writes it beside the target and
renames it over, so a kill never leaves a truncated file. Each replica's selected weights are
also written as a normal checkpoint of the recipe's model class (:func:`write_replica_checkpoint`),
which `vsumlab summarize`, `vsumlab eval` and ``--model.init_args.pretrained`` load as any
fold's checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from vsumlab.io import atomic_path
from vsumlab.models.loading import PROTOCOL_CHECKPOINT_KEY
from vsumlab.protocol.options import Protocol


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO, written to a temporary file renamed over the target."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike,
                        storage_options: Any | None = None) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def write_replica_checkpoint(path: Path, module: Any, datamodule: Any, epoch: int,
                             global_step: int, protocol: Protocol | None = None) -> None:
    """``module`` (one replica) as the checkpoint Lightning writes for a fitted module: its
    state dict, hyper-parameters, the entries of its ``on_save_checkpoint`` and the run's
    protocol (as :class:`~vsumlab.training.scoring.ProtocolScoring` records it)."""
    checkpoint: dict[str, Any] = {
        "epoch": int(epoch),
        "global_step": int(global_step),
        "pytorch-lightning_version": lightning.__version__,
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "hparams_name": "kwargs",
        "hyper_parameters": dict(module.hparams),
    }
    if getattr(datamodule, "hparams", None):
        checkpoint["datamodule_hparams_name"] = "kwargs"
        checkpoint["datamodule_hyper_parameters"] = dict(datamodule.hparams)
    module.on_save_checkpoint(checkpoint)
    if protocol is not None:
        checkpoint[PROTOCOL_CHECKPOINT_KEY] = protocol.to_dict()
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
