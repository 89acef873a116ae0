"""`vsumlab cv --replicas vectorized`: every pending (fold, seed) of a cross-validation in one
Lightning run, writing the results folder a sequential run writes.

Each replica is built exactly as its sequential fold (the run plan at that fold and seed:
``seed_everything(seed)`` then the model, data module), so its initial weights, training videos,
shuffling (:mod:`vsumlab.data.shuffling`), validation videos and protocol are that fold's. One
Trainer (the recipe's settings: devices, precision, epochs, deterministic) fits a
:class:`~vsumlab.training.replicas.module.ReplicaModule` over all of them; then every replica's
selected state is scored as :func:`vsumlab.training.cv.run_fold` scores a fold, and its fold
folder gets ``result.json``, ``predictions.h5``, ``checkpoints/[best-]epoch=E.ckpt`` (a normal
checkpoint of the recipe's model class), ``csv/metrics.csv`` and ``config.yaml``.

The run's own state lives in ``OUT/replicas/``: ``replicas.json`` (which (fold, seed) pairs it
trains, and how they are divided among processes) and ``checkpoints/last.ckpt`` (written
atomically after every epoch); a rerun after a kill resumes from it exactly, as a sequential fold
resumes from its ``last.ckpt``.

Under DDP (``--trainer.devices=N --trainer.strategy=ddp``, or torchrun) process ``k`` of ``N``
trains the pairs ``pairs[k::N]``, writes their fold folders and its own run checkpoint
``checkpoints/rank<k>/last.ckpt``; rank 0 writes ``results.json`` from every process's results
(:mod:`vsumlab.training.replicas.ranks`).

:func:`vectorization_refusal` says why a recipe cannot run so (None when it can): settings the
engine does not reproduce, and a real probe of the method under vmap
(:mod:`vsumlab.training.replicas.probe`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vsumlab.errors import ConfigError
from vsumlab.io import write_json_atomic, write_text_atomic
from vsumlab.training.replicas.ranks import DDP_STRATEGIES

if TYPE_CHECKING:
    from vsumlab.training.cv import CVOptions
    from vsumlab.training.plan import RecipeConfig

REPLICA_MODES = ("sequential", "vectorized", "auto")

#: trainer options whose non-default values the engine does not reproduce (the defaults)
_TRAINER_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "num_nodes": (1, None),
    # Lightning's DDP divides the replicas among the processes (vsumlab.training.replicas.ranks)
    "strategy": ("auto", None, "single_device", *DDP_STRATEGIES),
    "accumulate_grad_batches": (1, None),
    "fast_dev_run": (False, 0, None),
    "max_steps": (-1, None),
    "limit_train_batches": (1.0, None),
    "limit_val_batches": (1.0, None),
    "limit_predict_batches": (1.0, None),
    "val_check_interval": (1.0, None),
    "overfit_batches": (0.0, 0, None),
}


@dataclass
class Replica:
    """One (fold, seed) of the run, built as its sequential fold."""

    fold: int
    seed: int | None
    config: Any
    model: Any
    datamodule: Any

    @property
    def name(self) -> str:
        return f"fold{self.fold}" + (f"_seed{self.seed}" if self.seed is not None else "")


def note(message: str) -> None:
    print(f"vsumlab: note: {message}", file=sys.stderr)


def settings_refusal(recipe: RecipeConfig, options: CVOptions) -> str | None:
    """Why the recipe's settings rule the engine out (None when they do not)."""
    from vsumlab.training.cv import sweep_context

    config = recipe.config
    for key, allowed in _TRAINER_DEFAULTS.items():
        value = config.get(f"trainer.{key}") if f"trainer.{key}" in config else None
        if value not in allowed:
            return f"trainer.{key}={value!r} is not supported by vectorized replicas"
    callbacks = config.get("trainer.callbacks") if "trainer.callbacks" in config else None
    if callbacks:
        return "the recipe adds trainer callbacks, which act on one run"
    if sweep_context() is not None:
        return "a W&B sweep agent's run logs folds one after another"
    return None


