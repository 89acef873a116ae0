"""DeSumNet (Panda et al., ICCV 2017): summarization learned from video category labels only.

A 3D CNN (:class:`~vsumlab.models.components.c3d.C3D`) is trained to classify 16-frame clips
into video categories. Importance is input sensitivity: one forward pass over a video's
segments gives the predicted category c (highest mean class probability); the backward pass of
the class-c score to each input segment gives a gradient map M; frame importance is the mean
of M over pixels and colour channels (the paper's formula; of |M| with ``gradient="abs"``),
segment importance the mean (or max) over the segment's frames (desumnet.txt, eq. 1-2 and
section 3.1).

Training practices (section 3.2) are recipes over this module: cross-dataset pretraining
(``pretrained`` = an action-recognition checkpoint; its layers train at ``pretrained_lr`` and a
fresh fc8 at ``lr``, as the paper's fine-tuning), progressive adaptation with web videos
(:func:`refine_web_videos` keeps the segments whose class probability passes a threshold, then
training continues on them), and augmentation (options of the data module).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from vsumlab.data.schema import Dataset
from vsumlab.data.webvideos.augment import ClipAugment
from vsumlab.data.webvideos.clips import ClipSpec, decode_clips, segment_starts
from vsumlab.data.webvideos.sources import VideoEntry, dataset_videos
from vsumlab.errors import ConfigError, DatasetError, EmptyStageError
from vsumlab.models.components.c3d import C3D, normalize_clips
from vsumlab.models.optimization import (
    OPTIMIZATION_KEYS,
    build_lr_scheduler,
    build_optimizer,
    record_choices,
)

GRADIENTS = ("abs", "signed")
AGGREGATES = ("mean", "max")
CLASS_KEY = "vsumlab_class"  # read by vsumlab.models.loading.load_summarizer


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"DeSumNet option {name}={value!r} is unknown; expected one of {allowed}")


def map_frame_importance(grad: Tensor, gradient: str = "signed") -> Tensor:
    """I_ij = 1/(p*q) * sum_{x,y} M_i(x, y, j) of gradient maps M (N, 3, T, H, W) -> (N, T).

    ``signed`` is the paper's formula (desumnet.txt section 3.1, step (2): the map itself is
    averaged, no absolute value); ``abs`` averages |M| (the gradient's "strength", an option).
    The paper's M has no colour axis; the three colour channels are averaged like the pixels.
    """
    _check_choice("gradient", gradient, GRADIENTS)
    return (grad.abs() if gradient == "abs" else grad).mean(dim=(1, 3, 4))


def frame_importance(
    model: torch.nn.Module, clips: Tensor, target: int | Tensor, gradient: str = "signed"
) -> tuple[Tensor, Tensor]:
    """Per-frame importance (N, T) of normalised clips (N, 3, T, H, W), and the logits (N, C).

    One forward and one backward pass: clips in a batch do not interact (no batch norm, and
    the model must be in eval mode so dropout is off), so the gradient of the summed class
    scores w.r.t. the batch is each clip's own gradient.
    """
    _check_choice("gradient", gradient, GRADIENTS)
    with torch.inference_mode(False), torch.enable_grad():  # also works inside predict/test
        x = clips.detach().clone().requires_grad_(True)
        logits = model(x)
        index = torch.as_tensor(target, device=logits.device).long().expand(len(x))
        score = logits.gather(1, index[:, None]).sum()
        (grad,) = torch.autograd.grad(score, x)
    return map_frame_importance(grad, gradient).detach(), logits.detach()


def aggregate_frames(frames: Tensor, aggregate: str = "mean") -> Tensor:
    """Segment importance (N,) from frame importance (N, T): mean (the paper's choice) or max."""
    _check_choice("aggregate", aggregate, AGGREGATES)
    return frames.mean(dim=1) if aggregate == "mean" else frames.amax(dim=1)


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] within a video; a constant video scores 0 everywhere."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    return np.zeros_like(values) if high - low < 1e-12 else (values - low) / (high - low)


@dataclass
class VideoImportance:
    """Importance of every segment of one video (frame ranges inclusive)."""

    path: Path
    n_frames: int
    fps: float
    starts: np.ndarray  # (S,) first frame of each segment
    ends: np.ndarray  # (S,) last frame of each segment
    segment: np.ndarray  # (S,) segment importance
    frames: np.ndarray  # (S, clip_len) importance of each frame fed to the network
    probabilities: np.ndarray  # (C,) mean class probability over the segments
    predicted: int  # category index whose score was back-propagated
    category: str | None = None

    def frame_scores(self) -> np.ndarray:
        """(n_frames,) each frame takes its segment's importance."""
        out = np.zeros(self.n_frames, dtype=np.float64)
        for start, end, value in zip(self.starts, self.ends, self.segment):
            out[start : end + 1] = value
        return out

    def unit_segment(self) -> np.ndarray:
        """(S,) segment importance min-max scaled to [0, 1] within the video, as the paper shows
        it (Fig. 3, "importance score in [0,1]"); signed importance becomes non-negative, which
        the time-lapse rule r_i = 1 - I_i / sum_j I_j needs."""
        return minmax(self.segment)

    def step_scores(self, picks: np.ndarray) -> np.ndarray:
        """Scores in [0, 1] at the given frames (the standard steps), min-max per video."""
        picks = np.asarray(picks, dtype=np.int64)
        if picks.size and (picks.min() < 0 or picks.max() >= self.n_frames):
            raise ConfigError(
                f"{self.path}: picks range [{picks.min()}, {picks.max()}] outside the video's "
                f"{self.n_frames} frames"
            )
        segment = np.searchsorted(self.starts, picks, side="right") - 1
        return self.unit_segment()[segment]


class DeSumNetModule(L.LightningModule):
    """Category classification of clips with a 3D CNN, and gradient-based importance.

    Args:
        num_classes / class_names: the class count, or the category names (their count wins);
            names left unset are taken from the data module at fit time.
        width, fc_dim, dropout, clip_len, crop: the network (see :class:`C3D`).
        clip_stride, clip_resize: how raw videos are cut into clips (frame stride, (height,
            width) before the centre crop) when scoring them; taken from the data module at fit
            time and stored in the checkpoint. (Named apart from the data module's
            frame_stride/resize, whose hparams Lightning must not find in conflict.)
        lr, momentum, weight_decay, lr_step_epochs, lr_gamma: SGD and its step schedule; the
            defaults are the paper's training from scratch (0.003, 0.9, 0.005, /10 every 4).
        pretrained: checkpoint of this module (e.g. pretraining on UCF101) to start from:
            weights of matching shape are loaded and train at ``pretrained_lr`` (paper:
            0.0003); fc8 is new (N(0, 0.01)) unless the categories match, and trains at ``lr``.
        gradient: signed (the paper's I_ij, mean of the gradient map) | abs (mean of |M|).
        aggregate, importance_batch_size: importance options.
        optimizer: optional optimizer instead of the paper's SGD, e.g. ``{class_path:
            torch.optim.AdamW, init_args: {lr: 1e-3}}`` (see :mod:`vsumlab.models.optimization`);
            new layers train at its own lr, loaded ones at ``pretrained_lr``; ``lr``,
            ``momentum`` and ``weight_decay`` are the default SGD's only.
        lr_scheduler: optional LR scheduler instead of the step schedule (``lr_step_epochs``,
            ``lr_gamma``); lr_scheduler_config: Lightning's scheduler keys (interval, monitor).
    """

    def __init__(
        self,
        num_classes: int | None = None,
        class_names: list[str] | None = None,
        width: float = 1.0,
        fc_dim: int | None = None,
        dropout: float = 0.5,
        clip_len: int = 16,
        crop: int = 112,
        clip_stride: int = 1,
        clip_resize: tuple[int, int] = (128, 171),
        lr: float = 0.003,
        momentum: float = 0.9,
        weight_decay: float = 0.005,
        lr_step_epochs: int = 4,
        lr_gamma: float = 0.1,
        pretrained: str | None = None,
        pretrained_lr: float = 0.0003,
        gradient: str = "signed",
        aggregate: str = "mean",
        importance_batch_size: int = 16,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        lr_scheduler_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if class_names:
            num_classes = len(class_names)
        _check_choice("gradient", gradient, GRADIENTS)
        _check_choice("aggregate", aggregate, AGGREGATES)
        self.save_hyperparameters()
        record_choices(self.hparams, *OPTIMIZATION_KEYS)
        self.optimizer_choice = optimizer
        self.lr_scheduler_choice = lr_scheduler
        self.hparams["clip_resize"] = [int(v) for v in clip_resize]
        # without a class count the network is built in setup, from the data's categories
        self.model: C3D | None = self._build(num_classes) if num_classes else None
        self._pretrained_names: set[str] = set()
        self._weights_restored = False
        self._val_probs: dict[int, list[Tensor]] = {}
        self._val_labels: dict[int, int] = {}

    # ------------------------------------------------------------------ network
    def _build(self, num_classes: int) -> C3D:
        hp = self.hparams
        return C3D(num_classes, hp.clip_len, hp.crop, hp.width, hp.fc_dim, hp.dropout)

    @property
    def network(self) -> C3D:
        if self.model is None:
            raise ConfigError(
                "DeSumNet: the network is not built yet: set model num_classes or class_names, "
                "or fit it on a web-video data module (which names the categories)"
            )
        return self.model

    @property
    def categories(self) -> list[str]:
        names = self.hparams.get("class_names")
        return list(names) if names else [str(i) for i in range(self.network.num_classes)]

    @property
    def spec(self) -> ClipSpec:
        hp = self.hparams
        return ClipSpec(clip_len=hp.clip_len, frame_stride=hp.clip_stride, resize=hp.clip_resize)

    def forward(self, clips: Tensor) -> Tensor:
        """Logits (B, C) of uint8 or already normalised float clips (B, 3, T, H, W)."""
        if clips.dtype == torch.uint8:
            clips = normalize_clips(clips)
        return self.network(clips)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None and hasattr(datamodule, "spec"):
            self._adopt_data(datamodule)
        if self.model is None:
            names = self.hparams.get("class_names")
            if not names:
                raise ConfigError(
                    "DeSumNet: set model num_classes or class_names, or fit it on a web-video "
                    "data module (which names the categories)"
                )
            self.model = self._build(len(names))
        if stage == "fit" and self.hparams.pretrained and not self._weights_restored:
            self.load_pretrained(self.hparams.pretrained)

    def _adopt_data(self, datamodule: Any) -> None:
        """Check the network fits the clips, take their cutting and the category names."""
        hp = self.hparams
        spec, crop = datamodule.spec, datamodule.hparams.crop
        if (spec.clip_len, crop) != (hp.clip_len, hp.crop):
            raise ConfigError(
                f"DeSumNet: the data gives clip_len={spec.clip_len}, crop={crop} but the model "
                f"was built for clip_len={hp.clip_len}, crop={hp.crop}; set both alike"
            )
        self.hparams["clip_stride"] = spec.frame_stride
        self.hparams["clip_resize"] = list(spec.resize)
        names = datamodule._split()["categories"]
        if hp.class_names and list(hp.class_names) != list(names):
            raise ConfigError(
                f"DeSumNet: model class_names {list(hp.class_names)} differ from the data's "
                f"categories {names}"
            )
        if self.model is not None and len(names) != self.model.num_classes:
            raise ConfigError(
                f"DeSumNet: the data has {len(names)} categories {names} but the model has "
                f"num_classes={self.model.num_classes}"
            )
        self.hparams["class_names"] = list(names)

    def load_pretrained(self, path: str | os.PathLike) -> list[str]:
        """Load weights of matching shape from a DeSumNet checkpoint; returns their names.

        fc8 is kept only when the checkpoint was trained on the same categories (continuing,
        e.g. model adaptation); otherwise it stays freshly initialised (cross-dataset).
        """
        from vsumlab.models.loading import read_checkpoint

        file = Path(path)
        payload = read_checkpoint(file, "model.pretrained")
        state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
        if not isinstance(state, dict):
            raise ConfigError(f"model.pretrained: {file} holds no state dict")
        theirs = (payload.get("hyper_parameters") or {}).get("class_names")
        same_classes = theirs is not None and list(theirs) == self.categories
        own = self.state_dict()
        loaded = {}
        for name, value in state.items():
            if name not in own or own[name].shape != value.shape:
                continue
            if name.startswith("model.fc8.") and not same_classes:
                continue
            loaded[name] = value
        if not any(name.startswith("model.features.") for name in loaded):
            raise ConfigError(
                f"model.pretrained: {file} has no weights fitting this network "
                "(expected a DeSumNet checkpoint with the same width, clip_len and crop)"
            )
        self.load_state_dict(loaded, strict=False)
        self._pretrained_names = set(loaded)
        return sorted(loaded)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        pretrained = [p for n, p in self.named_parameters() if n in self._pretrained_names]
        fresh = [p for n, p in self.named_parameters() if n not in self._pretrained_names]
        if self.optimizer_choice is None:
            groups = [{"params": fresh, "lr": hp.lr}]
            if pretrained:
                groups.append({"params": pretrained, "lr": hp.pretrained_lr})
            optimizer = torch.optim.SGD(
                [g for g in groups if g["params"]],
                lr=hp.lr,
                momentum=hp.momentum,
                weight_decay=hp.weight_decay,
            )
        else:  # new layers at the chosen optimizer's own lr, loaded ones at pretrained_lr
            groups = [{"params": fresh}]
            if pretrained:
                groups.append({"params": pretrained, "lr": hp.pretrained_lr})
            optimizer = build_optimizer(self.optimizer_choice, [g for g in groups if g["params"]])
        if self.lr_scheduler_choice is not None:
            config = build_lr_scheduler(
                self.lr_scheduler_choice, optimizer, hp.get("lr_scheduler_config")
            )
            return {"optimizer": optimizer, "lr_scheduler": config}
        scheduler = torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=hp.lr_step_epochs, gamma=hp.lr_gamma
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    # ------------------------------------------------------------------ classification
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        logits = self(batch["clip"])
        loss = F.cross_entropy(logits, batch["label"])
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        size = len(batch["label"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/acc", acc, prog_bar=True, batch_size=size)
        return loss

    def _evaluate(self, batch: dict[str, Tensor], name: str) -> None:
        logits = self(batch["clip"])
        size = len(batch["label"])
        loss = F.cross_entropy(logits, batch["label"])
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        self.log(f"{name}/loss", loss, batch_size=size, sync_dist=True)
        self.log(f"{name}/clip_acc", acc, batch_size=size, sync_dist=True)
        probs = logits.softmax(1).detach().cpu()
        for video, label, p in zip(batch["video"].tolist(), batch["label"].tolist(), probs):
            self._val_probs.setdefault(video, []).append(p)
            self._val_labels[video] = label

    def _video_accuracy(self, name: str) -> None:
        # a video's prediction averages its clips' probabilities (the paper: 10 clips); under
        # DDP a video's clips are spread over the processes, so every process first gathers all
        # clip sums and computes the same accuracy over every video
        if self._val_probs or self.trainer.world_size > 1:
            parts = [video_prob_sums(self._val_probs, self._val_labels)]
            if self.trainer.world_size > 1 and torch.distributed.is_initialized():
                parts = [None] * self.trainer.world_size
                torch.distributed.all_gather_object(
                    parts, video_prob_sums(self._val_probs, self._val_labels)
                )
            merged = merge_video_prob_sums(parts)
            if merged:
                correct = [int(total.argmax()) == label for total, label in merged.values()]
                self.log(f"{name}/video_acc", float(np.mean(correct)), prog_bar=True)
        self._val_probs, self._val_labels = {}, {}

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._video_accuracy("val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._video_accuracy("test")

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint[CLASS_KEY] = f"{cls.__module__}.{cls.__qualname__}"

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._weights_restored = True

    # ------------------------------------------------------------------ videos
    def _segment_batches(
        self, path: str | os.PathLike, n_frames: int, batch_size: int
    ) -> Iterator[tuple[np.ndarray, Tensor]]:
        """(segment starts, normalised centre-cropped clips) in batches, streaming decode."""
        spec = self.spec
        starts = segment_starts(n_frames, spec)
        crop = ClipAugment(crop=self.hparams.crop, train=False)
        batch: list[Tensor] = []
        first = 0
        for i, clip in decode_clips(path, starts, n_frames, spec):
            batch.append(crop(clip))
            if len(batch) == batch_size or i == len(starts) - 1:
                clips = normalize_clips(torch.stack(batch).to(self.device))
                yield starts[first : first + len(batch)], clips
                first += len(batch)
                batch = []

    def segment_probabilities(
        self, path: str | os.PathLike, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(segment starts (S,), class probabilities (S, C), n_frames) of a video."""
        from vsumlab.data.video_decode import probe

        n_frames = probe(path).n_frames
        was_training = self.training
        self.eval()
        starts, probs = [], []
        with torch.no_grad():
            for batch_starts, clips in self._segment_batches(
                path, n_frames, batch_size or self.hparams.importance_batch_size
            ):
                starts.append(batch_starts)
                probs.append(self.network(clips).softmax(1).cpu().numpy())
        self.train(was_training)
        return np.concatenate(starts), np.concatenate(probs), n_frames

    def video_importance(
        self,
        path: str | os.PathLike,
        target: int | str | None = None,
        gradient: str | None = None,
        aggregate: str | None = None,
        batch_size: int | None = None,
    ) -> VideoImportance:
        """Segment importance of a video file (segments: consecutive clips covering it).

        ``target`` (index or category name) fixes the back-propagated class; by default it is
        the category with the highest mean probability. When the video fits one batch this is
        one forward and one backward pass; longer videos stream twice (probabilities, then
        gradients) so memory stays bounded.
        """
        from vsumlab.data.video_decode import probe

        gradient = gradient or self.hparams.gradient
        aggregate = aggregate or self.hparams.aggregate
        batch_size = batch_size or self.hparams.importance_batch_size
        info = probe(path)
        if isinstance(target, str):
            if target not in self.categories:
                raise ConfigError(f"{path}: category {target!r} not among {self.categories}")
            target = self.categories.index(target)
        was_training = self.training
        self.eval()  # dropout off: gradients must be those of the deterministic network
        n_segments = len(segment_starts(info.n_frames, self.spec))
        mean_probs = None
        if target is None and n_segments > batch_size:
            _, probs, _ = self.segment_probabilities(path, batch_size)
            mean_probs = probs.mean(0)
            target = int(mean_probs.argmax())
        starts, frames, probs_seen = [], [], []
        for batch_starts, clips in self._segment_batches(path, info.n_frames, batch_size):
            if target is None:  # the whole video is this one batch: pick c from its forward
                with torch.inference_mode(False), torch.enable_grad():
                    x = clips.detach().clone().requires_grad_(True)
                    logits = self.network(x)
                    mean_probs = logits.detach().softmax(1).mean(0).cpu().numpy()
                    target = int(mean_probs.argmax())
                    (grad,) = torch.autograd.grad(logits[:, target].sum(), x)
                frame_imp, logits = map_frame_importance(grad, gradient), logits.detach()
            else:
                frame_imp, logits = frame_importance(self.network, clips, target, gradient)
            starts.append(batch_starts)
            frames.append(frame_imp.cpu())
            probs_seen.append(logits.softmax(1).cpu().numpy())
        self.train(was_training)
        frame_arr = torch.cat(frames)
        starts_arr = np.concatenate(starts)
        if mean_probs is None:
            mean_probs = np.concatenate(probs_seen).mean(0)
        ends = np.minimum(starts_arr + self.spec.span, info.n_frames) - 1
        return VideoImportance(
            path=Path(path),
            n_frames=info.n_frames,
            fps=info.fps,
            starts=starts_arr,
            ends=ends,
            segment=aggregate_frames(frame_arr, aggregate).numpy().astype(np.float64),
            frames=frame_arr.numpy(),
            probabilities=np.asarray(mean_probs),
            predicted=int(target),
            category=self.categories[int(target)],
        )

    def score_video(self, video: str | os.PathLike, picks: np.ndarray | None = None) -> np.ndarray:
        """Importance scores in [0, 1] at ``picks`` (default: the 2 fps steps) of a video file.

        The raw-video counterpart of ``SummarizerModule.score_video(features)``: DeSumNet reads
        pixels, so ``vsumlab summarize`` passes the video path (see :attr:`input_kind`).
        """
        if isinstance(video, np.ndarray):
            raise ConfigError(
                "DeSumNet scores raw videos, not features: pass the video path to score_video"
            )
        importance = self.video_importance(video)
        if picks is None:
            from vsumlab.data.video_decode import sample_picks

            picks = sample_picks(importance.n_frames, importance.fps)
        return importance.step_scores(picks)

    def score_video_file(
        self, path: str | os.PathLike, picks: np.ndarray, n_frames: int, fps: float
    ) -> np.ndarray:
        """The hook of ``vsumlab summarize`` for scorers that read the video themselves."""
        importance = self.video_importance(path)
        if importance.n_frames != int(n_frames):
            raise ConfigError(
                f"{path}: decoded {importance.n_frames} frames but the caller counted {n_frames}"
            )
        return importance.step_scores(picks)

    #: what score_video takes: a video path (frame-feature summarizers take "features")
    input_kind = "video"
    #: encoder `vsumlab summarize` uses for KTS shot boundaries only (scores come from pixels)
    feature_model = "colorhist"


def refine_web_videos(
    module: DeSumNetModule,
    entries: Sequence[VideoEntry],
    threshold: float = 0.5,
    batch_size: int | None = None,
) -> tuple[list[VideoEntry], dict[str, dict[str, int]]]:
    """Progressive adaptation, step 2: keep the web-video segments the model believes in.

    For every web video (its category known from the keyword it was crawled with), each
    segment whose probability of that category exceeds ``threshold`` becomes a clip entry
    (path, category, start). Returns the entries and per-category counts (kept, total) with
    the highest probability seen (``max_prob``, which says how far the threshold was).
    """
    if not 0.0 <= threshold < 1.0:
        raise ConfigError(f"refine: threshold={threshold} must be in [0, 1)")
    names = module.categories
    stats: dict[str, dict[str, int]] = {}
    kept: list[VideoEntry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.category not in names:
            raise ConfigError(
                f"{entry.path}: web video category {entry.category!r} is not one of the "
                f"model's categories {names}"
            )
        if str(entry.path) in seen:
            continue
        seen.add(str(entry.path))
        starts, probs, _ = module.segment_probabilities(entry.path, batch_size)
        mine = probs[:, names.index(entry.category)]
        count = stats.setdefault(entry.category, {"kept": 0, "total": 0, "max_prob": 0.0})
        count["total"] += len(starts)
        if len(mine):
            count["max_prob"] = round(max(count["max_prob"], float(max(mine))), 4)
        for start, p in zip(starts, mine):
            if p > threshold:
                kept.append(VideoEntry(path=Path(entry.path), category=entry.category, start=int(start)))
                count["kept"] += 1
    return kept, stats


def require_kept_segments(
    kept: Sequence[VideoEntry], stats: Mapping[str, Mapping[str, Any]], checkpoint: str,
    threshold: float,
) -> None:
    """Stop the pipeline at a refinement that kept no web segment (a shortened fine-tuning, e.g.
    ``--trainer.max_epochs=1``, leaves every probability below the threshold): adaptation on an
    empty list would fail two steps later with a message about the list file."""
    if kept:
        return
    total = sum(int(c.get("total", 0)) for c in stats.values())
    best = max((float(c.get("max_prob", 0.0)) for c in stats.values()), default=0.0)
    raise EmptyStageError(
        f"refine: kept 0 of {total} web segments: no segment's probability of its own category "
        f"passed --threshold {threshold} (highest {best:.3f}) under {checkpoint}; train the "
        "fine-tuned model longer (raise trainer.max_epochs of desumnet-train) or lower "
        "--threshold (make THRESHOLD=...)"
    )


def score_dataset(
    module: DeSumNetModule,
    dataset: Dataset,
    video_dir: str | os.PathLike,
    keys: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Importance at the standard steps (``picks``) of each video of an h5, for `vsumlab eval`.

    Videos are found under ``video_dir`` by name (:func:`dataset_videos`); their decoded frame
    count must equal the record's ``n_frames``, else the steps would not line up.
    """
    keys = list(keys) if keys is not None else dataset.keys
    unknown = [k for k in keys if k not in dataset.records]
    if unknown:
        raise ConfigError(f"{dataset.path}: unknown video keys {unknown}")
    records = [dataset[k] for k in keys]
    files = dataset_videos(records, video_dir, dataset.path)
    scores = {}
    for record in records:
        importance = module.video_importance(files[record.key])
        if importance.n_frames != record.n_frames:
            raise DatasetError(
                f"{dataset.path}: video '{record.key}' field 'n_frames': the h5 says "
                f"{record.n_frames} but {files[record.key]} has {importance.n_frames} frames"
            )
        scores[record.key] = importance.step_scores(record.picks)
    return scores


def load_desumnet(checkpoint: str | os.PathLike, map_location: str = "cpu") -> DeSumNetModule:
    """A trained DeSumNet from its checkpoint, in eval mode, with a clear error otherwise."""
    from vsumlab.models.loading import read_checkpoint

    path = Path(checkpoint)
    read_checkpoint(path, "checkpoint")  # refuses unsafe or unreadable files in one line
    try:
        # scoring needs no optimizer: a recorded choice is not imported
        module = DeSumNetModule.load_from_checkpoint(path, map_location=map_location,
                                                     weights_only=True, optimizer=None,
                                                     lr_scheduler=None, lr_scheduler_config=None)
    except Exception as exc:  # foreign or corrupt files fail in many ways
        raise ConfigError(
            f"{path}: not a DeSumNet checkpoint ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc
    module.eval()
    return module


def video_prob_sums(
    probs: dict[int, list[Tensor]], labels: dict[int, int]
) -> dict[int, tuple[Tensor, int, int]]:
    """Per video: (sum of its clips' class probabilities, clip count, label), on CPU."""
    return {v: (torch.stack(ps).sum(0), len(ps), labels[v]) for v, ps in probs.items()}


def merge_video_prob_sums(
    parts: list[dict[int, tuple[Tensor, int, int]]],
) -> dict[int, tuple[Tensor, int]]:
    """Merge the per-process sums of :func:`video_prob_sums`: video -> (mean probability, label).

    The mean over all of a video's clips does not depend on how the clips were split."""
    totals: dict[int, list] = {}
    for part in parts:
        for video, (total, count, label) in part.items():
            if video in totals:
                totals[video][0] = totals[video][0] + total
                totals[video][1] += count
            else:
                totals[video] = [total, count, label]
    return {v: (total / count, label) for v, (total, count, label) in totals.items()}
