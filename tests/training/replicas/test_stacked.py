"""Stacked replicas: one vmapped loss and per-replica optimizer steps equal R independent copies,
including a replica whose loader is exhausted earlier in the epoch."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import lightning as L
import pytest
import torch

from vsumlab.models.summarizer import SummarizerModule
from vsumlab.protocol.options import Protocol
from vsumlab.training.replicas.data import ReplicaBatches
from vsumlab.training.replicas.module import ReplicaModule
from vsumlab.training.replicas.stacked import MethodCall, pad_batches, replica_losses

TINY = {"transformer": {"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32,
                        "dropout": 0.0},
        "csta": {"embed_dim": 16, "trunk_channels": 4, "trunk_layers": 2, "head_hidden": 16,
                 "dropout": 0.0}}


def _module(name: str, seed: int) -> SummarizerModule:
    torch.manual_seed(seed)
    return SummarizerModule(summarizer=name, summarizer_args=TINY[name], input_dim=8, lr=1e-2)


def _batch(seed: int, size: int = 2, steps: int = 9) -> dict:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(size, steps, dtype=torch.bool)
    mask[-1, steps - 3:] = False  # a padded video in every batch
    return {"features": torch.randn(size, steps, 8, generator=g), "mask": mask,
            "gtscore": torch.rand(size, steps, generator=g) * mask,
            "n_steps": mask.sum(1), "keys": [f"v{i}" for i in range(size)]}


def test_pad_batches_pads_per_step_fields_and_masks_with_false() -> None:
    short, long = _batch(0, steps=5), _batch(1, steps=9)
    padded = pad_batches([short, long])
    assert padded["features"].shape == (2, 2, 9, 8) and padded["gtscore"].shape == (2, 2, 9)
    assert not padded["mask"][0, :, 5:].any() and torch.equal(padded["mask"][1], long["mask"])
    assert torch.equal(padded["n_steps"][0], short["n_steps"]) and "keys" not in padded


@pytest.mark.parametrize("name", ["transformer", "csta"])
def test_vmapped_losses_and_gradients_equal_each_replicas_own(name: str) -> None:
    modules = [_module(name, seed) for seed in (0, 1, 2)]
    batches = [_batch(10), _batch(11, steps=6), _batch(12, steps=11)]
    losses, logs = replica_losses([MethodCall(m, "training_loss") for m in modules], batches)
    losses.sum().backward()
    for module, batch, loss in zip(modules, batches, losses):
        twin = copy.deepcopy(module)
        twin.zero_grad(set_to_none=True)
        own, _ = twin.training_loss(batch)
        own.backward()
        torch.testing.assert_close(loss, own, rtol=1e-5, atol=1e-6)
        for (_, p), (_, q) in zip(module.named_parameters(), twin.named_parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
    assert logs["mse"].shape == (3,)


class _Loader(list):
    """A fixed list of batches with a sampler that records set_epoch calls."""

    def __init__(self, batches: list) -> None:
        super().__init__(batches)
        self.sampler = SimpleNamespace(epochs=[])
        self.sampler.set_epoch = self.sampler.epochs.append


@pytest.mark.parametrize("vmapped", [True, False])
def test_adam_on_replicas_equals_independent_runs_with_an_exhausted_replica(vmapped) -> None:
    """Replica 1 has 2 batches, replica 0 has 3: at step 3 replica 1 gets no Adam update
    (no momentum step, no step count) and both end where their independent runs end."""
    modules = [_module("transformer", 0), _module("transformer", 1)]
    references = [copy.deepcopy(m) for m in modules]
    loaders = [_Loader([_batch(20), _batch(21, steps=7), _batch(22, size=1)]),
               _Loader([_batch(30, steps=12), _batch(31)])]
    epochs = 2
    for reference, loader in zip(references, loaders):
        optimizer = reference.configure_optimizers()
        for _ in range(epochs):
            for batch in loader:
                optimizer.zero_grad()
                reference.training_loss(batch)[0].backward()
                optimizer.step()
    datamodules = [SimpleNamespace(keys={"val": []})] * 2
    module = ReplicaModule(modules, datamodules, ["a", "b"], protocol=Protocol(), select_best=False,
                           vmapped=vmapped)
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    batches = ReplicaBatches(loaders)
    trainer.fit(module, train_dataloaders=batches)
    assert loaders[0].sampler.epochs == [0, 1] == loaders[1].sampler.epochs
    assert module.replica_steps == [6, 4]
    probe = _batch(99, size=3)
    for replica, reference in zip(module.replicas, references):
        for (name, p), (_, q) in zip(replica.named_parameters(), reference.named_parameters()):
            if name.endswith("in_proj_bias"):
                # its key part's gradient is zero up to rounding (softmax ignores a shift),
                # which Adam normalises into rounding-sized steps: compared via the scores
                continue
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")
        replica.eval(), reference.eval()
        torch.testing.assert_close(replica.scores(probe["features"], probe["mask"]),
                                   reference.scores(probe["features"], probe["mask"]),
                                   rtol=1e-5, atol=1e-6)
    states = [opt.state for opt in (o.optimizer for o in module._optimization)]
    steps = [int(next(iter(state.values()))["step"]) for state in states]
    assert steps == [6, 4]
