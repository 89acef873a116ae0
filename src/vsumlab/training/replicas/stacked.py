"""One vmapped training loss over replicas of a module: R copies, one forward, R losses.

Each replica keeps its own parameters (leaf tensors of its own module, so each has its own
optimizer state); a step stacks them along a new first dimension (``torch.stack`` is
differentiable: the gradient of each slice flows back to its replica's leaves), calls the
module's own :meth:`training_loss` on every replica's batch at once with
``torch.func.functional_call`` under ``torch.func.vmap``, and returns one loss per replica. The
sum of those losses has exactly each replica's own gradient in each replica's leaves, as the
replicas share no parameter and no batch.

Dropout draws differently per replica (``randomness="different"``). Buffers a training step
updates in place (batch-norm running statistics) are written back to each replica.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap


class MethodCall(nn.Module):
    """``module.<method>(*args)`` as a forward, so ``functional_call`` can run any method
    (``training_loss``, ``scores``) with substituted parameters; ``inner.`` prefixes names."""

    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.inner = module
        self.method = method

    def forward(self, *args: Any) -> Any:
        return getattr(self.inner, self.method)(*args)


def stack_states(modules: Sequence[nn.Module]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(parameters, buffers) of the modules stacked on a new first dimension, named as in
    ``MethodCall``; parameters stay connected to each module's leaves for autograd."""
    named = [dict(m.named_parameters()) for m in modules]
    params = {f"inner.{k}": torch.stack([n[k] for n in named]) for k in named[0]}
    held = [dict(m.named_buffers()) for m in modules]
    buffers = {f"inner.{k}": torch.stack([h[k].detach() for h in held]) for k in held[0]}
    return params, buffers


def pad_batches(batches: Sequence[Mapping[str, Any]]) -> dict[str, Tensor]:
    """The tensor fields of equal-sized batches (B videos each) stacked to (R, B, ...); per-step
    fields (second dimension = the batch's steps, as its ``mask``) padded to the longest, the
    mask with False. Non-tensor fields (``keys``) cannot cross vmap and are left out."""
    longest = max(int(b["mask"].shape[1]) for b in batches)
    out: dict[str, Tensor] = {}
    for name, first in batches[0].items():
        if not isinstance(first, Tensor):
            continue
        parts = []
        for batch in batches:
            value = batch[name]
            steps = int(batch["mask"].shape[1])
            if value.ndim >= 2 and value.shape[:2] == batch["mask"].shape and steps < longest:
                pad = value.new_zeros((value.shape[0], longest - steps, *value.shape[2:]))
                value = torch.cat([value, pad], dim=1)
            parts.append(value)
        out[name] = torch.stack(parts)
    return out


def replica_losses(
    calls: Sequence[MethodCall], batches: Sequence[Mapping[str, Any]]
) -> tuple[Tensor, dict[str, Tensor]]:
    """Each replica's ``training_loss`` on its own batch, in one vmapped call: ``(losses (G,),
    logs name -> (G,))``. ``calls``: a ``MethodCall(replica, "training_loss")`` per replica;
    every batch holds the same number of videos."""
    params, buffers = stack_states([c.inner for c in calls])
    tensors = pad_batches(batches)

    def one(p: dict[str, Tensor], b: dict[str, Tensor], batch: dict[str, Tensor]) -> Any:
        loss, logs = functional_call(calls[0], (p, b), (batch,))
        return loss, {k: v for k, v in logs.items() if isinstance(v, Tensor)}

    with warnings.catch_warnings():
        # ops without a batching rule (CPU attention kernels) run per replica: correct, slower
        warnings.filterwarnings("ignore", message="There is a performance drop")
        losses, logs = vmap(one, randomness="different")(params, buffers, tensors)
    _write_back_buffers(calls, buffers)
    return losses, logs


def _write_back_buffers(calls: Sequence[MethodCall], buffers: Mapping[str, Tensor]) -> None:
    """Buffers updated in place under vmap (running statistics) back into each replica."""
    for i, call in enumerate(calls):
        for name, value in call.inner.named_buffers():
            stacked = buffers[f"inner.{name}"][i]
            if not torch.equal(stacked, value):
                value.copy_(stacked)
