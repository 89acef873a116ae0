"""Whether a method module trains under vmap: a real probe, not a list of names.

Two copies of the module run :func:`~vsumlab.training.replicas.stacked.replica_losses` on a real
training batch (forward, loss and backward under ``vmap``), and in eval mode the vmapped loss
must equal the module's own ``training_loss`` on that batch. Anything vmap refuses
(data-dependent Python control flow such as ``.tolist()`` or ``.item()``, in-place writes into
unbatched tensors, a loss that reads the batch's video keys) or computes differently is a
reason to train the replicas one after another. The module, its gradients and the random
number generators are left as they were.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from vsumlab.training.replicas.stacked import MethodCall, replica_losses


def vmap_refusal(module: nn.Module, batch: Mapping[str, Any]) -> str | None:
    """Why ``module`` cannot train vectorized on batches like ``batch`` (None when it can)."""
    if not callable(getattr(module, "training_loss", None)):
        return f"{type(module).__name__} has no training_loss(batch) to vectorize"
    tensors = {k: v for k, v in batch.items() if isinstance(v, Tensor)}
    copies = [copy.deepcopy(module) for _ in range(2)]
    with torch.random.fork_rng(devices=[]):
        try:
            for replica in copies:
                replica.train()
            losses, _ = replica_losses([MethodCall(c, "training_loss") for c in copies],
                                       [tensors, tensors])
            if losses.shape != (2,):
                return f"its training_loss is not one scalar per batch (got {tuple(losses.shape)})"
            losses.sum().backward()
            for replica in copies:
                replica.eval()
            with torch.no_grad():
                vmapped, _ = replica_losses([MethodCall(c, "training_loss") for c in copies],
                                            [tensors, tensors])
                own, _ = copies[0].training_loss(dict(tensors))
        except Exception as exc:  # vmap and user code fail in many ways: one line says which
            text = str(exc).strip().splitlines()
            return f"vmap refuses its training loss ({exc.__class__.__name__}: " \
                   f"{text[0] if text else ''})"
    if not torch.allclose(vmapped, own.detach().expand(2), rtol=1e-4, atol=1e-6):
        return (f"its training loss under vmap ({float(vmapped[0]):.6g}) differs from its own "
                f"({float(own):.6g})")
    return None
