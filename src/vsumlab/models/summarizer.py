"""The base LightningModule of frame-scoring summarizers.

It owns what every method shares: the summarizer network (a built-in short name or any class by
its class path, see :mod:`vsumlab.models.components.registry`), the optimizer and LR scheduler
chosen in YAML (:mod:`vsumlab.models.optimization`), the supervised MSE objective on
``gtscore``, per-video step scores on validation and test (the run scores them with its
protocol, :mod:`vsumlab.training.scoring`), prediction of step scores, and checkpoint metadata
that lets any method's checkpoint be loaded by :func:`vsumlab.models.loading.load_summarizer`. Methods subclass it and override
:meth:`training_loss` (and add parts) rather than re-implementing evaluation or logging.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.registry import (
    SummarizerSpec,
    build_summarizer,
    summarizer_class_path,
)
from vsumlab.models.optimization import (
    OPTIMIZATION_KEYS,
    build_lr_scheduler,
    build_optimizer,
    record_choices,
)

#: checkpoint entry naming the summarizer network's class (short names resolved)
SUMMARIZER_CLASS_KEY = "vsumlab_summarizer_class"



def masked_mse(scores: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over valid steps only (padding never contributes)."""
    weights = mask.to(scores.dtype)
    return ((scores - target) ** 2 * weights).sum() / weights.sum().clamp_min(1.0)


def per_video_scores(batch: dict[str, Any], scores: Tensor) -> dict[str, Tensor]:
    """``{key: (n_steps,) scores}`` of a padded batch: what evaluation steps return."""
    lengths = batch["n_steps"].tolist()
    return {key: scores[i, :n] for i, (key, n) in enumerate(zip(batch["keys"], lengths))}


def load_summarizer_weights(summarizer: nn.Module, path: str) -> None:
    """Initialise a summarizer from a pretraining checkpoint (e.g. ViSP) or a state-dict file.

    Accepts a Lightning checkpoint holding ``summarizer_state_dict`` (written by every vsumlab
    module), a checkpoint whose ``state_dict`` has ``summarizer.*`` entries, or a plain state dict.
    """
    from vsumlab.models.loading import read_checkpoint

    file = Path(path)
    payload = read_checkpoint(file, "model.pretrained")
    if isinstance(payload, dict) and "summarizer_state_dict" in payload:
        state = payload["summarizer_state_dict"]
    elif isinstance(payload, dict) and "state_dict" in payload:
        prefix = "summarizer."
        state = {
            k[len(prefix) :]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)
        }
    else:
        state = payload
    if not state:
        raise ConfigError(f"model.pretrained: {file} holds no summarizer weights")
    try:
        summarizer.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"model.pretrained: {file} does not fit the summarizer: {first}") from exc


