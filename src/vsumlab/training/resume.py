"""What an interrupted fold resumes from: a checkpoint that loads, its logs, its W&B run.

A fold killed at any moment (``kill -9`` included) resumes as if it had never stopped:

- :func:`resume_checkpoint` picks ``last.ckpt`` when it loads, else the newest other checkpoint
  of the fold that does (a kill while ``last.ckpt`` was written leaves it truncated), else none
  (the fold restarts); either fallback is announced on stderr. A checkpoint that loads is
  accepted only when it belongs to this run: :class:`RunIdentityCheckpoint` records the run's
  configuration hash, fold, seed, model class and feature width in every checkpoint, and a
  checkpoint of another model class, width, fold or run (copied in, or left by another
  configuration) is refused with one line instead of failing inside Lightning's state loading.
- A fold's ``metrics.csv`` that cannot be parsed is refused with one line naming the file and
  line (it is never silently truncated).
- :class:`ResumableCSVLogger` keeps the earlier ``metrics.csv`` rows (Lightning's CSV logger
  deletes them) and writes its rows out with every checkpoint, so the file holds exactly the
  epochs a checkpoint holds; :func:`keep_metrics_until` drops rows logged after the checkpoint
  the fold resumes from (they are logged again).
- :func:`wandb_run_id` gives the fold the same W&B run id on every attempt, so a resumed fold
  continues its run instead of leaving the killed attempt as a separate one.
"""

from __future__ import annotations

import csv
import os
import secrets
import string
import sys
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from vsumlab.errors import ConfigError, VsumError, printable

#: checkpoint entry holding the identity of the run that wrote it
RUN_IDENTITY_KEY = "vsumlab_run"
#: what the identity holds, in the order a mismatch is reported
IDENTITY_FIELDS = {"model_class": "model class", "feature_dim": "feature width",
                   "run": "run configuration (config hash)", "fold": "fold", "seed": "seed"}
#: what a refused checkpoint's message tells the user to do
FOREIGN_HINT = ("remove it to restart the fold from its first epoch, or pass --force to start the "
                "run afresh")


def _warn(message: str) -> None:
    print(f"vsumlab: warning: {message}", file=sys.stderr)


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def run_identity(config: Any, run_file: Path, fold: int | str | None,
                 seed: int | None) -> dict[str, Any]:
    """What a checkpoint of this run records: the run's configuration hash (``run.json``), the
    fold and seed, the model class and its feature width (``model.init_args.input_dim``)."""
    import importlib

    from vsumlab.io import read_json

    record = read_json(run_file, "run record") if run_file.is_file() else {}
    class_path = str(config.get("model.class_path") or "")
    module_name, _, class_name = class_path.rpartition(".")
    try:  # the recorded name is the class's own module (a re-export path is not)
        model_class = qualified_name(getattr(importlib.import_module(module_name), class_name))
    except (ImportError, AttributeError, ValueError):
        model_class = class_path
    width = config.get("model.init_args.input_dim")
    return {"run": record.get("config_hash") if isinstance(record, dict) else None,
            "fold": fold, "seed": seed, "model_class": model_class,
            "feature_dim": None if width is None else int(width)}


class RunIdentityCheckpoint(L.Callback):
    """Record the run's identity (:func:`run_identity`) in every checkpoint it writes."""

    def __init__(self, identity: dict[str, Any]) -> None:
        self.identity = dict(identity)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        checkpoint[RUN_IDENTITY_KEY] = dict(self.identity)


def identity_mismatch(payload: dict[str, Any], expected: dict[str, Any]) -> str | None:
    """Why a checkpoint is not one of the run ``expected`` describes, or None when it is."""
    hparams = payload.get("hyper_parameters")
    own = {"model_class": payload.get("vsumlab_class"),
           "feature_dim": hparams.get("input_dim") if isinstance(hparams, dict) else None}
    for name in ("model_class", "feature_dim"):  # what the model itself wrote
        if own[name] is not None and expected.get(name) is not None and own[name] != expected[name]:
            return (f"its {IDENTITY_FIELDS[name]} is {own[name]} but this run's is "
                    f"{expected[name]}")
    recorded = payload.get(RUN_IDENTITY_KEY)
    if not isinstance(recorded, dict):
        return ("it records no run identity (written by another program or a vsumlab before "
                "checkpoints recorded their run)")
    for name, label in IDENTITY_FIELDS.items():
        if recorded.get(name) != expected.get(name):
            return f"its {label} is {recorded.get(name)} but this run's is {expected.get(name)}"
    return None


