"""K-fold cross-validation: one Lightning run per fold, results written atomically.

The recipe and its overrides are parsed once into a run plan (:mod:`vsumlab.training.plan`);
each fold and seed is that plan with typed fields set, built into one model, data module and
Trainer. Fold count and model selection are read from the plan.

Layout of a results folder::

    OUT/
      run.json            identity of the run (recipe, overrides, seeds); a rerun must match it
      config.yaml         the effective configuration (recipe + overrides, fold 0), with the
                          recipe, overrides and git commit in its header comment
      environment.json    git commit, package versions, machine
      pretrain/           optional pretraining stage (``pretrain`` recipe): checkpoints/, csv/,
                          config.yaml, result.json; every fold fine-tunes from its checkpoint
      seed_<s>/fold_<k>/  checkpoints/ (last.ckpt, best), csv/, predictions.h5, result.json
                          (test and validation metrics of the selected checkpoint, seeds, split),
                          config.yaml (the fold's effective configuration: its fold and seed)
      results.json        rows: model and references (random, uniform, human), F1 in percent;
                          the model row also holds val_f1/val_kendall/... (mean over folds of
                          the selected checkpoints' validation metrics: what sweeps optimise)
      results.md          the same as a markdown table

W&B records each fold's effective configuration with a ``vsumlab`` block (experiment, recipe,
overrides, fold, seed, git commit), and its best checkpoint, predictions and result.json as an
artifact. A finished fold (its ``result.json`` exists) is skipped on rerun; an interrupted one resumes
from ``checkpoints/last.ckpt``. An existing folder of another run is never overwritten
without ``force``.

Under a W&B sweep agent (``WANDB_SWEEP_ID`` and ``WANDB_RUN_ID`` set), all folds log into the
agent's single run (per-fold curves prefixed ``fold<k>``, per-fold and mean metrics, the mean
validation metrics in its summary) instead of one run per fold, which would clash on the id.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vsumlab.errors import ConfigError, OutputExistsError
from vsumlab.evaluation.metric_registry import METRICS, PRIMARY, logged_name
from vsumlab.io import write_json_atomic, write_text_atomic
from vsumlab.training.earlier_class_paths import (
    with_earlier_class_paths,
    with_earlier_protocol_place,
    without_later_defaults,
)
from vsumlab.training.environment import environment_record, git_commit
from vsumlab.training.fold_results import REFERENCE_ROWS, ResultRow, write_results
from vsumlab.training.split_records import split_entry

if TYPE_CHECKING:
    from vsumlab.training.plan import RecipeConfig


@dataclass
class CVOptions:
    recipe: Path
    out_dir: Path
    overrides: list[str] = field(default_factory=list)
    name: str | None = None
    folds: list[int] | None = None
    seeds: list[int] | None = None
    # canonical | random:N[:SEED] | a split file: sets data.splits or data.split_file
    splits: str | None = None
    force: bool = False
    deterministic: bool = False
    wandb_mode: str | None = None  # offline | online | disabled (default: WANDB_MODE or offline)
    wandb_project: str = "vsumlab"
    reference_draws: int = 20
    quiet: bool = False  # print nothing (the caller reads the returned rows)
    verbose: bool = False  # Lightning's and W&B's own messages too
    # optional pretraining stage (e.g. ViSP, Cap2Sum): one fit of this recipe, then every fold
    # starts from its last checkpoint through --model.init_args.pretrained
    pretrain: Path | None = None
    pretrain_overrides: list[str] = field(default_factory=list)
    # a checkpoint every fold starts from (without a pretraining stage), and the model argument
    # a pretrained checkpoint goes to (``captioner`` for CLIP-It's guide)
    pretrained: Path | None = None
    pretrain_into: str = "pretrained"
    # extra Lightning callbacks attached to every fold's trainer (e.g. a benchmark's timer)
    callbacks: list[Any] = field(default_factory=list)
    # sequential | vectorized (every fold and seed in one run) | auto (vectorized when the
    # method allows it; see vsumlab.training.replicas.run). `vsumlab cv` defaults to auto;
    # library callers (sweeps, reproduce, benchmarks) keep the sequential runs they expect
    replicas: str = "sequential"

    @property
    def experiment(self) -> str:
        return self.name or self.recipe.stem


@dataclass(frozen=True)
class SweepContext:
    """The W&B sweep run this process was started for by ``wandb agent``."""

    sweep_id: str
    run_id: str


def sweep_context(environ: Mapping[str, str] | None = None) -> SweepContext | None:
    """The sweep run named by the agent's environment variables, or None outside a sweep."""
    env = os.environ if environ is None else environ
    sweep_id, run_id = env.get("WANDB_SWEEP_ID"), env.get("WANDB_RUN_ID")
    if sweep_id and run_id:
        return SweepContext(sweep_id, run_id)
    return None


