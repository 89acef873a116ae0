"""What an interrupted fold resumes from: a checkpoint that loads, its logs, its W&B run.

A fold killed at any moment (``kill -9`` included) resumes as if it had never stopped:

- :func:`resume_checkpoint` picks ``last.ckpt`` when it loads, else the newest other checkpoint
  of the fold that does (a kill while ``last.ckpt`` was written leaves it truncated), else none
  (the fold restarts); either fallback is announced on stderr.
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

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from vsumlab.errors import ConfigError


def _warn(message: str) -> None:
    print(f"vsumlab: warning: {message}", file=sys.stderr)


def resume_checkpoint(checkpoint_dir: Path) -> tuple[Path | None, int | None]:
    """The checkpoint to resume from and its epoch, or (None, None) to start the fold afresh."""
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
    with open(metrics_csv, newline="") as file:
        reader = csv.DictReader(file)
        fields = list(reader.fieldnames or [])
        rows = [row for row in reader if row.get("epoch") and int(float(row["epoch"])) <= epoch]
    from vsumlab.io import atomic_path

    with atomic_path(metrics_csv) as tmp, open(tmp, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


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
