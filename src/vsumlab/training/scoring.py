"""Scoring is part of the run, not of the model.

A method's module produces per-video step scores (its ``validation_step``/``test_step`` return
``{key: scores}``) and its own losses; :class:`ProtocolScoring`, which the run attaches (see
:class:`vsumlab.training.lightning_cli.VsumCLI`), turns those scores into the protocol's metrics
(:mod:`vsumlab.evaluation.metric_registry`) and logs them as ``val/<metric>`` and
``test/<metric>``. The protocol is the run's (the recipe's top-level ``protocol:``), read once;
the callback writes it into every checkpoint (``vsumlab_protocol``) so `vsumlab summarize` knows
the budget a model was selected under.

:func:`score_test_fold` scores a fold's gathered test predictions with the same protocol, with
the random, uniform and human reference rows of the same test videos (what `vsumlab cv` writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch

from vsumlab.data.annotation_styles import annotation_style
from vsumlab.data.contract import ScoredDataModule
from vsumlab.errors import ConfigError
from vsumlab.evaluation.metric_registry import PRIMARY, logged_name
from vsumlab.evaluation.torchmetrics import SummarizationMetrics
from vsumlab.models.loading import PROTOCOL_CHECKPOINT_KEY
from vsumlab.protocol.options import DEFAULT_PROTOCOL, Protocol

#: Lightning stage -> the prefix its metrics are logged under
STAGES = {"validate": "val", "test": "test"}


def check_feature_width(datamodule: Any, pl_module: Any) -> None:
    """The data's feature width against the model's ``input_dim`` (one line naming both)."""
    data_dim = getattr(datamodule, "feature_dim", None)
    model_dim = getattr(pl_module, "input_dim", None)
    if data_dim is not None and model_dim is not None and data_dim != model_dim:
        raise ConfigError(
            f"feature dimension mismatch: the data ({datamodule.dataset_path}) has "
            f"{data_dim}-d features but model.input_dim is {model_dim}"
        )


def fit_module_to_data(datamodule: Any, pl_module: Any) -> None:
    """Refuse data of another feature width, and record in the module (saved in its
    checkpoints) which encoder made the features, so `vsumlab summarize` encodes as training
    did. What a run does when a module meets its data: a fold's or a replica's."""
    check_feature_width(datamodule, pl_module)
    attrs = datamodule.target.attrs
    if hasattr(pl_module, "feature_model"):
        pl_module.feature_model = attrs.get("feature_model")
        pl_module.feature_weights = attrs.get("feature_weights")


def stage_metric(protocol: Protocol, datamodule: Any, stage: str,
                 **kwargs: Any) -> SummarizationMetrics:
    """The protocol's metric over a stage's videos (``val``, ``test``). Qualified keys
    ("summe/video_3") tell each video's annotation style themselves."""
    qualified = datamodule.qualified
    return SummarizationMetrics(
        datamodule.records_for(stage),
        protocol,
        style=None if qualified else annotation_style(datamodule.target),
        source=None if qualified else datamodule.dataset_path,
        **kwargs,
    )


class ProtocolScoring(L.Callback):
    """Scores a module's per-video validation and test outputs with the run's protocol.

    Active when the data module can give the records of a stage (``records_for``): the
    standard-h5 data modules; pretraining data (captions, unlabeled videos) is not scored.
    Also records which encoder made the training features (``feature_model``/``feature_weights``
    of the module, saved in its checkpoints) and refuses data of another feature width.
    """

    def __init__(self, protocol: Protocol | Mapping[str, Any] | None = None) -> None:
        if not isinstance(protocol, Protocol):
            protocol = Protocol.from_dict(dict(protocol)) if protocol else DEFAULT_PROTOCOL
        self.protocol = protocol
        self.metrics: dict[str, SummarizationMetrics] = {}

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if datamodule is None or not hasattr(datamodule, "records_for"):
            return
        fit_module_to_data(datamodule, pl_module)
        for name in STAGES.values():
            if name not in self.metrics:
                self.metrics[name] = stage_metric(self.protocol, datamodule, name)

    # -- feeding and logging -------------------------------------------------------------------

    def _update(self, name: str, pl_module: L.LightningModule, outputs: Any) -> None:
        metric = self.metrics.get(name)
        if metric is None or outputs is None:
            return
        if not isinstance(outputs, Mapping):
            raise ConfigError(
                f"{type(pl_module).__name__}: its {name} step must return {{video key: step "
                f"scores}} for the protocol's metrics, got {type(outputs).__name__}"
            )
        metric.to(pl_module.device)
        metric.update(list(outputs), [torch.as_tensor(v) for v in outputs.values()])

    def _log(self, name: str, pl_module: L.LightningModule) -> None:
        metric = self.metrics.get(name)
        # a module whose steps return no scores (pretraining objectives) logs no metrics; under
        # DDP every rank sees batches (the sampler pads), so all ranks compute (and sync) alike
        if metric is None or not metric.update_called:
            return
        for key, value in metric.compute().items():
            pl_module.log(logged_name(name, key), value, prog_bar=key == PRIMARY, sync_dist=False)
        metric.reset()

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                outputs: Any, batch: Any, batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        self._update("val", pl_module, outputs)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log("val", pl_module)

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any,
                          batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._update("test", pl_module, outputs)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._log("test", pl_module)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        checkpoint[PROTOCOL_CHECKPOINT_KEY] = self.protocol.to_dict()


@dataclass
class FoldScores:
    """A fold's test scores and the reference rows of the same test videos."""

    model: Any  # DatasetScores
    references: dict[str, Any]  # name -> DatasetScores


def score_test_fold(datamodule: ScoredDataModule, predictions: Mapping[str, Any], protocol: Protocol,
                    seed: int, draws: int) -> FoldScores:
    """Score a fold's test predictions, and the random (``draws`` draws from ``seed``),
    uniform and human rows, on the data module's test videos with ``protocol``: only the test
    videos' annotations are read (``records_for``; features stay on disk)."""
    from vsumlab.data.schema import Dataset
    from vsumlab.evaluation import metrics

    test_set = Dataset(records=datamodule.records_for("test"),
                       attrs=dict(datamodule.target.attrs), path=datamodule.target.path)
    return FoldScores(
        model=metrics.evaluate_dataset(test_set, predictions, protocol),
        references={
            "random": metrics.random_baseline(test_set, protocol, seed=seed, draws=draws),
            "uniform": metrics.uniform_baseline(test_set, protocol),
            "human": metrics.human_reference(test_set, protocol),
        },
    )
