"""The caption DataModule: items of captioned videos joined with their features
(:class:`CaptionDataset`, :func:`collate_captions`, :class:`CaptionDataModule`); videos without
features are reported once (count printed) and skipped, never zero-padded."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from vsumlab.data.captions.features import (
    RECORDING_SEP,
    FeatureStore,
    feature_options,
    open_features,
)
from vsumlab.data.captions.format import CaptionVideo, load_captions
from vsumlab.data.captions.steps import captioned_mask, event_boxes
from vsumlab.data.captions.vocabulary import Vocabulary
from vsumlab.data.standard_h5 import pad_videos
from vsumlab.data.synthetic.dense_captions import build_synthetic_features, synthetic_options
from vsumlab.errors import ConfigError, DatasetError


# ---------------------------------------------------------------------------------- features
def join_features(
    videos: Mapping[str, CaptionVideo], store: FeatureStore, source: str = "captions"
) -> list[str]:
    """Feature keys of the videos that have features (a video's recordings ``<id>~<n>`` each
    count as one item); videos without any are reported once (count printed) and skipped."""
    kept = [key for vid in videos for key in store.keys_for(vid)]
    absent = [vid for vid in videos if vid not in store]
    if absent:
        partial = [reason for vid in absent if (reason := store.incomplete(vid))]
        print(
            f"vsumlab: {source}: {len(absent)} of {len(videos)} videos have no features in "
            f"{store.path} (e.g. '{absent[0]}')"
            + (f", {len(partial)} of them only some parts (e.g. {partial[0]})" if partial else "")
            + "; skipping them",
            file=sys.stderr,
        )
    if not kept:
        raise DatasetError(
            f"{source}: none of its {len(videos)} videos has features in {store.path}"
        )
    return kept


# ---------------------------------------------------------------------------------- datasets
class CaptionDataset(TorchDataset):
    """Items: key, features (T, D), event boxes (G, 2), tokens (G, L), sentences."""

    def __init__(
        self,
        videos: Mapping[str, CaptionVideo],
        store: FeatureStore,
        vocabulary: Vocabulary,
        max_caption_len: int = 30,
        keys: Sequence[str] | None = None,
        source: str = "captions",
    ):
        self.videos, self.store, self.vocabulary = videos, store, vocabulary
        self.max_caption_len = max_caption_len
        self.keys = list(keys) if keys is not None else join_features(videos, store, source)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key = self.keys[index]
        video = self.videos[key.split(RECORDING_SEP, 1)[0]]
        feats, times = self.store.load(key)
        boxes = event_boxes(video, feats.shape[0], times)
        encoded = [self.vocabulary.encode(e.sentence, self.max_caption_len) for e in video.events]
        width = max((len(t) for t in encoded), default=2)
        tokens = torch.zeros(len(encoded), width, dtype=torch.long)
        for g, ids in enumerate(encoded):
            tokens[g, : len(ids)] = torch.tensor(ids)
        return {
            "key": key,
            "features": torch.from_numpy(feats),
            "boxes": torch.from_numpy(boxes),
            "tokens": tokens,
            "sentences": [e.sentence for e in video.events],
            "captioned": torch.from_numpy(captioned_mask(boxes, feats.shape[0])),
        }


def collate_captions(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pad videos to the longest (``mask`` True on real steps); events stay per-video lists."""
    return {
        **pad_videos(items, ("captioned",)),
        "event_boxes": [item["boxes"] for item in items],
        "event_tokens": [item["tokens"] for item in items],
        "sentences": [item["sentences"] for item in items],
    }