def build_replica(options: CVOptions, recipe: RecipeConfig, fold: int, seed: int | None,
                  pretrained: Path | None = None,
                  trainer_overrides: dict[str, Any] | None = None) -> tuple[Replica, Any]:
    """The replica's model and data module, built (and seeded) as its sequential fold; and the
    trainer built with them (the recipe's, with ``trainer_overrides``)."""
    from vsumlab.training.plan import RunPlan, build

    plan = RunPlan(options.recipe, tuple(options.overrides), fold=fold, seed=seed,
                   pretrained=pretrained, pretrained_into=options.pretrain_into,
                   deterministic=options.deterministic)
    config = recipe.resolve(plan)
    overrides = trainer_overrides or {"logger": False, "enable_checkpointing": False,
                                      "enable_progress_bar": False,
                                      "enable_model_summary": False}
    model, datamodule, trainer = build(plan, recipe, config=config, trainer_overrides=overrides)
    return Replica(fold, seed, config, model, datamodule), trainer


def probe_refusal(replica: Replica) -> str | None:
    """Why this built replica cannot train vectorized: its data module, optimizer or a real
    vmap probe of its training loss on its first training batch."""
    from vsumlab.training.replicas.optimization import Unsupported, replica_optimization
    from vsumlab.training.replicas.probe import vmap_refusal

    datamodule, model = replica.datamodule, replica.model
    if not all(hasattr(datamodule, a) for a in ("records_for", "keys", "target")):
        return f"its data module {type(datamodule).__name__} has no per-fold video records"
    if not callable(getattr(model, "scores", None)):
        return f"{type(model).__name__} has no scores(features, mask)"
    if not datamodule.keys["train"]:
        return "the setting has no training videos"
    try:
        replica_optimization(model)
    except Unsupported as exc:
        return str(exc)
    batch = next(iter(datamodule.train_dataloader()))
    if not isinstance(batch, dict) or "mask" not in batch:
        return "its training batches are not padded videos with a mask"
    return vmap_refusal(model, batch)


def vectorization_refusal(options: CVOptions, recipe: RecipeConfig, fold: int,
                          seed: int | None, count: int | None = None) -> str | None:
    """Why the recipe's ``count`` replicas cannot be vectorized (None when they can); builds
    one replica, writes nothing."""
    from vsumlab.training.replicas.ranks import process_rank

    reason = settings_refusal(recipe, options)
    if reason is not None:
        return reason
    replica, trainer = build_replica(options, recipe, fold, seed)
    _, world = process_rank(trainer)
    if count is not None and count < world:
        return f"{count} replicas cannot be divided among {world} processes"
    reason = probe_refusal(replica)
    if reason is not None:
        name = type(getattr(replica.model, "summarizer", replica.model)).__name__
        return f"{name}: {reason}"
    return None


def choose_vectorized(options: CVOptions, recipe: RecipeConfig, folds: list[int]) -> bool:
    """Whether to train the replicas vectorized: ``--replicas`` and the probe decide. Under
    ``auto`` a refusal is one note line (sequential then); under ``vectorized`` it is a
    ConfigError (before anything is written)."""
    mode = options.replicas
    if mode not in REPLICA_MODES:
        raise ConfigError(f"--replicas={mode!r} is unknown; expected one of "
                          + ", ".join(REPLICA_MODES))
    seeds = list(options.seeds) if options.seeds else [None]
    if mode == "sequential" or (mode == "auto" and len(folds) * len(seeds) < 2):
        return False
    reason = vectorization_refusal(options, recipe, folds[0], seeds[0], len(folds) * len(seeds))
    if reason is None:
        return True
    if mode == "vectorized":
        raise ConfigError(f"--replicas vectorized: cannot vectorize {options.recipe}: {reason}")
    note(f"--replicas auto: training the replicas one after another: {reason}")
    return False


# ---------------------------------------------------------------------------- the run
def run_replicas(options: CVOptions, recipe: RecipeConfig,
                 pairs: list[tuple[int, int | None]], pretrained: Path | None = None,
                 progress: Any = None) -> list[dict[str, Any]]:
    """Train every pair without a ``result.json`` in one run; the result of every pair (in
    ``pairs`` order), each as :func:`vsumlab.training.cv.run_fold` returns it."""
    from vsumlab.training.fold_results import read_fold_result

    results: dict[tuple[int, int | None], dict[str, Any]] = {}
    for fold, seed in pairs:
        done = fold_dir(options, fold, seed) / "result.json"
        if done.is_file():  # finished by an earlier run: read and said as a sequential fold's
            results[(fold, seed)] = read_fold_result(done)
            if progress is not None:
                progress.skipped(fold, seed)
                progress.fold_done(results[(fold, seed)])
    pending = [pair for pair in pairs if pair not in results]
    if pending:
        results.update(_train(options, recipe, pending, pretrained, progress))
    return [results[pair] for pair in pairs]


