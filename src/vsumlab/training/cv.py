"""K-fold cross-validation: one Lightning run per fold, results written atomically.

Layout of a results folder::

    OUT/
      run.json            identity of the run (recipe, overrides, seeds); a rerun must match it
      config.yaml         the composed recipe
      environment.json    git commit, package versions, machine
      seed_<s>/fold_<k>/  checkpoints/ (last.ckpt, best), csv/, predictions.h5, result.json
      results.json        rows: model and references (random, uniform, human), F1 in percent
      results.md          the same as a markdown table

A finished fold (its ``result.json`` exists) is skipped on rerun; an interrupted one resumes
from ``checkpoints/last.ckpt``. An existing folder of another run is never overwritten
without ``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vsumlab.errors import ConfigError, OutputExistsError
from vsumlab.io import write_json_atomic, write_text_atomic
from vsumlab.training.environment import environment_record
from vsumlab.training.recipes import compose_recipe
from vsumlab.training.results import REFERENCE_ROWS, ResultRow, format_table, write_results


@dataclass
class CVOptions:
    recipe: Path
    out_dir: Path
    overrides: list[str] = field(default_factory=list)
    name: str | None = None
    folds: list[int] | None = None
    seeds: list[int] | None = None
    force: bool = False
    deterministic: bool = False
    wandb_mode: str | None = None  # offline | online | disabled (default: WANDB_MODE or offline)
    wandb_project: str = "vsumlab"
    reference_draws: int = 20
    quiet: bool = False

    @property
    def experiment(self) -> str:
        return self.name or self.recipe.stem


def _identity(options: CVOptions, composed: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(
        json.dumps([composed, options.overrides], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return {
        "experiment": options.experiment,
        "recipe": str(options.recipe),
        "overrides": options.overrides,
        "config_hash": digest,
        "deterministic": options.deterministic,
    }


def prepare_out_dir(options: CVOptions, identity: dict[str, Any]) -> None:
    """Create the folder, or resume the same run in it; refuse another run's folder."""
    out = options.out_dir
    run_file = out / "run.json"
    if out.exists() and any(out.iterdir()):
        if options.force:
            shutil.rmtree(out)
        elif not run_file.is_file():
            raise OutputExistsError(
                f"{out}: exists and is not a vsumlab cv folder; pass --force to overwrite"
            )
        else:
            previous = json.loads(run_file.read_text())
            if previous.get("config_hash") != identity["config_hash"]:
                raise OutputExistsError(
                    f"{out}: holds a run of another configuration "
                    f"({previous.get('recipe')}, overrides {previous.get('overrides')}); "
                    "pass --force to overwrite or choose another --out"
                )
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_file, identity)


def _loggers(options: CVOptions, fold_dir: Path, run_name: str, config: dict[str, Any]) -> list:
    from lightning.pytorch.loggers import CSVLogger

    loggers: list = [CSVLogger(save_dir=str(fold_dir), name="csv", version="")]
    mode = options.wandb_mode or os.environ.get("WANDB_MODE", "offline")
    if mode not in ("offline", "online", "disabled", "dryrun", "run"):
        raise ConfigError(f"--wandb-mode={mode!r} is unknown; expected offline, online, disabled")
    if mode != "disabled":
        from lightning.pytorch.loggers import WandbLogger

        wandb_logger = WandbLogger(
            project=options.wandb_project,
            group=options.experiment,
            name=run_name,
            save_dir=str(options.out_dir),
            offline=mode in ("offline", "dryrun"),
            config=config,
            job_type="cv-fold",
        )
        loggers.append(wandb_logger)
    return loggers


def _finish_wandb(loggers: Sequence[Any]) -> None:
    for logger in loggers:
        if logger.__class__.__name__ == "WandbLogger":
            logger.experiment.finish()


def _fold_args(composed_path: Path, options: CVOptions, fold: int, seed: int | None) -> list[str]:
    args = ["--config", str(composed_path), *options.overrides, f"--data.init_args.fold={fold}"]
    if seed is not None:
        args.append(f"--seed_everything={seed}")
    return args


def _selection(model: Any) -> str:
    protocol = getattr(model, "protocol", None)
    return getattr(protocol, "model_selection", "last")