def subsample(keys: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """A deterministic ``fraction`` of the keys (at least one), in their original order."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"data.train_fraction={fraction} must be in (0, 1]")
    if fraction >= 1.0:
        return list(keys)
    n = max(1, int(round(fraction * len(keys))))
    chosen = set(np.random.default_rng(seed).permutation(len(keys))[:n].tolist())
    return [k for i, k in enumerate(keys) if i in chosen]


class CaptionDataModule(L.LightningDataModule):
    """Dense-caption training data (Cap2Sum pretraining / weak fine-tuning).

    Args:
        train_captions, val_captions: caption JSON files (val optional).
        features: the train videos' features, a file or folder in ``features_format``;
            ``val_features`` for validation (default: the same), in the same format.
        features_format: ``auto`` (a folder: ``npy_dir``, a file: ``h5_groups``),
            ``h5_groups`` (a group per video holding dataset ``features_key``, default
            ``features``; the public C3D file: ``c3d_features``), ``h5_flat`` (a dataset per
            video at the top level, TSP's h5), ``npy_dir`` (``<video id>.npy``, (T, D)) or
            ``pdvc_pairs`` (``<video id><suffix>.npy`` for each of ``feature_suffixes``,
            default ``[_resnet, _bn]``, concatenated on the feature axis); video ids with or
            without ActivityNet's ``v_`` prefix are matched. See
            :mod:`vsumlab.data.captions.features`.
        pair_lengths: ``pdvc_pairs`` parts of different lengths: ``error`` (default) or
            ``nearest`` (resampled to the longest part by PDVC's nearest-neighbour rule).
        vocabulary: a vocabulary JSON to use; default: built from the train captions, keeping
            words seen at least ``min_word_count`` times (not stated in the papers: a config).
        max_caption_len: words kept per sentence.
        train_fraction, max_videos, seed: use part of the training videos (fraction studies,
            quick demos); deterministic.
        synthetic: build synthetic caption-aligned features for the caption files in
            ``prepare_data`` (see :data:`SYNTHETIC_OPTIONS`); written once to ``features``
            (and ``val_features``, default ``<features stem>_val.h5``), reused while the caption
            content and the options match (:func:`build_synthetic_features`).
        force_synthetic: rebuild synthetic feature files made from other inputs instead of
            stopping with an error naming what differs.
    """

    def __init__(
        self,
        train_captions: str,
        features: str,
        val_captions: str | None = None,
        val_features: str | None = None,
        vocabulary: str | None = None,
        min_word_count: int = 5,
        max_caption_len: int = 30,
        batch_size: int = 1,
        num_workers: int = 0,
        train_fraction: float = 1.0,
        max_videos: int | None = None,
        seed: int = 0,
        synthetic: dict[str, Any] | None = None,
        force_synthetic: bool = False,
        features_format: str = "auto",
        features_key: str | None = None,
        feature_suffixes: list[str] | None = None,
        pair_lengths: str = "error",
    ):
        super().__init__()
        self.save_hyperparameters()
        subsample([], train_fraction)  # validate early
        self.feature_options = feature_options(
            features_format, features_key, feature_suffixes, pair_lengths
        )
        if synthetic is not None and (
            features_format not in ("auto", "h5_groups") or features_key not in (None, "features")
        ):
            raise ConfigError(
                f"data.synthetic writes a standard-schema h5 (key 'features'), not "
                f"features_format={features_format} features_key={features_key}; set "
                "data.init_args.synthetic=null to read real features"
            )
        self.train_path, self.val_path = train_captions, val_captions
        self.features_path = features
        self.synthetic = synthetic_options(synthetic) if synthetic is not None else None
        if val_features is None and self.synthetic is not None:
            stem = Path(features)
            val_features = str(stem.with_name(f"{stem.stem}_val{stem.suffix or '.h5'}"))
        self.val_features_path = val_features or features
        self._vocabulary: Vocabulary | None = Vocabulary.load(vocabulary) if vocabulary else None
        self._datasets: dict[str, CaptionDataset] = {}

    @property
    def train_videos(self) -> dict[str, CaptionVideo]:
        if not hasattr(self, "_train_videos"):
            self._train_videos = load_captions(self.train_path)
        return self._train_videos

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.from_captions(
                self.train_videos, self.hparams.min_word_count
            )
        return self._vocabulary

    def prepare_data(self) -> None:
        if self.synthetic is None:
            return
        options = dict(self.synthetic)
        if options["dim"] is None:  # follow the model being trained
            model = self.trainer.lightning_module if self.trainer is not None else None
            if model is None or not hasattr(model, "input_dim"):
                raise ConfigError("data.synthetic.dim=null needs a model with input_dim")
            options["dim"] = int(model.input_dim)
        val_videos = options.pop("val_videos")
        jobs = [(self.train_path, self.features_path, options.pop("n_videos"))]
        if self.val_path is not None:
            jobs.append((self.val_path, self.val_features_path, val_videos))
        for captions, features, n_videos in jobs:
            build_synthetic_features(
                captions,
                features,
                force=self.hparams.force_synthetic,
                n_videos=n_videos,
                **options,
            )

    def use_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Encode sentences with another vocabulary (a pretrained captioner's); rebuilds the
        datasets, so call it before the loaders are made."""
        self._vocabulary = vocabulary
        self._datasets.clear()

    @property
    def feature_dim(self) -> int:
        dataset = self.dataset("train")
        return int(dataset.store.load(dataset.keys[0])[0].shape[1])

    def dataset(self, stage: str) -> CaptionDataset:
        if stage not in self._datasets:
            hp = self.hparams
            if stage == "train":
                videos, path, feats = self.train_videos, self.train_path, self.features_path
            elif stage == "val" and self.val_path is not None:
                videos, path, feats = (
                    load_captions(self.val_path),
                    self.val_path,
                    self.val_features_path,
                )
            else:
                raise ConfigError(f"caption data has no '{stage}' split")
            store = open_features(feats, **self.feature_options)
            keys = join_features(videos, store, str(path))
            store.check(keys)  # shapes and dtypes from the headers: bad files stop us here
            if stage == "val" and store.dim != self.dataset("train").store.dim:
                raise DatasetError(
                    f"{feats}: {store.dim}-d validation features, but the training features "
                    f"{self.features_path} are {self.dataset('train').store.dim}-d"
                )
            if stage == "train":
                keys = subsample(keys, hp.train_fraction, hp.seed)
            if hp.max_videos is not None:
                keys = keys[: hp.max_videos]
            self._datasets[stage] = CaptionDataset(
                videos, store, self.vocabulary, hp.max_caption_len, keys=keys
            )
        return self._datasets[stage]

    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(stage),
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            num_workers=self.hparams.num_workers,
            collate_fn=collate_captions,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.val_path else []