def fold_dir(options: CVOptions, fold: int, seed: int | None) -> Path:
    seed_dir = options.out_dir / (f"seed_{seed}" if seed is not None else "seed_default")
    return seed_dir / f"fold_{fold}"


def _processes(options: CVOptions, recipe: RecipeConfig, pair: tuple[int, int | None],
               pretrained: Path | None) -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless the recipe asks for DDP, then what
    Lightning's strategy of a trainer built from the recipe says (before anything launches)."""
    from vsumlab.training.replicas.ranks import process_rank, replica_strategy

    if replica_strategy(recipe.config) is None:
        return 0, 1
    _, trainer = build_replica(options, recipe, pair[0], pair[1], pretrained)
    return process_rank(trainer)


def _train(options: CVOptions, recipe: RecipeConfig, pending: list[tuple[int, int | None]],
           pretrained: Path | None, progress: Any) -> dict[tuple[int, int | None], Any]:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vsumlab.training.callbacks import RNGStateCheckpoint
    from vsumlab.training.cv import _config_header, _loggers
    from vsumlab.training.environment import git_commit
    from vsumlab.training.replicas.checkpoints import AtomicCheckpointIO
    from vsumlab.training.replicas.data import ReplicaBatches
    from vsumlab.training.replicas.module import ReplicaModule
    from vsumlab.training.replicas.ranks import (
        DivisionSetup,
        agreed_resume,
        gather_results,
        plan_division,
        replica_strategy,
    )
    from vsumlab.training.replicas.replica_csv import ReplicaCSVLogger
    from vsumlab.training.resume import RunIdentityCheckpoint, keep_metrics_until, run_identity

    state_dir = options.out_dir / "replicas"
    rank, world = _processes(options, recipe, pending[0], pretrained)
    # read-only until every process has joined (DivisionSetup then writes): all must agree
    division = plan_division(state_dir, pending, world)
    pairs, share = division.pairs, division.share(rank)
    # as a fold's: a resume takes only a checkpoint of this run (configuration, model class,
    # feature width)
    identity = run_identity(recipe.config, options.out_dir / "run.json", "replicas", None)
    resume_from, resume_epoch = (None, None) if division.fresh else \
        agreed_resume(state_dir / "checkpoints", rank, world, identity)
    if rank == 0:
        keep_metrics_until(state_dir / "csv" / "metrics.csv", resume_epoch)
    commit = git_commit()
    record = {"replicas": [list(p) for p in pairs], "world_size": world,
              "experiment": options.experiment, "recipe": str(options.recipe),
              "overrides": list(options.overrides), "git_commit": commit}
    setup = DivisionSetup(division, state_dir, None)
    run_overrides: dict[str, Any] = {
        "default_root_dir": str(state_dir),
        "logger": _loggers(options, state_dir, f"{options.experiment}-replicas", record),
        # every epoch: last.ckpt, and the epoch's own file (top-1 of no monitor: the latest),
        # which a resume falls back to (save_top_k=0 would write last.ckpt at the end only);
        # under DDP every process writes its own (ReplicaDDPStrategy: checkpoints/rank<k>/)
        "callbacks": [setup, ModelCheckpoint(dirpath=str(state_dir / "checkpoints"),
                                             save_last=True, save_top_k=1),
                      RNGStateCheckpoint(), RunIdentityCheckpoint(identity), *options.callbacks],
        "plugins": [AtomicCheckpointIO()],
        "gradient_clip_val": None,  # clipped per replica by the module
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    strategy = replica_strategy(recipe.config)
    if strategy is not None:
        run_overrides["strategy"] = strategy
    replicas: list[Replica] = []
    trainer = None
    for fold, seed in share:
        replica, built = build_replica(options, recipe, fold, seed, pretrained,
                                       run_overrides if trainer is None else None)
        trainer = trainer or built
        _check_features(replica)
        replicas.append(replica)
        directory = fold_dir(options, fold, seed)
        keep_metrics_until(directory / "csv" / "metrics.csv", resume_epoch)
        write_text_atomic(directory / "config.yaml", _config_header(options, fold, seed, commit)
                          + recipe.dump(replica.config))
    assert trainer is not None
    config = replicas[0].config
    clip_val = config.get("trainer.gradient_clip_val") if "trainer" in config else None
    clip = (float(clip_val), config.get("trainer.gradient_clip_algorithm") or "norm") \
        if clip_val else None
    check_every = (config.get("trainer.check_val_every_n_epoch") or 1) if "trainer" in config \
        else 1
    csv = [[ReplicaCSVLogger(save_dir=str(fold_dir(options, r.fold, r.seed)), name="csv",
                             version="")] for r in replicas]
    module = ReplicaModule([r.model for r in replicas], [r.datamodule for r in replicas],
                           [r.name for r in replicas],
                           select_best=recipe.model_selection() != "last", clip=clip,
                           check_val_every_n_epoch=int(check_every), replica_loggers=csv,
                           protocol=recipe.protocol(),
                           vmapped=trainer.strategy.root_device.type != "cpu")
    setup.batches = batches = ReplicaBatches([r.datamodule.train_dataloader() for r in replicas])
    trainer.fit(module, train_dataloaders=batches, weights_only=True,
                ckpt_path=str(resume_from) if resume_from else None)
    last_epoch = int(trainer.current_epoch) - 1
    results = {}
    for index, replica in enumerate(replicas):
        if (replica.fold, replica.seed) not in pending:
            continue
        results[(replica.fold, replica.seed)] = _finish_replica(
            options, recipe, module, index, replica, last_epoch, trainer, csv[index])
        if progress is not None:
            progress.fold_done(results[(replica.fold, replica.seed)])
    # every process has written its replicas' folders once all have sent their results
    everyone = gather_results(results)
    if progress is not None:
        for pair in pairs:
            if pair in everyone and pair not in results:
                progress.fold_done(everyone[pair])
    from vsumlab.training.cv import _finish_wandb

    _finish_wandb(trainer.loggers)
    return everyone


def _check_features(replica: Replica) -> None:
    """What :class:`~vsumlab.training.scoring.ProtocolScoring` does when a fold starts."""
    from vsumlab.training.scoring import fit_module_to_data

    fit_module_to_data(replica.datamodule, replica.model)


def _finish_replica(options: CVOptions, recipe: RecipeConfig, module: Any, index: int,
                    replica: Replica, last_epoch: int, trainer: Any,
                    loggers: list[Any]) -> dict[str, Any]:
    """Score the replica's selected state and write its fold folder (result.json last)."""
    from vsumlab.evaluation.predictions import write_predictions
    from vsumlab.training.cv import fold_result
    from vsumlab.training.replicas.checkpoints import write_replica_checkpoint
    from vsumlab.training.replicas.evaluation import predict, validate, validation_metric

    fold, seed, datamodule = replica.fold, replica.seed, replica.datamodule
    directory = fold_dir(options, fold, seed)
    selected, epoch = module.selected(index, last_epoch)
    context = trainer.precision_plugin.forward_context
    val = None
    if datamodule.keys["val"]:
        val = validate(selected, datamodule.val_dataloader(),
                       validation_metric(recipe.protocol(), datamodule), module.device,
                       context())
    predictions = predict(selected, datamodule.test_dataloader(), module.device, context())
    write_predictions(directory / "predictions.h5", predictions, force=True)
    # named as a sequential fold names it: "best-" only when the epoch was selected by val F1
    prefix = "" if recipe.model_selection() == "last" else "best-"
    checkpoint = (directory / "checkpoints" / f"{prefix}epoch={epoch}.ckpt").resolve()
    write_replica_checkpoint(checkpoint, selected, datamodule, epoch,
                             module.replica_steps[index], recipe.protocol())
    result = fold_result(options, recipe, fold, seed, replica.config, datamodule, predictions,
                         val, str(checkpoint))
    for logger in loggers:
        logger.log_metrics({f"test/{k}": v for k, v in result["model"].items()},
                           step=max(module.replica_steps[index] - 1, 0))
        logger.save()
    write_json_atomic(directory / "result.json", result)
    return result
