"""What `vsumlab cv` prints: a header, a progress bar over folds x epochs, a line per fold
(a fold finished by an earlier run says it was skipped).

Lightning's and W&B's own messages (device banners, tips, model summaries, sync notices) are
kept for ``--verbose``; :func:`quiet_output` holds them back for the duration of a run (`vsumlab
cv` and `vsumlab fit|validate|test|predict`) and restores the previous settings afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L

from vsumlab.evaluation.metric_registry import one_line

#: loggers whose INFO messages are banners (GPU/TPU availability, litmodels tip, seeds)
BANNER_LOGGERS = ("lightning.pytorch", "lightning.fabric")

#: warnings raised inside third-party code that a vsumlab user cannot act on (kept with
#: --verbose): Lightning 2.6 asks torch's pytree module for a class torch 2.14 deprecates
THIRD_PARTY_WARNINGS = (r"`isinstance\(treespec, LeafSpec\)` is deprecated",)


@contextlib.contextmanager
def quiet_output(verbose: bool) -> Iterator[None]:
    """Hold back banners and third-party warnings unless ``verbose``."""
    if verbose:
        yield
        return
    # Lightning prints through its own console handlers: raise theirs, so that the records
    # still reach handlers further up (a log file, pytest's caplog)
    handlers = [handler for name in BANNER_LOGGERS for handler in logging.getLogger(name).handlers
                if isinstance(handler, logging.StreamHandler)]
    levels = [handler.level for handler in handlers]
    # W&B loggers a recipe configures itself (`vsumlab fit`): no "wandb:" banners either
    silent = os.environ.get("WANDB_SILENT")
    try:
        for handler in handlers:
            handler.setLevel(logging.WARNING)
        if silent is None:
            os.environ["WANDB_SILENT"] = "true"
        with warnings.catch_warnings():
            for message in THIRD_PARTY_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)
        if silent is None:
            os.environ.pop("WANDB_SILENT", None)


class CVProgress:
    """Header, one bar over every fold's epochs (on a terminal), one line per finished fold."""

    def __init__(self, runs: int, max_epochs: int | None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None
        if enabled and max_epochs:
            from tqdm.auto import tqdm

            # disable=None: no bar when stderr is not a terminal (logs, pipes, tests)
            self.bar = tqdm(total=runs * max_epochs, unit="epoch", disable=None,
                            file=sys.stderr, dynamic_ncols=True, leave=False)
        self.max_epochs = max_epochs
        self.folds_done = 0
        self._skipped: set[tuple[int, int | None]] = set()

    def write(self, line: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def header(self, experiment: str, recipe: Path, folds: int, n_folds: int, seeds: int,
               selection: str, out_dir: Path) -> None:
        epochs = f", {self.max_epochs} epochs" if self.max_epochs else ""
        rounds = f" x {seeds} seeds" if seeds > 1 else ""
        self.write(f"vsumlab cv {experiment}: {recipe}, {folds} of {n_folds} folds{rounds}"
                   f"{epochs}, model selection {selection} -> {out_dir}")

    def callback(self, fold: int, seed: int | None) -> L.Callback:
        return _EpochTicks(self, f"fold {fold}" + (f" seed {seed}" if seed is not None else ""))

    def skipped(self, fold: int, seed: int | None) -> None:
        """The fold was finished by an earlier run (its result.json exists): not trained again."""
        self._skipped.add((int(fold), seed))

    def fold_done(self, result: dict[str, Any]) -> None:
        model = result["model"]
        seed = f" seed {result['seed']}" if result.get("seed") is not None else ""
        earlier = ((int(result["fold"]), result.get("seed")) in self._skipped)
        note = "  (finished earlier: skipped)" if earlier else ""
        self.write(f"fold {result['fold']}{seed}: {one_line(model)}{note}")
        self.folds_done += 1
        if self.bar is not None and self.max_epochs:  # a fold resumed, skipped or stopped early
            self.bar.update(max(0, self.folds_done * self.max_epochs - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _EpochTicks(L.Callback):
    def __init__(self, progress: CVProgress, label: str) -> None:
        self.progress, self.label = progress, label

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        bar = self.progress.bar
        if bar is not None and trainer.is_global_zero:
            bar.set_description(self.label, refresh=False)
            bar.update(1)
