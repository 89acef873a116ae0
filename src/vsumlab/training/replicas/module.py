"""The LightningModule of a replica run: R method modules, one vmapped step, R selections.

Lightning runs the loop (devices, precision, checkpoints, RNG states, resume); the module uses
manual optimization because every replica has its own optimizer: per step, the replicas that
have a batch are grouped by batch size (equal shapes for vmap), each group's losses come from
one vmapped call of the method's own ``training_loss``, their sum is backpropagated once (each
replica's leaves get exactly its own gradient), and each of those replicas' optimizer steps,
with its own gradient clipping. A replica without a batch in a step keeps ``grad=None`` and is
not stepped (no Adam momentum update, no step count). At every validation epoch each replica
is scored on its own validation videos and its best state kept (``best_val``/``best_test``:
strictly higher val F1, the first such epoch, as ModelCheckpoint does), or its last one.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
from torch import nn

from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol
from vsumlab.training.replicas.evaluation import validate, validation_metric
from vsumlab.training.replicas.optimization import ReplicaOptimization, replica_optimization
from vsumlab.training.replicas.stacked import MethodCall, replica_losses


class ReplicaModule(L.LightningModule):
    """Replicas of a method module trained together.

    Args:
        replicas: one method module per replica, each built (and seeded) as its sequential run.
        datamodules: each replica's data module (its validation videos).
        names: one label per replica (``fold0_seed1``), the prefix of its logged metrics.
        protocol: the run's evaluation protocol (every replica is scored with it).
        select_best: keep each replica's best-val-F1 state (else its last).
        clip: ``(gradient_clip_val, gradient_clip_algorithm)`` per replica, or None.
        check_val_every_n_epoch: as the trainer option of a sequential run.
        replica_loggers: per replica, loggers that get its own rows (its fold's CSV).
        protocol: the run's evaluation protocol (validation metrics, model selection).
        vmapped: one vmapped call per step (default); False: each replica's own
            ``training_loss`` in turn, still one backward and one run. On CPU torch's batching
            rule for a linear layer's weight gradient on 3-D inputs (attention's in-projection)
            runs one tiny matmul per time step: the vmapped transformer step is ~3x slower
            than the loop there (benchmarks/bench_replicas.py), so the run uses the loop on CPU.
    """

    def __init__(self, replicas: Sequence[L.LightningModule], datamodules: Sequence[Any],
                 names: Sequence[str], select_best: bool, clip: tuple[float, str] | None = None,
                 check_val_every_n_epoch: int = 1,
                 replica_loggers: Sequence[Sequence[Any]] | None = None,
                 protocol: Protocol = DEFAULT_PROTOCOL, vmapped: bool = True) -> None:
        super().__init__()
        self.vmapped = vmapped
        self.automatic_optimization = False
        self.replicas = nn.ModuleList(replicas)
        self.names = list(names)
        self.select_best = select_best
        self.clip = clip
        self.check_val_every_n_epoch = max(1, int(check_val_every_n_epoch))
        self.replica_loggers = [list(x) for x in (replica_loggers or [[] for _ in replicas])]
        self._datamodules = list(datamodules)
        self.protocol = protocol
        self._metrics = [validation_metric(protocol, d) if d.keys["val"] else None
                         for d in datamodules]
        # not registered as submodules: the same modules, called through training_loss
        self._calls = [MethodCall(m, "training_loss") for m in replicas]
        self.best = nn.ModuleList(
            [copy.deepcopy(m).requires_grad_(False) for m in replicas] if select_best else []
        )
        count = len(replicas)
        self.best_f1: list[float | None] = [None] * count
        self.best_epoch: list[int | None] = [None] * count
        self.replica_steps = [0] * count
        self._optimization: list[ReplicaOptimization] = []

    # ------------------------------------------------------------------ optimization
    def configure_optimizers(self) -> Any:
        self._optimization = [replica_optimization(m) for m in self.replicas]
        optimizers = [o.optimizer for o in self._optimization]
        schedulers = [o.scheduler for o in self._optimization if o.scheduler is not None]
        return (optimizers, schedulers) if schedulers else optimizers

    def _optimizers(self) -> list[Any]:
        optimizers = self.optimizers()
        return list(optimizers) if isinstance(optimizers, list) else [optimizers]

    def training_step(self, batch: list[dict[str, Any] | None], batch_idx: int) -> None:
        optimizers = self._optimizers()
        for optimizer in optimizers:  # replicas without a batch keep grad None: not stepped
            optimizer.optimizer.zero_grad(set_to_none=True)
        groups: dict[int, list[int]] = {}
        for index, item in enumerate(batch):
            if item is not None:
                groups.setdefault(int(item["mask"].shape[0]), []).append(index)
        total = None
        logged: dict[int, dict[str, float]] = {}
        for members in groups.values():
            if self.vmapped:
                losses, logs = replica_losses([self._calls[i] for i in members],
                                              [batch[i] for i in members])
            else:
                losses, logs = _looped_losses([self.replicas[i] for i in members],
                                              [batch[i] for i in members])
            total = losses.sum() if total is None else total + losses.sum()
            for position, index in enumerate(members):
                logged[index] = {"train/loss": float(losses[position].detach()),
                                 **{f"train/{k}": float(v[position]) for k, v in logs.items()}}
        if total is None:
            return
        self.manual_backward(total)
        for index in sorted(logged):
            optimizer = optimizers[index]
            if self.clip is not None:
                self.clip_gradients(optimizer, gradient_clip_val=self.clip[0],
                                    gradient_clip_algorithm=self.clip[1])
            optimizer.step()
            self._log_replica(index, logged[index], self.replica_steps[index])
            self.replica_steps[index] += 1
            setup = self._optimization[index]
            if (setup.scheduler is not None and setup.interval == "step"
                    and (batch_idx + 1) % setup.frequency == 0):
                setup.scheduler.step()

    # ------------------------------------------------------------------ epochs
    def on_train_epoch_end(self) -> None:
        epoch = self.current_epoch
        if (epoch + 1) % self.check_val_every_n_epoch == 0:
            for index in range(len(self.replicas)):
                self._validate_replica(index, epoch)
        for setup in self._optimization:
            if (setup.scheduler is not None and setup.interval == "epoch"
                    and (epoch + 1) % setup.frequency == 0):
                setup.scheduler.step()
        for loggers in self.replica_loggers:  # the epoch's rows land with its checkpoint
            for logger in loggers:
                logger.save()

    def _validate_replica(self, index: int, epoch: int) -> None:
        metric = self._metrics[index]
        if metric is None:
            return
        module = self.replicas[index]
        loader = self._datamodules[index].val_dataloader()
        values = validate(module, loader, metric, self.device,
                          self.trainer.precision_plugin.forward_context())
        self._log_replica(index, {f"val/{k}": v for k, v in values.items()},
                          max(self.replica_steps[index] - 1, 0))
        f1 = values.get("f1")
        best = self.best_f1[index]
        if self.select_best and f1 is not None and f1 == f1 and (best is None or f1 > best):
            self.best_f1[index], self.best_epoch[index] = f1, epoch
            self.best[index].load_state_dict(module.state_dict())

    def _log_replica(self, index: int, metrics: dict[str, float], step: int) -> None:
        row = {**metrics, "epoch": self.current_epoch}
        for logger in self.replica_loggers[index]:
            logger.log_metrics(row, step=step)
        if self._trainer is not None:
            # the run's own log keeps an epoch column too: a resume cuts it at its checkpoint
            prefixed = {f"{self.names[index]}/{k}": v for k, v in metrics.items()}
            prefixed["epoch"] = self.current_epoch
            for logger in self.trainer.loggers:
                logger.log_metrics(prefixed, step=self.global_step)

    def selected(self, index: int, last_epoch: int) -> tuple[L.LightningModule, int]:
        """The replica's selected module and the epoch it is from (``last_epoch``: the last
        trained one)."""
        if self.select_best and self.best_epoch[index] is not None:
            return self.best[index], int(self.best_epoch[index])
        return self.replicas[index], last_epoch

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["replicas"] = {"names": self.names, "best_f1": self.best_f1,
                                  "best_epoch": self.best_epoch, "steps": self.replica_steps}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("replicas") or {}
        self.best_f1 = list(state.get("best_f1", self.best_f1))
        self.best_epoch = list(state.get("best_epoch", self.best_epoch))
        self.replica_steps = list(state.get("steps", self.replica_steps))


def _looped_losses(modules: Sequence[Any], batches: Sequence[dict[str, Any]]
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """What :func:`replica_losses` returns, computed one replica at a time."""
    outputs = [module.training_loss(batch) for module, batch in zip(modules, batches)]
    names = set.intersection(*(set(logs) for _, logs in outputs))
    return (torch.stack([loss for loss, _ in outputs]),
            {n: torch.stack([logs[n].detach() for _, logs in outputs]) for n in sorted(names)})