def resume_checkpoint(
    checkpoint_dir: Path, identity: dict[str, Any] | None = None
) -> tuple[Path | None, int | None]:
    """The checkpoint to resume from and its epoch, or (None, None) to start the fold afresh.
    With ``identity`` (:func:`run_identity`), a loadable checkpoint of another run is refused
    (:class:`ConfigError`) rather than resumed."""
    from vsumlab.models.loading import read_checkpoint

    last = checkpoint_dir / "last.ckpt"
    others = sorted((p for p in checkpoint_dir.glob("*.ckpt") if p.name != "last.ckpt"),
                    key=lambda p: p.stat().st_mtime_ns, reverse=True)
    candidates = ([last] if last.is_file() else []) + others
    for index, path in enumerate(candidates):
        try:
            payload = read_checkpoint(path, "resume")
        except ConfigError as exc:
            _warn(f"{exc}; skipping it")
            continue
        if not isinstance(payload, dict) or "loops" not in payload:
            _warn(f"{path}: holds no training state; skipping it")
            continue
        problem = identity_mismatch(payload, identity) if identity is not None else None
        if problem is not None:
            raise ConfigError(f"{printable(path)}: not a checkpoint of this run: {problem}; "
                              f"{FOREIGN_HINT}")
        if index > 0:
            _warn(f"resuming from the earlier checkpoint {path}")
        return path, int(payload.get("epoch", 0))
    if candidates:
        _warn(f"{checkpoint_dir}: no checkpoint loads; the fold restarts from its first epoch")
    return None, None


class _KeepingWriter(ExperimentWriter):
    """Lightning's CSV writer, appending to an existing ``metrics.csv`` instead of deleting it."""

    def _check_log_dir_exists(self) -> None:
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as file:
                header = next(csv.reader(file), [])
            self.metrics_keys = sorted(header)


class ResumableCSVLogger(CSVLogger):
    """CSV logger whose rows survive a resume (see the module doc)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        super().after_save_checkpoint(checkpoint_callback)
        self.save()  # a kill right after the checkpoint must not lose the epoch's rows


def keep_metrics_until(metrics_csv: Path, epoch: int | None) -> None:
    """Keep the rows of epochs up to ``epoch`` (the resumed checkpoint's); all of them go when
    ``epoch`` is None (the fold starts afresh)."""
    if not metrics_csv.is_file():
        return
    if epoch is None:
        metrics_csv.unlink()
        return
    fields, rows = read_metrics_rows(metrics_csv)
    rows = [row for number, row, row_epoch in rows if row_epoch is not None and row_epoch <= epoch]
    from vsumlab.io import atomic_path

    with atomic_path(metrics_csv) as tmp, open(tmp, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_metrics_rows(
    metrics_csv: Path,
) -> tuple[list[str], list[tuple[int, dict[str, str], int | None]]]:
    """The header and ``(line, row, epoch)`` of each row of a fold's ``metrics.csv`` (epoch None:
    a row logged outside an epoch); :class:`VsumError` naming file and line when it is not the
    CSV the logger writes (not UTF-8, no ``epoch`` column, an epoch that is not a number)."""
    where = printable(metrics_csv)
    try:
        with open(metrics_csv, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            fields = list(reader.fieldnames or [])
            if "epoch" not in fields:
                raise VsumError(f"{where}: line 1: expected a header with an 'epoch' column, got "
                                f"{','.join(fields)[:60]!r}; the fold's log is corrupt: "
                                f"{METRICS_HINT}")
            rows = []
            for row in reader:
                value = row.get("epoch")
                short = any(v is None for k, v in row.items() if k is not None)
                if row.get(None) is not None or short:  # more or fewer fields than the header
                    raise VsumError(f"{where}: line {reader.line_num}: expected {len(fields)} "
                                    f"fields as the header has; {METRICS_HINT}")
                try:
                    epoch = int(float(value)) if value else None
                except ValueError:
                    raise VsumError(f"{where}: line {reader.line_num} field 'epoch': expected an "
                                    f"epoch number, got {value[:40]!r}; {METRICS_HINT}") from None
                rows.append((reader.line_num, row, epoch))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VsumError(f"{where}: not the CSV log vsumlab writes ({exc}); {METRICS_HINT}") from exc
    return fields, rows


#: what a corrupt metrics.csv's message tells the user to do
METRICS_HINT = ("remove it (the resumed fold logs from its checkpoint's epoch on), or pass --force "
                "to start the run afresh")


def wandb_run_id(fold_dir: Path) -> str:
    """The fold's W&B run id: drawn on its first attempt, kept in ``fold_dir/wandb_run_id``."""
    from vsumlab.io import write_text_atomic

    id_file = fold_dir / "wandb_run_id"
    if id_file.is_file():
        run_id = id_file.read_text().strip()
        if run_id.isalnum():
            return run_id
    alphabet = string.ascii_lowercase + string.digits  # W&B's own id alphabet and length
    run_id = "".join(secrets.choice(alphabet) for _ in range(8))
    write_text_atomic(id_file, run_id + "\n")
    return run_id
