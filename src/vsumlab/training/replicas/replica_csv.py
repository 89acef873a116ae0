"""Each replica's ``csv/metrics.csv``, written by the process that trains the replica.

Lightning's CSV logger writes on global rank 0 only; under DDP the replicas are divided among
the processes (:mod:`vsumlab.training.replicas.ranks`), and a replica's logger exists only in
the process that owns it, so it writes wherever it runs. Rows survive a resume as
:class:`~vsumlab.training.resume.ResumableCSVLogger`'s do.
"""

from __future__ import annotations

from typing import Any

from vsumlab.training.resume import ResumableCSVLogger, _KeepingWriter


class ReplicaCSVLogger(ResumableCSVLogger):
    """A replica's CSV logger, not gated on the process's rank."""

    @property
    def experiment(self) -> _KeepingWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(log_dir=self.log_dir)
        return self._experiment

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        self.experiment.log_metrics(metrics, step)

    def save(self) -> None:
        self.experiment.save()
