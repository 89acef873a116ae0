"""Replicas divided among the processes of a multi-device run (``--trainer.devices=N``, DDP).

Lightning launches the processes and builds their process group (its own launcher re-executing
the command, or torchrun/srun); every process then trains its share of the run's (fold, seed)
pairs, ``pairs[rank::world_size]``, on its own device. Replicas share nothing, so
:class:`ReplicaDDPStrategy` is Lightning's DDP strategy without the DistributedDataParallel
wrapper: no gradient of one replica is ever averaged with another's.

What a process must not do alone is coordinated through Lightning's process group:

- the number of training steps per epoch is the largest over every process's replicas (Lightning
  broadcasts a flag at every step: every process must take as many steps; a replica with no batch
  left takes no optimizer step, as in one process);
- each process saves its own run checkpoint, ``checkpoints/rank<k>/last.ckpt`` (Lightning's own
  save happens on rank 0 only), and a resume starts every process from the newest epoch that
  every process has saved (:func:`agreed_resume`);
- ``replicas.json`` records the division; a resume with another number of processes is refused
  (:func:`plan_division`): a process's checkpoint holds its replicas' optimizer states and the one
  random number generator state they drew dropout from, which no other division continues
  exactly;
- the results of every replica are gathered on every process (:func:`gather_results`), so rank 0
  writes ``results.json`` once every process has written its replicas' fold folders.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch.distributed as dist
from lightning.pytorch.strategies import DDPStrategy

from vsumlab.errors import ConfigError
from vsumlab.io import read_json, write_json_atomic

Pair = tuple[int, int | None]

#: recipe strategies under which the replicas are divided among processes (Lightning's DDP)
DDP_STRATEGIES = ("ddp", "ddp_find_unused_parameters_false", "ddp_find_unused_parameters_true")


def rank_checkpoint_dir(checkpoints: Path, rank: int, world_size: int) -> Path:
    """Where process ``rank`` keeps its run checkpoints (the folder itself in one process)."""
    return checkpoints if world_size <= 1 else checkpoints / f"rank{rank}"


class ReplicaDDPStrategy(DDPStrategy):
    """Lightning's DDP (launching, process group, devices, precision) without the
    DistributedDataParallel wrapper, and with one checkpoint per process.

    Every process trains other replicas, so their gradients must not be all-reduced: the module
    stays unwrapped (Lightning's DDP hooks already skip an unwrapped module). Checkpoints a
    callback asks for at ``dir/name`` are written by every process to ``dir/rank<k>/name``.
    """

    def configure_ddp(self) -> None:
        pass  # no DistributedDataParallel: each process's replicas are its own

    def _own(self, filepath: Any) -> Path:
        path = Path(filepath)
        return rank_checkpoint_dir(path.parent, self.global_rank, self.world_size) / path.name

    def save_checkpoint(self, checkpoint: dict[str, Any], filepath: Any,
                        storage_options: Any | None = None) -> None:
        self.checkpoint_io.save_checkpoint(checkpoint, self._own(filepath),
                                           storage_options=storage_options)

    def remove_checkpoint(self, filepath: Any) -> None:
        self.checkpoint_io.remove_checkpoint(self._own(filepath))


def replica_strategy(config: Any) -> ReplicaDDPStrategy | None:
    """The strategy a replica run uses instead of the recipe's DDP choice (None: the recipe's
    own single-device strategy). ``devices`` > 1 with ``strategy: auto`` is Lightning's DDP too."""
    strategy = config.get("trainer.strategy") if "trainer.strategy" in config else None
    devices = config.get("trainer.devices") if "trainer.devices" in config else None
    if strategy in DDP_STRATEGIES or (strategy in ("auto", None) and devices not in (1, "1", None)):
        return ReplicaDDPStrategy()
    return None


def process_rank(trainer: L.Trainer) -> tuple[int, int]:
    """This process's (global rank, world size) before ``fit`` launches anything: what the
    cluster environment (LOCAL_RANK/NODE_RANK from Lightning's launcher, RANK/WORLD_SIZE from
    torchrun) says; Lightning sets the same values when it sets up the process group."""
    strategy = trainer.strategy
    if isinstance(strategy, DDPStrategy):
        strategy.set_world_ranks()
    return int(trainer.global_rank), int(trainer.world_size)


@dataclass
class Division:
    """The run's pairs, the number of processes sharing them, and whether the run starts afresh
    (no earlier state of these pairs and this division to resume)."""

    pairs: list[Pair]
    world_size: int
    fresh: bool

    def share(self, rank: int) -> list[Pair]:
        return self.pairs[rank::self.world_size]

    def record(self) -> dict[str, Any]:
        return {"pairs": [list(p) for p in self.pairs], "world_size": self.world_size,
                "ranks": [[list(p) for p in self.share(r)] for r in range(self.world_size)]}