class SummarizerModule(L.LightningModule):
    """Supervised frame-scoring summarizer (MSE on gtscore), the harness every method uses.

    Args:
        summarizer: the network: a short name ("transformer", "csta"), a class path
            ("mypkg.MyNet") or ``{class_path: mypkg.MyNet, init_args: {...}}``; its contract is
            ``forward(features (B, T, D), mask (B, T) bool) -> logits (B, T)`` (checked once
            for classes outside vsumlab, see :mod:`vsumlab.models.components.registry`).
        summarizer_args: keyword arguments of that network (unknown keys are rejected).
        input_dim: feature dimension the network expects; checked against the data.
        lr, weight_decay: settings of the default optimizer, Adam (not used when ``optimizer``
            is given).
        optimizer: optional optimizer, e.g. ``{class_path: torch.optim.AdamW, init_args: {lr:
            1e-3}}`` (see :mod:`vsumlab.models.optimization`); default Adam(lr, weight_decay).
        lr_scheduler: optional LR scheduler, e.g. ``{class_path:
            torch.optim.lr_scheduler.CosineAnnealingLR, init_args: {T_max: 20}}``; default none.
        lr_scheduler_config: Lightning's scheduler keys (interval, frequency, monitor, ...);
            default ``{interval: epoch}``.
        pretrained: optional checkpoint whose summarizer weights initialise this one.
    """

    def __init__(
        self,
        summarizer: SummarizerSpec = "transformer",
        summarizer_args: dict[str, Any] | None = None,
        input_dim: int = 1024,
        lr: float = 5e-4,
        weight_decay: float = 1e-5,
        pretrained: str | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        lr_scheduler_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        record_choices(self.hparams, *OPTIMIZATION_KEYS)
        if lr_scheduler_config and lr_scheduler is None:
            raise ConfigError("model.lr_scheduler_config is set but model.lr_scheduler is not")
        self.optimizer_choice = optimizer
        self.lr_scheduler_choice = lr_scheduler
        self.input_dim = input_dim
        self.summarizer = build_summarizer(summarizer, input_dim, **(summarizer_args or {}))
        if pretrained:
            load_summarizer_weights(self.summarizer, pretrained)
        self.feature_model: str | None = None
        self.feature_weights: str | None = None

    # ------------------------------------------------------------------ model
    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        """Logits (B, T); scores are their sigmoid."""
        return self.summarizer(features, mask)

    def scores(self, features: Tensor, mask: Tensor) -> Tensor:
        return torch.sigmoid(self(features, mask).float())

    def check_video_features(self, features: np.ndarray) -> np.ndarray:
        """One video's features as float32 (T, input_dim), or a ConfigError naming both shapes."""
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ConfigError(
                f"features of shape {tuple(features.shape)} do not fit this model: it expects "
                f"(n_steps, {self.input_dim})"
            )
        return features

    @torch.no_grad()
    def score_video(self, features: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] for one video's (T, D) features (used by `vsumlab summarize`)."""
        features = self.check_video_features(features)
        was_training = self.training
        self.eval()
        x = torch.as_tensor(features, dtype=torch.float32, device=self.device)[None]
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=self.device)
        out = self.scores(x, mask)[0].cpu().numpy()
        self.train(was_training)
        return out

    # ------------------------------------------------------------------ objective
    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        """MSE between sigmoid scores and normalised gtscore; subclasses redefine this."""
        scores = self.scores(batch["features"], batch["mask"])
        loss = masked_mse(scores, batch["gtscore"], batch["mask"])
        return loss, {"mse": loss.detach()}

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, logs = self.training_loss(batch)
        size = len(batch["keys"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size, sync_dist=True)
        for name, value in logs.items():
            self.log(f"train/{name}", value, batch_size=size, sync_dist=True)
        return loss

    def configure_optimizers(self) -> Any:
        """Adam(lr, weight_decay) unless the recipe chose an optimizer; plus its scheduler."""
        if self.optimizer_choice is None:
            optimizer = torch.optim.Adam(
                self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
            )
        else:
            optimizer = build_optimizer(self.optimizer_choice, self.parameters())
        if self.lr_scheduler_choice is None:
            return optimizer
        config = self.hparams.get("lr_scheduler_config")
        return {
            "optimizer": optimizer,
            "lr_scheduler": build_lr_scheduler(self.lr_scheduler_choice, optimizer, config),
        }

    # ------------------------------------------------------------------ evaluation
    # The run scores these outputs with its protocol (vsumlab.training.scoring.ProtocolScoring):
    # a method produces per-video scores and its own losses, nothing else.
    def evaluation_step(self, batch: dict[str, Any], name: str) -> dict[str, Tensor]:
        """``{key: step scores}`` of a validation/test batch; logs the batch's MSE."""
        scores = self.scores(batch["features"], batch["mask"])
        loss = masked_mse(scores, batch["gtscore"], batch["mask"])
        self.log(f"{name}/mse", loss, batch_size=len(batch["keys"]), sync_dist=True)
        return per_video_scores(batch, scores)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        return self.evaluation_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        return self.evaluation_step(batch, "test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, np.ndarray]:
        scores = self.scores(batch["features"], batch["mask"])
        return {key: value.cpu().numpy() for key, value in per_video_scores(batch, scores).items()}

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint["vsumlab_class"] = f"{cls.__module__}.{cls.__qualname__}"
        summarizer = self.hparams.get("summarizer")
        if summarizer is not None:  # CLIP-It builds its own network
            checkpoint[SUMMARIZER_CLASS_KEY] = summarizer_class_path(summarizer)
        checkpoint["summarizer_state_dict"] = {
            k: v.detach().cpu() for k, v in self.summarizer.state_dict().items()
        }
        checkpoint["feature_source"] = {
            "feature_model": self.feature_model,
            "feature_weights": self.feature_weights,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        source = checkpoint.get("feature_source") or {}
        self.feature_model = source.get("feature_model")
        self.feature_weights = source.get("feature_weights")