def run_fold(
    options: CVOptions, composed_path: Path, composed: dict[str, Any], fold: int, seed: int | None
) -> dict[str, Any]:
    """Train (or resume) one fold, then score its test videos. Returns the fold's result."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from vsumlab.cli.lightning import make_cli
    from vsumlab.data.schema import Dataset
    from vsumlab.evaluation import metrics
    from vsumlab.evaluation.predictions import write_predictions

    seed_dir = options.out_dir / (f"seed_{seed}" if seed is not None else "seed_default")
    fold_dir = seed_dir / f"fold_{fold}"
    done = fold_dir / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    fold_dir.mkdir(parents=True, exist_ok=True)
    run_name = f"{options.experiment}-fold{fold}" + (f"-seed{seed}" if seed is not None else "")

    # Peek at the model's selection rule before building the trainer callbacks.
    probe = make_cli(_fold_args(composed_path, options, fold, seed), run=False,
                     trainer_overrides={"logger": False, "callbacks": [],
                                        "enable_checkpointing": False})
    selection = _selection(probe.model)
    monitor = None if selection == "last" else "val/f1"
    checkpoint = ModelCheckpoint(
        dirpath=str(fold_dir / "checkpoints"),
        filename="best-{epoch}",
        monitor=monitor,
        mode="max",
        save_last=True,
        save_top_k=1,
    )
    loggers = _loggers(options, fold_dir, run_name, composed)
    overrides: dict[str, Any] = {
        "default_root_dir": str(fold_dir),
        "logger": loggers,
        "callbacks": [checkpoint],
        "enable_progress_bar": False,
        "enable_model_summary": False,
    }
    if options.deterministic:
        overrides["deterministic"] = True
    cli = make_cli(_fold_args(composed_path, options, fold, seed), run=False,
                   trainer_overrides=overrides)
    trainer, model, datamodule = cli.trainer, cli.model, cli.datamodule

    if datamodule.keys["train"]:
        last = fold_dir / "checkpoints" / "last.ckpt"
        trainer.fit(model, datamodule=datamodule, ckpt_path=str(last) if last.is_file() else None)
        if monitor is not None and checkpoint.best_model_path:
            best = model.__class__.load_from_checkpoint(checkpoint.best_model_path)
            model.load_state_dict(best.state_dict())

    outputs = trainer.predict(model, dataloaders=datamodule.test_dataloader())
    predictions = {k: v for batch in outputs for k, v in batch.items()}
    write_predictions(fold_dir / "predictions.h5", predictions, force=True)

    test_records = datamodule.records_for("test")
    test_set = Dataset(records=test_records, attrs=dict(datamodule.target.attrs),
                       path=datamodule.target.path)
    protocol = model.protocol
    scores = metrics.evaluate_dataset(test_set, predictions, protocol)
    references = {
        "random": metrics.random_baseline(test_set, protocol, seed=fold,
                                          draws=options.reference_draws),
        "uniform": metrics.uniform_baseline(test_set, protocol),
        "human": metrics.human_reference(test_set, protocol),
    }
    result = {
        "fold": fold,
        "seed": seed,
        "model": _as_metrics(scores),
        "references": {name: _as_metrics(value) for name, value in references.items()},
        "model_selection": selection,
        "checkpoint": checkpoint.best_model_path or checkpoint.last_model_path or None,
        "data": datamodule.describe(),
    }
    for logger in trainer.loggers:
        logger.log_metrics({f"test/{k}": v for k, v in result["model"].items()})
        logger.save()
    _finish_wandb(trainer.loggers)
    write_json_atomic(done, result)
    return result


def _as_metrics(scores: Any) -> dict[str, float]:
    mean = scores.mean
    return {"f1": float(mean.f1), "kendall": float(mean.kendall), "spearman": float(mean.spearman)}


def _n_folds(composed_path: Path, options: CVOptions) -> int:
    from vsumlab.cli.lightning import make_cli

    cli = make_cli(_fold_args(composed_path, options, 0, None), run=False,
                   trainer_overrides={"logger": False, "callbacks": [],
                                      "enable_checkpointing": False})
    return len(cli.datamodule.splits())


def run_cv(options: CVOptions) -> list[ResultRow]:
    """Run every fold (and seed) of a recipe; write and return the results rows."""
    composed = compose_recipe(options.recipe)
    text = yaml.safe_dump(composed, sort_keys=False)
    with tempfile.TemporaryDirectory(prefix="vsumlab-cv-") as tmp:
        # Validate the whole configuration before anything is written to the results folder.
        probe_path = Path(tmp) / "config.yaml"
        probe_path.write_text(text)
        n_folds = _n_folds(probe_path, options)
    prepare_out_dir(options, _identity(options, composed))
    composed_path = options.out_dir / "config.yaml"
    write_text_atomic(composed_path, text)
    write_json_atomic(options.out_dir / "environment.json", environment_record())

    folds = options.folds if options.folds is not None else list(range(n_folds))
    for fold in folds:
        if not 0 <= fold < n_folds:
            raise ConfigError(f"--folds: fold {fold} out of range (the setting has {n_folds})")
    seeds: list[int | None] = list(options.seeds) if options.seeds else [None]

    results = [run_fold(options, composed_path, composed, f, s) for s in seeds for f in folds]

    selection = results[0]["model_selection"]
    note = "best test epoch: not comparable" if selection == "best_test" else ""
    rows = [ResultRow(options.experiment, [r["model"] for r in results], note=note,
                      extra={"seeds": [r["seed"] for r in results],
                             "fold_ids": [r["fold"] for r in results]})]
    for name in REFERENCE_ROWS:
        rows.append(ResultRow(name, [r["references"][name] for r in results], kind="reference"))
    meta = {"experiment": options.experiment, "model_selection": selection,
            "n_folds": n_folds, "folds": folds, "seeds": seeds}
    write_results(options.out_dir, rows, meta, options.experiment)
    if not options.quiet:
        print(format_table(rows, options.experiment))
    return rows