def is_global_zero(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is rank 0 of a multi-process run (True when alone).

    Under DDP every process runs `vsumlab cv` (Lightning re-executes the command for its other
    local ranks; srun and torchrun start all of them), so only rank 0 writes the results folder.
    """
    env = os.environ if environ is None else environ
    for var in ("RANK", "SLURM_PROCID"):  # torchrun / SLURM: the global rank
        if env.get(var):
            return int(env[var]) == 0
    return int(env.get("LOCAL_RANK") or 0) == 0 and int(env.get("NODE_RANK") or 0) == 0


def gather_predictions(predictions: dict[str, Any]) -> dict[str, Any]:
    """Every rank's predictions (each rank predicts its share of the test videos under DDP)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        parts: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, predictions)
        return {key: value for part in parts for key, value in part.items()}
    return predictions


def _digest(hashed: Any) -> str:
    hashed = with_earlier_class_paths(hashed)  # folders written before the moves keep their hash
    return hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Effective:
    """The configuration a run actually uses (recipe, overrides and defaults resolved)."""

    config: dict[str, Any]
    pretrain: dict[str, Any] | None = None


def _effective(recipe: RecipeConfig, composed: dict[str, Any], overrides: Sequence[str],
               pretrained: Path | None = None, pretrain_into: str = "pretrained",
               folds: bool = True) -> dict[str, Any]:
    """The parsed configuration at fold 0 (what a rerun must match), without the recipe file
    name; an override restating a default leaves it unchanged. A seed LightningCLI draws
    (``seed_everything: true``) is left out: it is drawn anew by every process."""
    config = _fold_zero(recipe) if folds else recipe.config.clone()
    if pretrained is not None:
        key = f"model.init_args.{pretrain_into}"
        if key not in config:
            raise ConfigError(f"{recipe.recipe}: the model has no '{pretrain_into}' argument to "
                              "start from a pretrained checkpoint")
        config[key] = str(pretrained)
    return identity_config(recipe.effective(config), composed, overrides)


def identity_config(effective: dict[str, Any], composed: dict[str, Any],
                    overrides: Sequence[str]) -> dict[str, Any]:
    """What of an effective configuration (plain data) identifies a run: a seed drawn by
    every process and optimizer choices left unset are dropped."""
    recipe_seed = composed.get("seed_everything")
    seed_given = (isinstance(recipe_seed, int) and not isinstance(recipe_seed, bool)) or any(
        o.lstrip("-").startswith("seed_everything") for o in overrides
    )
    if not seed_given:
        effective.pop("seed_everything", None)
    # the optimizer/scheduler choices came later: left at None they keep earlier folders' identity
    init_args = (effective.get("model") or {}).get("init_args") or {}
    for key in ("optimizer", "lr_scheduler", "lr_scheduler_config"):
        if key in init_args and init_args[key] is None:
            del init_args[key]
    # data.splits came later too: canonical folds (None, or written out) keep the identity of
    # earlier folders; random:5 is random:5:0
    data_args = (effective.get("data") or {}).get("init_args") or {}
    if "splits" in data_args:
        from vsumlab.data.split_choices import normal_spec

        data_args["splits"] = normal_spec(data_args["splits"])
        if data_args["splits"] is None:
            del data_args["splits"]
    # the protocol moved from the model to the run: hashed where earlier runs recorded it;
    # model arguments added later hash as before while they keep the earlier behaviour
    return with_earlier_protocol_place(without_later_defaults(effective))


def _identity(
    options: CVOptions,
    composed: dict[str, Any],
    pretrain: dict[str, Any] | None = None,
    effective: Effective | None = None,
    file_splits: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    legacy: list[Any] = [composed, options.overrides]  # what run.json recorded before 2026-12
    if pretrain is not None:
        legacy += [pretrain, options.pretrain_overrides]
    hashed: Any = legacy
    if effective is not None:
        hashed = [effective.config] + ([effective.pretrain] if pretrain is not None else [])
    if file_splits is not None:  # an edited split file is another run (same path or not)
        hashed = [*hashed, file_splits]
        legacy = [*legacy, file_splits]
    identity = {
        "experiment": options.experiment,
        "recipe": str(options.recipe),
        "overrides": options.overrides,
        "config_hash": _digest(hashed),
        "legacy_config_hash": _digest(legacy),
        "deterministic": options.deterministic,
        "seeds": options.seeds,
    }
    if options.pretrained is not None:
        identity["pretrained"] = str(options.pretrained)
    if pretrain is not None:
        identity["pretrain"] = {"recipe": str(options.pretrain),
                                "overrides": options.pretrain_overrides}
    return identity


def read_run_record(run_file: Path) -> dict[str, Any]:
    """``OUT/run.json``, or a one-line error when it is not a JSON object."""
    from vsumlab.io import parse_json

    try:
        previous = parse_json(run_file.read_text(encoding="utf-8"), run_file)
    except ConfigError as exc:  # not JSON, or a key twice
        raise ConfigError(
            f"{exc}; it records the run's identity: restore it, or pass --force to start the run "
            "afresh"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{run_file}: not UTF-8 text; pass --force to start afresh") from exc
    if not isinstance(previous, dict):
        raise ConfigError(f"{run_file}: expected a JSON object; pass --force to start afresh")
    return previous


def prepare_out_dir(
    options: CVOptions, identity: dict[str, Any], inputs: Mapping[str, Path] | None = None
) -> None:
    """Create the folder, or resume the same run in it; refuse another run's folder, and a resume
    whose input files differ from those the run started with (``inputs``: option -> file)."""
    from vsumlab.training.fingerprints import fingerprint_inputs, input_difference

    out = options.out_dir
    run_file = out / "run.json"
    previous: dict[str, Any] = {}
    if out.exists() and any(out.iterdir()):
        if options.force:
            _clear(out)
        elif not run_file.is_file():
            raise OutputExistsError(
                f"{out}: exists and is not a vsumlab cv folder; pass --force to overwrite"
            )
        else:
            previous = read_run_record(run_file)
            same = previous.get("config_hash") == identity["config_hash"] or (
                "inputs" not in previous  # written before effective hashes and fingerprints
                and previous.get("config_hash") == identity["legacy_config_hash"]
            )
            if not same:
                raise OutputExistsError(
                    f"{out}: holds a run of another configuration "
                    f"({previous.get('recipe')}, overrides {previous.get('overrides')}); "
                    "pass --force to overwrite or choose another --out"
                )
    recorded = previous.get("inputs") if isinstance(previous.get("inputs"), dict) else None
    identity = dict(identity)
    identity["inputs"] = fingerprint_inputs(inputs or {}, recorded)
    if recorded is not None:
        difference = input_difference(recorded, identity["inputs"])
        if difference is not None:
            raise OutputExistsError(
                f"{out}: resuming would mix inputs: {difference}; pass --force to start afresh "
                "or choose another --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_file, identity)


def _clear(out: Path) -> None:
    """Empty ``out`` for --force. A symlinked results folder (results kept on another disk) keeps
    its link and is emptied in place, and only when it holds a vsumlab cv run: the link may point
    anywhere."""
    if not out.is_symlink():
        shutil.rmtree(out)
        return
    if not (out / "run.json").is_file():
        raise OutputExistsError(
            f"{out}: is a link to {out.resolve()}, which holds no vsumlab cv run (no run.json); "
            "--force empties a linked folder only when it holds a run: empty it yourself or "
            "choose another --out"
        )
    for child in out.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _wandb_mode(options: CVOptions, default: str = "offline") -> str:
    mode = options.wandb_mode or os.environ.get("WANDB_MODE", default)
    if mode not in ("offline", "online", "disabled", "dryrun", "run"):
        raise ConfigError(f"--wandb-mode={mode!r} is unknown; expected offline, online, disabled")
    return mode


def _loggers(
    options: CVOptions,
    fold_dir: Path,
    run_name: str,
    config: dict[str, Any],
    shared_run: Any = None,
    prefix: str = "",
) -> list:
    """The run's CSV logger and W&B logger; ``config``: what W&B records as the run's config
    (the effective configuration, fold, seed and commit)."""
    from vsumlab.training.resume import ResumableCSVLogger, wandb_run_id

    loggers: list = [ResumableCSVLogger(save_dir=str(fold_dir), name="csv", version="")]
    mode = _wandb_mode(options)
    if shared_run is not None:
        from lightning.pytorch.loggers import WandbLogger

        # the sweep's single run: each fold's curves under its own prefix
        loggers.append(WandbLogger(experiment=shared_run, prefix=prefix))
    elif mode != "disabled":
        from lightning.pytorch.loggers import WandbLogger

        # the same run id on every attempt: a resumed fold continues its W&B run
        run_id = wandb_run_id(fold_dir) if is_global_zero() else None
        wandb_logger = WandbLogger(
            id=run_id,
            resume="allow",
            project=options.wandb_project,
            group=options.experiment,
            name=run_name,
            save_dir=str(options.out_dir),
            offline=mode in ("offline", "dryrun"),
            config=config,
            job_type="cv-fold",
            settings=_wandb_settings(options),
        )
        # Lightning passes anonymous=None, which wandb >= 0.22 warns about on every run
        wandb_logger._wandb_init.pop("anonymous", None)
        loggers.append(wandb_logger)
    return loggers


def _wandb_settings(options: CVOptions) -> Any:
    import wandb

    # silent: no "wandb:" banner, sync hints or run summaries on the console (--verbose keeps them)
    return wandb.Settings(silent=not options.verbose)


def _run_record(options: CVOptions, config: dict[str, Any], fold: int | None,
                seed: int | None, commit: str | None) -> dict[str, Any]:
    """What W&B records as a run's config: the effective configuration and what ran it."""
    return {**config, "vsumlab": {"experiment": options.experiment, "recipe": str(options.recipe),
                                  "overrides": list(options.overrides), "fold": fold,
                                  "seed": seed, "git_commit": commit}}


#: where W&B keeps what it stages for an artifact (its manifests), inside the results folder
WANDB_STAGING = Path("wandb") / "staging"


def _log_artifacts(loggers: Sequence[Any], name: str, files: Sequence[Path | None],
                   out_dir: Path) -> None:
    """The fold's selected checkpoint, predictions and result.json, as one W&B artifact.

    The artifact references the fold's own files (``policy="immutable"``: they are final once
    the fold is done) instead of copying them into W&B's staging area, which by default lies in
    ``~/.local/share/wandb`` outside the results folder and grows with every run; what W&B
    still stages (the manifest) goes to ``OUT/wandb/staging`` unless ``WANDB_DATA_DIR`` is set.
    """
    for logger in loggers:
        if logger.__class__.__name__ != "WandbLogger":
            continue
        import wandb

        artifact = wandb.Artifact(name=_artifact_name(name), type="cv-fold")
        for path in files:
            if path is not None and Path(path).is_file():
                artifact.add_file(str(path), name=Path(path).name, policy="immutable",
                                  skip_cache=True)
        with _wandb_data_dir(out_dir / WANDB_STAGING):
            logger.experiment.log_artifact(artifact)


@contextlib.contextmanager
def _wandb_data_dir(path: Path) -> Iterator[None]:
    """``WANDB_DATA_DIR`` (W&B's artifact staging) at ``path`` for the duration, unless the user
    chose one."""
    if os.environ.get("WANDB_DATA_DIR"):
        yield
        return
    os.environ["WANDB_DATA_DIR"] = str(path.resolve())
    try:
        yield
    finally:
        os.environ.pop("WANDB_DATA_DIR", None)


def _artifact_name(name: str) -> str:
    # W&B artifact names: alphanumerics, dashes, underscores, dots
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _finish_wandb(loggers: Sequence[Any], shared_run: Any = None) -> None:
    for logger in loggers:
        if logger.__class__.__name__ == "WandbLogger" and logger.experiment is not shared_run:
            logger.experiment.finish()


def _start_sweep_run(options: CVOptions, sweep: SweepContext, config: dict[str, Any]) -> Any:
    """Attach to the agent's run (wandb takes its id and sweep parameters from the env)."""
    import wandb

    mode = _wandb_mode(options, default="online")  # the agent's server needs the results
    return wandb.init(
        project=os.environ.get("WANDB_PROJECT") or options.wandb_project,
        group=options.experiment,
        job_type="cv",
        dir=str(options.out_dir),
        mode="offline" if mode in ("offline", "dryrun") else "online",
        config={"vsumlab_cv": {"recipe": str(options.recipe), "overrides": options.overrides,
                               "out": str(options.out_dir)},
                "recipe_config": config, "git_commit": git_commit()},
        settings=_wandb_settings(options),
    )


def _fold_log(result: dict[str, Any], index: int) -> dict[str, Any]:
    values: dict[str, Any] = {"fold": result["fold"], "fold_index": index}
    for metric, value in result["model"].items():
        values[f"fold/test_{metric}"] = value
    for metric, value in (result.get("val") or {}).items():
        values[f"fold/val_{metric}"] = value
    return values


def _effective_seeds(config: Any, datamodule: Any) -> dict[str, Any]:
    """The seeds a run actually used (a drawn seed is written back into its configuration)."""
    seed = config.get("seed_everything") if hasattr(config, "get") else None
    data_hparams = dict(getattr(datamodule, "hparams", {}) or {})
    return {"seed_everything": seed, "split_seed": data_hparams.get("split_seed")}


def _validation_metrics(trainer: Any, model: Any, datamodule: Any) -> dict[str, float] | None:
    """Validation metrics of the selected model (what a sweep optimises), or None without a
    validation subset. One extra validation pass: the selected checkpoint is in ``model``."""
    keys = getattr(datamodule, "keys", None)
    if not isinstance(keys, Mapping) or not keys.get("val"):
        return None
    # not logged: the learning curves already hold the last epoch's validation point (or,
    # under a best-epoch selection, this would add the best epoch's value at the last step)
    loggers, trainer.loggers = trainer.loggers, []
    try:
        outputs = trainer.validate(model, datamodule=datamodule, verbose=False)
    finally:
        trainer.loggers = loggers
    metrics = outputs[0] if outputs else {}
    return {k.split("/", 1)[1]: float(v) for k, v in metrics.items() if k.startswith("val/")}


def run_fold(
    options: CVOptions,
    recipe: RecipeConfig,
    fold: int,
    seed: int | None,
    pretrained: Path | None = None,
    shared_run: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Train (or resume) one fold, then score its test videos. Returns the fold's result."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vsumlab.evaluation.predictions import write_predictions
    from vsumlab.io import naming_writes
    from vsumlab.training.callbacks import RNGStateCheckpoint
    from vsumlab.training.fold_results import read_fold_result
    from vsumlab.training.plan import RunPlan, build
    from vsumlab.training.resume import (
        RunIdentityCheckpoint,
        keep_metrics_until,
        resume_checkpoint,
        run_identity,
    )

    seed_dir = options.out_dir / (f"seed_{seed}" if seed is not None else "seed_default")
    fold_dir = seed_dir / f"fold_{fold}"
    done = fold_dir / "result.json"
    if done.is_file():  # finished by an earlier run: its line says it was skipped
        if progress is not None:
            progress.skipped(fold, seed)
        return read_fold_result(done)
    zero = is_global_zero()
    if zero:
        fold_dir.mkdir(parents=True, exist_ok=True)
    run_name = f"{options.experiment}-fold{fold}" + (f"-seed{seed}" if seed is not None else "")

    plan = RunPlan(options.recipe, tuple(options.overrides), fold=fold, seed=seed,
                   pretrained=pretrained, pretrained_into=options.pretrain_into,
                   deterministic=options.deterministic)
    config = recipe.resolve(plan)
    # a checkpoint of another model, width, fold or run is refused, not resumed into
    identity = run_identity(config, options.out_dir / "run.json", fold, seed)
    resume_from, resume_epoch = resume_checkpoint(fold_dir / "checkpoints", identity)
    if zero:  # rows after the checkpoint are logged again; a fresh fold starts empty
        keep_metrics_until(fold_dir / "csv" / "metrics.csv", resume_epoch)
    selection = recipe.model_selection()
    monitor = None if selection == "last" else logged_name("val", PRIMARY)
    # under model selection "last" the selected checkpoint is the last epoch's, epoch=N.ckpt
    # (not best-...: no epoch was compared with another); it also stands in for a last.ckpt
    # truncated by a kill while it was written
    checkpoint = ModelCheckpoint(
        dirpath=str(fold_dir / "checkpoints"),
        filename="{epoch}" if monitor is None else "best-{epoch}",
        monitor=monitor,
        mode="max",
        save_last=True,
        save_top_k=1,
    )
    prefix = f"fold{fold}" + (f"_seed{seed}" if seed is not None else "")
    commit = git_commit()
    record = _run_record(options, recipe.effective(config), fold, seed, commit)
    loggers = _loggers(options, fold_dir, run_name, record, shared_run, prefix)
    if zero:  # the fold's effective configuration, readable by `vsumlab fit --config`
        write_text_atomic(fold_dir / "config.yaml", _config_header(options, fold, seed, commit)
                          + recipe.dump(config))
    callbacks: list[Any] = [checkpoint, RNGStateCheckpoint(), RunIdentityCheckpoint(identity),
                            *options.callbacks]
    if progress is not None:
        callbacks.append(progress.callback(fold, seed))
    overrides: dict[str, Any] = {
        "default_root_dir": str(fold_dir),
        "logger": loggers,
        "callbacks": callbacks,
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    model, datamodule, trainer = build(plan, recipe, config=config, trainer_overrides=overrides)

    if datamodule.keys["train"]:
        with naming_writes(fold_dir / "checkpoints"):  # a full disk: one line naming the fold
            trainer.fit(model, datamodule=datamodule, weights_only=True,
                        ckpt_path=str(resume_from) if resume_from else None)
        if monitor is not None and checkpoint.best_model_path:
            best = model.__class__.load_from_checkpoint(checkpoint.best_model_path,
                                                        weights_only=True)
            model.load_state_dict(best.state_dict())
    val_metrics = _validation_metrics(trainer, model, datamodule)

    if trainer.fast_dev_run:
        # fast_dev_run checks the pipeline on one batch of training and validation; the test
        # fold is still predicted whole, or it could not be scored (videos would be missing)
        trainer.limit_predict_batches = 1.0
    outputs = trainer.predict(model, dataloaders=datamodule.test_dataloader())
    predictions = gather_predictions({k: v for batch in outputs for k, v in batch.items()})
    if zero:
        write_predictions(fold_dir / "predictions.h5", predictions, force=True)

    result = fold_result(options, recipe, fold, seed, config, datamodule, predictions,
                         val_metrics, checkpoint.best_model_path or checkpoint.last_model_path)
    for logger in trainer.loggers:
        logger.log_metrics({f"test/{k}": v for k, v in result["model"].items()})
        logger.save()
    if zero:
        write_json_atomic(done, result)
        if shared_run is None:
            best = checkpoint.best_model_path or checkpoint.last_model_path
            _log_artifacts(trainer.loggers, run_name,
                           [Path(best) if best else None, fold_dir / "predictions.h5", done],
                           options.out_dir)
    _finish_wandb(trainer.loggers, shared_run)
    return result


def fold_result(options: CVOptions, recipe: RecipeConfig, fold: int, seed: int | None,
                config: Any, datamodule: Any, predictions: Mapping[str, Any],
                val_metrics: dict[str, float] | None, checkpoint: str | None) -> dict[str, Any]:
    """A fold's ``result.json``: its test predictions scored with the run's protocol (read once
    with the recipe), the reference rows of the same test videos, its validation metrics, seeds,
    split and data; the same for a sequential fold and a vectorized replica."""
    from vsumlab.training.scoring import score_test_fold

    protocol = recipe.protocol()
    fold_scores = score_test_fold(datamodule, predictions, protocol, seed=fold,
                                  draws=options.reference_draws)
    scores, references = fold_scores.model, fold_scores.references
    as_dict = scores.to_dict()
    return {
        "fold": fold,
        "seed": seed,
        "model": _as_metrics(scores),
        "ranked_by": scores.ranked_by,
        **({"rank_undefined": as_dict["rank_undefined"]} if "rank_undefined" in as_dict else {}),
        "val": val_metrics,
        "seeds": _effective_seeds(config, datamodule),
        "references": {name: _as_metrics(value) for name, value in references.items()},
        "model_selection": recipe.model_selection(),
        "protocol": protocol.to_dict(),
        "checkpoint": checkpoint or None,
        "data": datamodule.describe(),
        "split": split_entry(datamodule),  # which split: pairs two runs' folds
    }


def _config_header(options: CVOptions, fold: int | None, seed: int | None,
                   commit: str | None) -> str:
    """Comment lines on top of a recorded config.yaml: what produced it."""
    lines = [f"# vsumlab cv {options.experiment}: recipe {options.recipe}",
             f"# overrides: {' '.join(options.overrides) or '(none)'}"]
    if fold is not None or seed is not None:
        lines.append(f"# fold {fold}, seed {seed if seed is not None else 'of the recipe'}")
    lines.append(f"# git commit: {commit or 'unknown'}")
    return "\n".join(lines) + "\n"


def _as_metrics(scores: Any) -> dict[str, float]:
    mean = scores.mean
    return {name: float(getattr(mean, name)) for name in METRICS}


def _probe(
    recipe: RecipeConfig, options: CVOptions, composed: dict[str, Any]
) -> tuple[int, dict[str, Any], list[dict[str, list[str]]] | None]:
    """The number of folds, the effective configuration (fold 0's, the fold index aside) and
    the splits themselves when a split file or random draws give them (else None). Builds the
    data module alone: nothing is trained or written."""
    datamodule = recipe.datamodule()
    splits = datamodule.splits()
    pinned = (getattr(datamodule, "split_file", None) is not None
              or getattr(datamodule, "split_source", None) == "random")
    file_splits = [split.to_dict() for split in splits] if pinned else None
    effective = _effective(recipe, composed, options.overrides, options.pretrained,
                           options.pretrain_into)
    return len(splits), effective, file_splits


def run_pretrain(
    options: CVOptions, recipe: RecipeConfig, shared_run: Any = None,
    private: bool = False,
) -> Path:
    """Fit the pretraining recipe once (resuming if interrupted); its last checkpoint.
    ``private``: on a process other than rank 0 (which writes nothing)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vsumlab.io import naming_writes, read_json
    from vsumlab.training.callbacks import RNGStateCheckpoint
    from vsumlab.training.plan import RunPlan, build
    from vsumlab.training.resume import (
        RunIdentityCheckpoint,
        keep_metrics_until,
        resume_checkpoint,
        run_identity,
    )

    assert options.pretrain is not None
    stage = options.out_dir.resolve() / "pretrain"  # folds record the path: absolute
    done = stage / "result.json"
    if done.is_file():
        recorded = read_json(done, "pretraining result")
        if not isinstance(recorded, dict) or not isinstance(recorded.get("checkpoint"), str):
            raise ConfigError(f"{done}: key 'checkpoint': expected the pretrained checkpoint's "
                              "path; remove the file to pretrain again, or pass --force")
        return Path(recorded["checkpoint"])
    plan = RunPlan(options.pretrain, tuple(options.pretrain_overrides),
                   deterministic=options.deterministic)
    config = recipe.resolve(plan)
    commit = git_commit()
    if not private:
        write_text_atomic(stage / "config.yaml", _config_header(options, None, None, commit)
                          + recipe.dump(config))
    identity = run_identity(config, options.out_dir / "run.json", "pretrain", None)
    resume_from, resume_epoch = resume_checkpoint(stage / "checkpoints", identity)
    if not private:
        keep_metrics_until(stage / "csv" / "metrics.csv", resume_epoch)
    checkpoint = ModelCheckpoint(dirpath=str(stage / "checkpoints"), save_last=True, save_top_k=0)
    record = {**recipe.effective(config),
              "vsumlab": {"experiment": options.experiment, "recipe": str(options.pretrain),
                          "overrides": list(options.pretrain_overrides), "git_commit": commit}}
    loggers = _loggers(options, stage, f"{options.experiment}-pretrain", record, shared_run,
                       "pretrain")
    overrides: dict[str, Any] = {
        "default_root_dir": str(stage),
        "logger": loggers,
        "callbacks": [checkpoint, RNGStateCheckpoint(), RunIdentityCheckpoint(identity)],
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    model, datamodule, trainer = build(plan, recipe, config=config, trainer_overrides=overrides)
    last = stage / "checkpoints" / "last.ckpt"
    with naming_writes(stage / "checkpoints"):
        trainer.fit(model, datamodule=datamodule, weights_only=True,
                    ckpt_path=str(resume_from) if resume_from else None)
    _finish_wandb(trainer.loggers, shared_run)
    if not last.is_file():
        raise ConfigError(f"{options.pretrain}: pretraining wrote no checkpoint (no epoch ran?)")
    if not private:
        write_json_atomic(done, {"checkpoint": str(last),
                                 "seeds": _effective_seeds(config, datamodule),
                                 "recipe": str(options.pretrain),
                                 "overrides": options.pretrain_overrides})
    return last


def _mean_metrics(values: Sequence[dict[str, float] | None]) -> dict[str, float]:
    """Mean over folds of each metric every fold has (none when a fold has no values)."""
    if not values or any(v is None for v in values):
        return {}
    common = set.intersection(*(set(v) for v in values))  # type: ignore[arg-type]
    return {k: float(sum(v[k] for v in values) / len(values))  # type: ignore[index]
            for k in sorted(common)}


def run_cv(options: CVOptions) -> list[ResultRow]:
    """Run every fold (and seed) of a recipe; write and return the results rows."""
    from vsumlab.training.progress import quiet_output

    with quiet_output(options.verbose):
        return _run_cv(options)


def splits_overrides(splits: str) -> list[str]:
    """The data-module overrides ``--splits`` stands for (each choice sets both arguments, so
    it replaces whatever the recipe chose); a malformed choice or a missing file: ConfigError."""
    from vsumlab.data.split_choices import FILE, parse_split_choice

    choice = parse_split_choice(splits, "--splits")
    if choice.kind == FILE:
        return ["--data.init_args.splits=null", f"--data.init_args.split_file={choice.path}"]
    return [f"--data.init_args.splits={choice.spec()}", "--data.init_args.split_file=null"]


def check_seeds(seeds: Sequence[int] | None) -> None:
    """``--seeds``: at least one seed, each an integer >= 0, none repeated (a repeat would be one
    replica counted twice)."""
    if seeds is None:
        return
    if not seeds:
        raise ConfigError("--seeds: expected at least one seed")
    listed = ",".join(str(s) for s in seeds)
    negative = [s for s in seeds if s < 0]
    if negative:
        raise ConfigError(f"--seeds {listed}: seeds are integers >= 0, got {negative[0]}")
    repeated = sorted({s for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise ConfigError(f"--seeds {listed}: seed {repeated[0]} is repeated; each seed is one "
                          "replica of the CV, give it once")


def _run_cv(options: CVOptions) -> list[ResultRow]:
    from vsumlab.training.plan import RecipeConfig

    check_seeds(options.seeds)
    if options.splits is not None:  # first: an explicit --data.init_args.* given too conflicts
        options = replace(options, overrides=[*splits_overrides(options.splits),
                                              *options.overrides], splits=None)
    if options.pretrain_overrides and options.pretrain is None:
        raise ConfigError("--pretrain.* overrides given without --pretrain RECIPE")
    # the recipe (and pretraining recipe) parsed once; every fold is this plan at fold k, seed s
    recipe = RecipeConfig(options.recipe, options.overrides)
    composed = recipe.composed
    pre_recipe = (RecipeConfig(options.pretrain, options.pretrain_overrides)
                  if options.pretrain is not None else None)
    pretrain = pre_recipe.composed if pre_recipe is not None else None
    # Validate the whole configuration before anything is written to the results folder.
    n_folds, config, file_splits = _probe(recipe, options, composed)
    effective = Effective(config)
    if pre_recipe is not None:
        effective.pretrain = _effective(pre_recipe, pre_recipe.composed,
                                        options.pretrain_overrides, folds=False)
    folds = options.folds if options.folds is not None else list(range(n_folds))
    for fold in folds:
        if not 0 <= fold < n_folds:
            raise ConfigError(f"--folds: fold {fold} out of range (the setting has {n_folds})")
    from vsumlab.training.replicas.run import choose_vectorized

    vectorized = choose_vectorized(options, recipe, folds)  # refuses before anything is written
    zero = is_global_zero()
    if zero:
        from vsumlab.training.fingerprints import input_files

        inputs = input_files(effective.config)
        if effective.pretrain is not None:
            inputs.update(input_files(effective.pretrain, "pretrain."))
        identity = _identity(options, composed, pretrain, effective, file_splits)
        prepare_out_dir(options, identity, inputs)
        environment = environment_record()
        write_json_atomic(options.out_dir / "environment.json", environment)
        # the effective configuration (overrides applied; fold 0, the recipe's seed): what ran
        header = _config_header(options, None, None, environment.get("git_commit"))
        write_text_atomic(options.out_dir / "config.yaml", header + recipe.dump(
            _fold_zero(recipe)))
    rows = _run_folds(options, recipe, pre_recipe, folds, n_folds, private=not zero,
                      vectorized=vectorized)
    if rows is None:
        return []
    if not options.quiet:  # the report results.md holds (the same for every table)
        print((options.out_dir / "results.md").read_text(encoding="utf-8"), end="")
    return rows


def _fold_zero(recipe: RecipeConfig) -> Any:
    from vsumlab.training.plan import FOLD_KEY

    config = recipe.config.clone()
    if recipe.has_folds:
        config[FOLD_KEY] = 0
    return config


def _run_folds(
    options: CVOptions,
    recipe: RecipeConfig,
    pre_recipe: RecipeConfig | None,
    folds: list[int],
    n_folds: int,
    private: bool,
    vectorized: bool = False,
) -> list[ResultRow] | None:
    """Pretraining (optional), every fold and seed, the results files (rank 0; other ranks
    take part in training and return None)."""
    from vsumlab.training.progress import CVProgress

    zero = not private
    seeds: list[int | None] = list(options.seeds) if options.seeds else [None]
    sweep = sweep_context()
    shared_run = None
    if zero and sweep is not None and _wandb_mode(options, default="online") != "disabled":
        shared_run = _start_sweep_run(options, sweep, recipe.composed)
    progress = CVProgress(len(seeds) * len(folds), recipe.max_epochs(),
                          enabled=zero and not options.quiet)
    progress.header(options.experiment, options.recipe, len(folds), n_folds, len(seeds),
                    recipe.model_selection(), options.out_dir)
    try:
        pretrained = options.pretrained
        if pre_recipe is not None:
            pretrained = run_pretrain(options, pre_recipe, shared_run, private)
        results = []
        if vectorized:  # every fold and seed in one run (vsumlab.training.replicas)
            from vsumlab.training.replicas.run import run_replicas

            results = run_replicas(options, recipe, [(f, s) for s in seeds for f in folds],
                                   pretrained, progress)
        for s in seeds if not vectorized else []:
            for f in folds:
                results.append(run_fold(options, recipe, f, s, pretrained, shared_run,
                                        progress))
                progress.fold_done(results[-1])
                if shared_run is not None:
                    shared_run.log(_fold_log(results[-1], len(results) - 1))
        progress.close()
        if not zero:
            return None

        selection = results[0]["model_selection"]
        note = "best test epoch: not comparable" if selection == "best_test" else ""
        preset = (results[0].get("protocol") or {}).get("preset")
        if preset:
            note = f"protocol preset {preset}" + (f"; {note}" if note else "")
        val = [r.get("val") for r in results]
        val_means = _mean_metrics(val)
        # which annotations ranked (user_anno / user_summary): every table states it
        ranked = "+".join(sorted({str(r.get("ranked_by")) for r in results}))
        extra: dict[str, Any] = {
            "ranked_by": ranked,
            "seeds": [r["seed"] for r in results],
            "fold_ids": [r["fold"] for r in results],
            "seeds_used": [r.get("seeds") for r in results],
            "val_folds": val,
            **{f"val_{k}": v for k, v in val_means.items()},
        }
        meta = {"experiment": options.experiment, "model_selection": selection,
                "ranked_by": ranked,
                "protocol": results[0].get("protocol"),
                "n_folds": n_folds, "folds": folds, "seeds": seeds}
        if pretrained is not None:
            meta["pretrained"] = str(pretrained)
        # what the run is (method, dataset, setting, split source): tables name rows by it
        # and only compare runs of the same test videos and protocol
        comparison = _comparison(recipe, pre_recipe, pretrained, results, meta)
        if comparison is not None:
            meta["comparison"] = comparison
            extra["label"] = comparison["label"]
        rows = [ResultRow(options.experiment, [r["model"] for r in results], note=note,
                          extra=extra)]
        # each reference value belongs to one split: the report counts it once per split
        split_of = {"fold_ids": extra["fold_ids"], "seeds": extra["seeds"]}
        for name in REFERENCE_ROWS:
            rows.append(ResultRow(name, [r["references"][name] for r in results],
                                  kind="reference", extra={"ranked_by": ranked, **split_of}))
        if sweep is not None:
            meta["sweep"] = {"sweep_id": sweep.sweep_id, "run_id": sweep.run_id}
        write_results(options.out_dir, rows, meta, options.experiment)
        if shared_run is not None:
            summary = {f"val_{k}": v for k, v in val_means.items()}
            summary.update({f"test_{m}": rows[0].mean(m) for m in METRICS})
            shared_run.log(summary)
            shared_run.summary.update(summary)
    except BaseException:
        progress.close()
        if shared_run is not None:
            shared_run.finish(exit_code=1)
        _flush_wandb()
        raise
    if shared_run is not None:
        shared_run.finish()
    _flush_wandb()
    return rows


def _comparison(recipe: RecipeConfig, pre_recipe: RecipeConfig | None, pretrained: Path | None,
                results: Sequence[dict[str, Any]], meta: Mapping[str, Any]
                ) -> dict[str, Any] | None:
    """The run's description for results.json (None when its data records no dataset)."""
    from vsumlab.training.run_labels import Undescribed, describe_run, pretrain_class

    if pre_recipe is not None:
        pre_class = ((pre_recipe.effective().get("model") or {}).get("class_path"))
    else:
        pre_class = pretrain_class(checkpoint=pretrained) if pretrained is not None else None
    try:
        return describe_run(recipe.effective(), results, meta, pre_class).to_dict()
    except Undescribed:
        return None


def _flush_wandb() -> None:
    """Wait until W&B has written every run of this process (finish() returns earlier, so a
    reader right after `vsumlab cv` could find an offline run file still empty)."""
    import sys

    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is None:
        wandb.teardown()
