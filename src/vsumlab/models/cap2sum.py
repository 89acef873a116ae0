"""Cap2Sum (Zhao et al.): learn to summarize videos by generating dense captions.

The summarizer S (the transformer from the registry) scores every step; the weighted features
``S * F`` feed a PDVC dense captioner, so the caption loss teaches S which steps carry what the
captions describe. Total loss (paper eq. 6, weights 2 / 10 / 0.5 / 0.5):

    2 * L_cap + 10 * L_prior + 0.5 * L_len + 0.5 * L_var

Modes (``mode``):

* ``pretrain``: weakly supervised pretraining on dense captions (:class:`CaptionDataModule`
  batches). Validation: caption loss, event-count accuracy, localization precision/recall at
  tIoU 0.3/0.5/0.7/0.9, BLEU-4, and the score margin of captioned over uncaptioned steps.
* ``supervised``: fine-tuning with MSE on gtscore (the base behaviour; the CLIP prior loss is
  added when ``use_prior``); 5-fold CV through the summarization DataModule.
* ``weak_finetune``: fine-tuning on the target videos' captions (``target_captions``, a JSON of
  the same form keyed by video key, id or name) with the pretraining loss; summarization
  DataModule batches, so validation/test report F1 / tau / rho.
* ``captioner``: trains the captioner alone on the raw features (S = 1), for the paper's
  "pre-trained captioner"; a later run takes it with ``captioner_from`` (optionally frozen).

The paper trains the summarizer against a *pre-trained* captioner (Fig. 1, Sec. 3.1). In one
pretraining run: ``captioner_epochs`` first epochs train the captioner alone on the raw features
(S = 1, as mode ``captioner``), the later ones the summarizer through it (the captioner keeps
training unless ``freeze_captioner``; the paper does not say it is frozen). The CLIP prior
(``use_prior``) is ``auto`` by default: on in pretraining and weak fine-tuning whenever CLIP
features are configured (``prior.text_features`` or ``prior.weights`` given, or the data's
``feature_model`` attribute names the prior's CLIP ``encoder``), off otherwise; ``true`` /
``false`` force it (Table 2). Supervised fine-tuning (eq. 7, MSE) has no prior unless ``true``.

At test time only the summarizer runs (``score_video`` of the base class).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor
from torchmetrics import MeanMetric

from vsumlab.data.captions.format import CaptionVideo, load_captions
from vsumlab.data.captions.steps import event_boxes
from vsumlab.data.captions.vocabulary import Vocabulary
from vsumlab.data.schema import require_fps
from vsumlab.data.synthetic.dense_captions import config_null
from vsumlab.data.synthetic.planted_captions import PLANTED_CAPTIONS, planted_captions
from vsumlab.errors import ConfigError
from vsumlab.models.components.clip_prior import (
    clip_prior_batch,
    load_text_features,
    prompt_text_features,
)
from vsumlab.models.components.pdvc.captioner import PDVCCaptioner
from vsumlab.models.components.pdvc.metrics import DenseCaptionMetrics
from vsumlab.models.components.pdvc.segments import cl_to_se
from vsumlab.models.components.registry import SummarizerSpec
from vsumlab.models.losses.captioning import DenseCaptionCriterion, EventTargets
from vsumlab.models.losses.regularizers import length_loss, prior_loss, variance_loss
from vsumlab.models.summarizer import SummarizerModule

MODES = ("pretrain", "supervised", "weak_finetune", "captioner")
CAPTION_MODES = ("pretrain", "weak_finetune", "captioner")
PRIOR_OPTIONS = {
    "text_features": None,  # .pt/.npy (K, D) text features; else computed with the encoder
    "encoder": "ViT-B-16",  # open_clip model of the frame features (paper: ViT-B/16)
    "weights": None,  # local weights file or cached tag of that model
    "cache_dir": "data/cache/clip_prior",
    "tau": 0.4,
    "min_run": 10,
    "max_fraction": 0.5,
    "logit_scale": 100.0,
}
CAPTION_LOSS_OPTIONS = (
    "weight_giou", "weight_cls", "weight_ec", "weight_caption", "weight_bbox", "aux_loss",
    "focal_alpha", "focal_gamma",
)  # fmt: skip


def _read_checkpoint(path: str) -> dict[str, Any]:
    from vsumlab.models.loading import read_checkpoint

    payload = read_checkpoint(path, "model.captioner_from")
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise ConfigError(f"model.captioner_from: {path} is not a Lightning checkpoint")
    return payload


class Cap2SumModule(SummarizerModule):
    """Cap2Sum on top of the summarizer harness.

    Args (besides :class:`SummarizerModule`'s; paper values as defaults):
        mode: pretrain | supervised | weak_finetune | captioner (see the module doc).
        captioner: :class:`PDVCCaptioner` sizes (defaults are PDVC's).
        caption_loss: :class:`DenseCaptionCriterion` options (giou 4, cls 2, ec 0.5, caption 0.5).
        weight_caption, weight_prior, weight_length, weight_variance: eq. 6 weights.
        length_target: l of the length regularizer (0.3).
        use_prior: CLIP prior loss: ``auto`` (on with CLIP features, see the module doc),
            ``true`` or ``false`` (the paper's Table 2 ablation).
        prior: CLIP prior options (text features source, tau, run limits, logit scale).
        vocabulary: caption words; filled from the data (or ``captioner_from``) and saved with
            the checkpoint so the captioner can be rebuilt.
        target_captions: weak fine-tuning captions of the target videos.
        captioner_from: checkpoint of an earlier Cap2Sum run whose captioner (and vocabulary)
            initialise this one; defaults to ``pretrained`` in weak fine-tuning.
        freeze_captioner: train only the summarizer through a fixed captioner (after the
            ``captioner_epochs`` of pretraining that train it).
        captioner_epochs: pretraining epochs that train the captioner alone (S = 1) before the
            summarizer trains against it (mode ``pretrain`` only; 0 = joint from the start).
        max_caption_len, val_beam_size: caption length and beam width of validation decoding.
        optimizer, lr_scheduler, lr_scheduler_config: as :class:`SummarizerModule` (default
            Adam with ``lr`` and ``weight_decay``, the paper's).
    """

    def __init__(
        self,
        summarizer: SummarizerSpec = "transformer",
        summarizer_args: dict[str, Any] | None = None,
        input_dim: int = 512,
        lr: float = 5e-5,
        weight_decay: float = 0.0,
        pretrained: str | None = None,
        mode: str = "pretrain",
        captioner: dict[str, Any] | None = None,
        caption_loss: dict[str, Any] | None = None,
        weight_caption: float = 2.0,
        weight_prior: float = 10.0,
        weight_length: float = 0.5,
        weight_variance: float = 0.5,
        length_target: float = 0.3,
        use_prior: bool | str = "auto",
        prior: dict[str, Any] | None = None,
        vocabulary: list[str] | None = None,
        target_captions: str | None = None,
        captioner_from: str | None = None,
        freeze_captioner: bool = False,
        captioner_epochs: int = 0,
        max_caption_len: int = 30,
        val_beam_size: int = 1,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
        lr_scheduler_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            summarizer, summarizer_args, input_dim, lr, weight_decay, pretrained,
            optimizer, lr_scheduler, lr_scheduler_config,
        )
        if mode not in MODES:
            raise ConfigError(f"model.mode={mode!r} is unknown; expected one of {', '.join(MODES)}")
        unknown = sorted(set(prior or {}) - set(PRIOR_OPTIONS))
        if unknown:
            raise ConfigError(
                f"model.prior: unknown option(s) {', '.join(unknown)}; known: {', '.join(PRIOR_OPTIONS)}"
            )
        unknown = sorted(set(caption_loss or {}) - set(CAPTION_LOSS_OPTIONS))
        if unknown:
            raise ConfigError(
                f"model.caption_loss: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(CAPTION_LOSS_OPTIONS)}"
            )
        if mode == "weak_finetune" and not target_captions:
            raise ConfigError(
                "model.mode=weak_finetune needs model.target_captions (a caption JSON)"
            )
        if captioner_epochs < 0 or (captioner_epochs and mode != "pretrain"):
            raise ConfigError(
                f"model.captioner_epochs={captioner_epochs}: a number >= 0 of the captioner-only "
                "epochs that start mode=pretrain (other modes: 0)"
            )
        if isinstance(use_prior, str) and use_prior != "auto":
            raise ConfigError(f"model.use_prior={use_prior!r}: expected true, false or auto")
        self.mode = mode
        # resolved in setup() when "auto" (needs the data's feature attributes)
        self.prior_on = use_prior is True
        self.prior_options = {
            **PRIOR_OPTIONS,
            **{k: config_null(v) for k, v in (prior or {}).items()},
        }
        self.criterion = DenseCaptionCriterion(**(caption_loss or {}))
        self.captioner: PDVCCaptioner | None = None
        self.vocabulary: Vocabulary | None = Vocabulary(vocabulary) if vocabulary else None
        source = captioner_from or (pretrained if mode == "weak_finetune" else None)
        self._captioner_source = source
        if mode in CAPTION_MODES and source:
            payload = _read_checkpoint(source)
            words = payload.get("cap2sum_vocabulary", {}).get("words")
            if not words:
                raise ConfigError(f"model.captioner_from: {source} holds no Cap2Sum vocabulary")
            # The captioner continues: its vocabulary and sizes are the checkpoint's.
            self.vocabulary = Vocabulary(words)
            sizes = payload.get("hyper_parameters", {}).get("captioner")
            if sizes is not None:
                self.hparams["captioner"] = dict(sizes)
        if self.vocabulary is not None and mode in CAPTION_MODES:
            self._build_captioner(self.vocabulary)
        if source and self.captioner is not None:
            self._load_captioner(source)
            # The weights now live in this module's own checkpoints: reloading one must not
            # need (or re-read) the source file.
            self.hparams["captioner_from"] = None
        self.caption_metrics = DenseCaptionMetrics(
            max_events=self._captioner_args().get("max_events", 10)
        )
        self.val_caption_loss = MeanMetric()
        self.val_margin = MeanMetric()
        self._prior_text: Tensor | None = None
        self._targets: dict[str, tuple[CaptionVideo, EventTargets] | None] = {}

    # ------------------------------------------------------------------ parts
    def _captioner_args(self) -> dict[str, Any]:
        return dict(self.hparams.get("captioner") or {})

    def _build_captioner(self, vocabulary: Vocabulary) -> None:
        try:
            self.captioner = PDVCCaptioner(
                self.input_dim, len(vocabulary), **self._captioner_args()
            )
        except TypeError as exc:
            raise ConfigError(f"model.captioner: {exc}") from exc
        self.vocabulary = vocabulary
        # Saved in the checkpoint's hyper-parameters so load_from_checkpoint rebuilds it.
        self.hparams["vocabulary"] = vocabulary.words
        if self.hparams.get("freeze_captioner") and not (
            self.mode == "pretrain" and self.hparams.get("captioner_epochs")
        ):
            self.captioner.requires_grad_(False)

    def _load_captioner(self, path: str) -> None:
        assert self.captioner is not None
        state = _read_checkpoint(path)["state_dict"]
        prefix = "captioner."
        sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise ConfigError(f"model.captioner_from: {path} holds no captioner weights")
        try:
            self.captioner.load_state_dict(sub)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(
                f"model.captioner_from: {path} does not fit the captioner: {first}"
            ) from exc

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        self.prior_on = self._resolve_prior(datamodule)
        if self.mode in ("pretrain", "captioner") and datamodule is not None:
            if not hasattr(datamodule, "vocabulary"):
                raise ConfigError(
                    f"model.mode={self.mode} trains on dense captions: use "
                    "vsumlab.data.captions.datamodule.CaptionDataModule (weak_finetune takes "
                    "summarization data with model.target_captions)"
                )
        if self.mode in CAPTION_MODES:
            data_vocab = getattr(datamodule, "vocabulary", None)
            if self.vocabulary is None:
                if data_vocab is not None:
                    self._build_captioner(data_vocab)
                elif self.hparams.target_captions:
                    if self.hparams.target_captions == PLANTED_CAPTIONS:
                        captions = planted_captions(datamodule.records_for("train"))
                    else:
                        captions = load_captions(self.hparams.target_captions)
                    self._build_captioner(Vocabulary.from_captions(captions, min_count=1))
                else:
                    raise ConfigError(
                        "Cap2Sum caption modes need a vocabulary: from a CaptionDataModule, "
                        "model.vocabulary or model.captioner_from"
                    )
            elif data_vocab is not None and data_vocab != self.vocabulary:
                # The captioner's vocabulary wins: the data re-encodes its sentences with it.
                datamodule.use_vocabulary(self.vocabulary)
            if self.mode == "weak_finetune" and not self._targets and datamodule is not None:
                self._prepare_target_captions(datamodule)
            feature_dim = getattr(datamodule, "feature_dim", None)
            if feature_dim is not None and int(feature_dim) != self.input_dim:
                raise ConfigError(
                    f"feature dimension mismatch: the caption data has {feature_dim}-d features "
                    f"but model.input_dim is {self.input_dim}"
                )

    def _resolve_prior(self, datamodule: Any) -> bool:
        """``use_prior`` as a bool: ``auto`` is on in the caption-loss stages (pretrain, weak
        fine-tuning) whenever CLIP features are configured; the data's CLIP weights then serve
        the prior's text encoder unless ``prior.weights`` names them."""
        wanted = self.hparams.use_prior
        if isinstance(wanted, bool):
            return wanted
        if self.mode not in ("pretrain", "weak_finetune"):
            return False
        options = self.prior_options
        if options["text_features"] or options["weights"]:
            return True
        model, weights = _data_feature_model(datamodule)
        if model is None or str(model) != str(options["encoder"]):
            return False
        if weights:
            self.prior_options["weights"] = str(weights)
        return True

    def on_train_epoch_start(self) -> None:
        # the pretrained captioner is held fixed once the summarizer trains against it
        if (
            self.captioner is not None
            and self.hparams.get("freeze_captioner")
            and not self._captioner_stage()
        ):
            self.captioner.requires_grad_(False)

    def _captioner_epochs(self) -> int:
        """``captioner_epochs``, but at most ``max_epochs - 1``: the summarizer always trains
        (a one-epoch run, e.g. `vsumlab reproduce --quick`, trains both jointly)."""
        epochs = int(self.hparams.get("captioner_epochs") or 0)
        max_epochs = getattr(self._trainer, "max_epochs", None) if self._trainer else None
        if epochs and max_epochs is not None and max_epochs > 0 and epochs >= max_epochs:
            if not getattr(self, "_told_short", False):
                print(captioner_stage_note(epochs, max_epochs), file=sys.stderr)
                self._told_short = True
            epochs = max_epochs - 1
        return epochs

    def _captioner_stage(self) -> bool:
        """Whether this pretraining epoch trains the captioner alone (S = 1)."""
        epochs = self._captioner_epochs()
        if self.mode == "captioner":
            return True
        return self.mode == "pretrain" and epochs > 0 and self._trainer is not None and (
            self.current_epoch < epochs
        )

    def _prepare_target_captions(self, datamodule: Any) -> None:
        """Event targets of each training video from ``target_captions`` (weak fine-tuning)."""
        if self.hparams.target_captions == PLANTED_CAPTIONS:
            captions = planted_captions(datamodule.records_for("train"))
        else:
            captions = load_captions(self.hparams.target_captions)
        assert self.vocabulary is not None
        missing = 0
        keys = list(datamodule.keys["train"]) if hasattr(datamodule, "keys") else []
        for key in keys:
            record = datamodule.record(key)
            plain = key.rsplit("/", 1)[-1]
            names = [key, plain, record.video_id, record.video_name]
            video = next((captions[n] for n in names if n and n in captions), None)
            if video is None:
                missing += 1
                self._targets[key] = None
                continue
            times = record.picks / require_fps(record, why="caption timestamps are in seconds")
            boxes = torch.from_numpy(event_boxes(video, record.n_steps, times))
            self._targets[key] = (video, self._encode(video, boxes))
        if missing:
            print(
                f"vsumlab: {self.hparams.target_captions}: no captions for {missing} of "
                f"{len(keys)} training videos; they get no caption loss",
                file=sys.stderr,
            )

    def _encode(self, video: CaptionVideo, boxes: Tensor) -> EventTargets:
        assert self.vocabulary is not None
        encoded = [
            self.vocabulary.encode(e.sentence, self.hparams.max_caption_len) for e in video.events
        ]
        width = max((len(t) for t in encoded), default=2)
        tokens = torch.zeros(len(encoded), width, dtype=torch.long)
        for g, ids in enumerate(encoded):
            tokens[g, : len(ids)] = torch.tensor(ids)
        return EventTargets(boxes, tokens)

    def prior_text_features(self) -> Tensor:
        """The CLIP prior's (K, D) object text features (loaded or computed once, cached)."""
        if self._prior_text is None:
            options = self.prior_options
            if options["text_features"]:
                text = load_text_features(options["text_features"])
            else:
                from vsumlab.video.encoders import build_text_encoder

                encoder = build_text_encoder(options["encoder"], options["weights"])
                text = prompt_text_features(encoder, cache_dir=options["cache_dir"])
            if text.shape[1] != self.input_dim:
                raise ConfigError(
                    f"model.prior: text features are {text.shape[1]}-d but the frame features are "
                    f"{self.input_dim}-d; the CLIP prior needs CLIP image features of the same model"
                )
            self._prior_text = text
        return self._prior_text.to(self.device)

    def prior(self, features: Tensor, valid: Tensor) -> Tensor:
        options = {
            k: self.prior_options[k] for k in ("tau", "min_run", "max_fraction", "logit_scale")
        }
        with torch.no_grad():
            return clip_prior_batch(features, valid, self.prior_text_features(), **options)

    # ------------------------------------------------------------------ objective
    def batch_targets(self, batch: Mapping[str, Any]) -> tuple[list[int], list[EventTargets]]:
        """Rows of the batch that have captions, and their event targets."""
        if "event_boxes" in batch:
            rows = list(range(len(batch["keys"])))
            return rows, [
                EventTargets(b, t) for b, t in zip(batch["event_boxes"], batch["event_tokens"])
            ]
        rows, targets = [], []
        for row, key in enumerate(batch["keys"]):
            entry = self._targets.get(key)
            if entry is not None:
                rows.append(row)
                boxes, tokens = entry[1].boxes, entry[1].tokens
                targets.append(EventTargets(boxes.to(self.device), tokens.to(self.device)))
        return rows, targets

    def caption_forward(
        self, batch: Mapping[str, Any]
    ) -> tuple[Tensor, dict[str, Tensor], Tensor, Any, list[int], list[EventTargets]]:
        """Scores, weighted features through the captioner, and the caption loss."""
        if self.captioner is None:
            raise ConfigError("Cap2Sum: the captioner is not built (no vocabulary yet)")
        features, valid = batch["features"], batch["mask"]
        if self._captioner_stage():
            scores = valid.to(features.dtype)  # S = 1: the captioner learns on raw features
        else:
            scores = self.scores(features, valid)
        rows, targets = self.batch_targets(batch)
        if not rows:
            zero = scores.sum() * 0.0
            return scores, {"caption": zero}, zero, None, rows, targets
        index = torch.tensor(rows, device=features.device)
        weighted = (features * scores[..., None])[index]
        output = self.captioner(weighted, valid[index])
        loss, logs = self.criterion(self.captioner, output, targets)
        return scores, logs, loss, output, rows, targets

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        hp = self.hparams
        valid = batch["mask"]
        if self.mode == "supervised":
            loss, logs = super().training_loss(batch)
            if self.prior_on:
                scores = self.scores(batch["features"], valid)
                prior = prior_loss(scores, self.prior(batch["features"], valid), valid)
                loss = loss + hp.weight_prior * prior
                logs["prior"] = prior.detach()
            return loss, logs
        scores, cap_logs, caption, _, _, _ = self.caption_forward(batch)
        logs = {f"cap_{name}": value for name, value in cap_logs.items()}
        if self._captioner_stage():
            return caption, logs
        length = length_loss(scores, valid, hp.length_target)
        variance = variance_loss(scores, valid)
        loss = (
            hp.weight_caption * caption + hp.weight_length * length + hp.weight_variance * variance
        )
        logs.update(caption=caption.detach(), length=length.detach(), variance=variance.detach())
        if self.prior_on:
            prior = prior_loss(scores, self.prior(batch["features"], valid), valid)
            loss = loss + hp.weight_prior * prior
            logs["prior"] = prior.detach()
        if "captioned" in batch:
            margin = captioned_margin(scores.detach(), batch["captioned"], valid)
            if margin is not None:
                logs["captioned_margin"] = margin
        return loss, logs

    # ------------------------------------------------------------------ validation
    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
        if "event_boxes" not in batch:  # summarization data: the base's per-video scores
            return super().validation_step(batch, batch_idx)
        scores, _, caption, output, rows, targets = self.caption_forward(batch)
        size = len(batch["keys"])
        self.val_caption_loss.update(caption.detach(), weight=size)
        margin = captioned_margin(scores, batch["captioned"], batch["mask"])
        if margin is not None:
            self.val_margin.update(margin)
        if output is None or self.vocabulary is None:
            return
        vocab = self.vocabulary
        events = self.captioner.predict_events(
            output, vocab.bos, vocab.eos, self.hparams.max_caption_len, self.hparams.val_beam_size
        )
        self.caption_metrics.update(
            [torch.tensor([[e.start, e.end] for e in video]).reshape(-1, 2) for video in events],
            [[vocab.decode(e.tokens) for e in video] for video in events],
            output.last.count_logits.argmax(-1),
            [cl_to_se(t.boxes).clamp(0, 1).cpu() for t in targets],
            [batch["sentences"][row] for row in rows],
        )

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        if self.val_caption_loss.update_count == 0:
            return
        self.log("val/caption_loss", self.val_caption_loss.compute(), prog_bar=True)
        self.val_caption_loss.reset()
        if self.val_margin.update_count:
            self.log("val/captioned_margin", self.val_margin.compute())
            self.val_margin.reset()
        if self.caption_metrics.update_count:
            for name, value in self.caption_metrics.compute().items():
                self.log(f"val/{name}", value)
            self.caption_metrics.reset()

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.vocabulary is not None:
            checkpoint["cap2sum_vocabulary"] = self.vocabulary.to_dict()


def captioner_stage_note(captioner_epochs: int, max_epochs: int) -> str:
    """What a pretraining shortened below its captioner stage runs, in one line: the stages'
    lengths as run, and what to raise to get both stages back."""
    needed = f"raise trainer.max_epochs to {captioner_epochs + 1} or more for both stages"
    if max_epochs <= 1:
        return (f"vsumlab: Cap2Sum pretraining shortened to trainer.max_epochs={max_epochs}: no "
                f"captioner-only stage (model.captioner_epochs={captioner_epochs} needs more "
                f"epochs); the captioner and the summarizer train jointly from scratch for "
                f"{max_epochs} epoch (as captioner_epochs=0); {needed}")
    return (f"vsumlab: Cap2Sum pretraining shortened to trainer.max_epochs={max_epochs}: the "
            f"captioner trains alone for {max_epochs - 1} epoch(s) instead of "
            f"model.captioner_epochs={captioner_epochs}, then the summarizer for 1; {needed}")


def _data_feature_model(datamodule: Any) -> tuple[str | None, str | None]:
    """(feature_model, feature_weights) the training features declare (h5 attributes written by
    `vsumlab features`), or (None, None)."""
    target = getattr(datamodule, "target", None)
    attrs: Mapping[str, Any] = getattr(target, "attrs", None) or {}
    path = getattr(datamodule, "features_path", None)
    if not attrs and path and str(path).endswith(".h5") and Path(path).is_file():
        import h5py

        with h5py.File(path, "r") as handle:
            attrs = {k: handle.attrs[k] for k in ("feature_model", "feature_weights")
                     if k in handle.attrs}  # fmt: skip
    model, weights = attrs.get("feature_model"), attrs.get("feature_weights")
    as_text = [v.decode() if isinstance(v, bytes) else v for v in (model, weights)]
    return (str(as_text[0]) if as_text[0] else None, str(as_text[1]) if as_text[1] else None)


def captioned_margin(scores: Tensor, captioned: Tensor, valid: Tensor) -> Tensor | None:
    """Mean score on captioned steps minus mean score on the other valid steps (videos with
    both kinds of steps only), averaged over videos; None when no video has both."""
    inside = captioned.bool() & valid
    outside = ~captioned.bool() & valid
    n_in, n_out = inside.sum(1), outside.sum(1)
    usable = (n_in > 0) & (n_out > 0)
    if not bool(usable.any()):
        return None
    mean_in = (scores * inside).sum(1) / n_in.clamp(min=1)
    mean_out = (scores * outside).sum(1) / n_out.clamp(min=1)
    return (mean_in - mean_out)[usable].mean()