def plan_division(state_dir: Path, pending: list[Pair], world_size: int) -> Division:
    """The division this run trains, read from ``state_dir`` and changing nothing (every process
    reads it before any writes: they must agree). An earlier attempt is continued when it
    trained every pending pair (a kill while results were written) with as many processes;
    with another number of processes and saved state, a one-line refusal."""
    division = _division(state_dir, pending, world_size)
    if len(division.pairs) < world_size:
        count = len(division.pairs)
        raise ConfigError(f"--replicas vectorized: {count} replicas cannot be divided among "
                          f"{world_size} processes; use at most {count} devices")
    return division


def _division(state_dir: Path, pending: list[Pair], world_size: int) -> Division:
    record = state_dir / "replicas.json"
    if not record.is_file():
        return Division(list(pending), world_size, fresh=True)
    earlier = read_json(record, "replica record")
    pairs: list[Pair] = [(int(f), None if s is None else int(s)) for f, s in earlier["pairs"]]
    if not set(pending) <= set(pairs):
        from vsumlab.training.replicas.run import note

        if is_rank_zero():
            note(f"{state_dir}: trained other replicas; starting this run afresh")
        return Division(list(pending), world_size, fresh=True)
    earlier_world = int(earlier.get("world_size", 1))
    if earlier_world != world_size:
        if any((state_dir / "checkpoints").rglob("*.ckpt")):
            raise ConfigError(
                f"{record}: an interrupted run of {len(pairs)} replicas divided among "
                f"{earlier_world} processes; resume it with {earlier_world} devices (each "
                "process's checkpoint holds its replicas' optimizer and random number generator "
                f"states), or delete {state_dir / 'checkpoints'} to train them again")
        return Division(list(pending), world_size, fresh=True)
    return Division(pairs, world_size, fresh=False)


def is_rank_zero() -> bool:
    from vsumlab.training.cv import is_global_zero

    return is_global_zero()


def agreed_resume(checkpoints: Path, rank: int, world_size: int,
                  identity: dict[str, Any] | None = None) -> tuple[Path | None, int | None]:
    """This process's checkpoint of the newest epoch every process has saved, and that epoch;
    (None, None) when some process has none (every process restarts). A kill between two
    processes' saves of an epoch leaves one of them an epoch ahead: both continue from the
    earlier epoch (each process keeps last.ckpt and the latest epoch's own file)."""
    from vsumlab.errors import printable
    from vsumlab.models.loading import read_checkpoint
    from vsumlab.training.resume import FOREIGN_HINT, identity_mismatch, resume_checkpoint

    if world_size <= 1:
        return resume_checkpoint(checkpoints, identity)
    saved: list[dict[int, Path]] = []
    for other in range(world_size):
        epochs: dict[int, Path] = {}
        folder = rank_checkpoint_dir(checkpoints, other, world_size)
        for path in sorted(folder.glob("*.ckpt"), key=lambda p: p.name != "last.ckpt"):
            try:
                payload = read_checkpoint(path, "resume")
            except ConfigError:
                continue  # truncated by a kill while written
            if isinstance(payload, dict) and "loops" in payload:
                # as a fold's resume: only a checkpoint of this run (identity_mismatch)
                problem = identity_mismatch(payload, identity) if identity is not None else None
                if problem is not None:
                    raise ConfigError(f"{printable(path)}: not a checkpoint of this run: "
                                      f"{problem}; {FOREIGN_HINT}")
                epochs.setdefault(int(payload.get("epoch", 0)), path)
        saved.append(epochs)
    common = set.intersection(*(set(epochs) for epochs in saved))
    if not common:
        if any(saved) and rank == 0:
            from vsumlab.training.resume import _warn

            _warn(f"{checkpoints}: no epoch saved by every process; the run restarts")
        return None, None
    epoch = max(common)
    return saved[rank][epoch], epoch


class DivisionSetup(L.Callback):
    """Once every process has joined (Lightning's ``setup`` runs after a barrier): agree on the
    number of steps per epoch, and let rank 0 record the division (removing a stale run's
    checkpoints when this run starts afresh)."""

    def __init__(self, division: Division, state_dir: Path, batches: Any) -> None:
        self.division = division
        self.state_dir = state_dir
        self.batches = batches

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        steps = len(self.batches)
        if dist.is_available() and dist.is_initialized() and trainer.world_size > 1:
            every: list[Any] = [None] * trainer.world_size
            dist.all_gather_object(every, steps)
            steps = max(every)
        self.batches.steps = steps
        if trainer.is_global_zero:
            if self.division.fresh:
                shutil.rmtree(self.state_dir / "checkpoints", ignore_errors=True)
            write_json_atomic(self.state_dir / "replicas.json", self.division.record())


def gather_results(results: dict[Pair, Any]) -> dict[Pair, Any]:
    """Every process's replica results (after all of them wrote their fold folders)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        parts: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, results)
        return {pair: result for part in parts for pair, result in part.items()}
    return results

