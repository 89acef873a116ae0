"""Shared pieces of the CLIP-It tests: the tiny text tower, a caption-aligned set, training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from vsumlab.data.schema import Dataset
from vsumlab.data.standard_h5 import VideoFeatureDataset, collate_videos
from vsumlab.data.synthetic.caption_aligned import make_caption_aligned_dataset
from vsumlab.models.cap2sum import Cap2SumModule
from vsumlab.models.clipit import CLIPItModule

TINY = "vsumlab-tiny-clip"  # VIDEO's tiny open_clip config, random weights (32-d text)
TINY_DIM = 32

CAPTION_WORDS = ["a", "dog", "runs", "cat", "sleeps", "on", "the", "grass"]
TINY_CAPTIONER = dict(
    d_model=16, n_heads=2, n_points=2, n_levels=3, n_queries=4, ffn_dim=32, max_events=4,
    caption_hidden=16, caption_word_dim=8, norm_groups=4, dropout=0.0,
)  # fmt: skip


def tiny_cap2sum(seed: int, input_dim: int = 6) -> Cap2SumModule:
    """A tiny randomly initialised Cap2Sum module (PDVC captioner + summarizer), in eval mode."""
    torch.manual_seed(seed)
    return Cap2SumModule(
        input_dim=input_dim, vocabulary=CAPTION_WORDS, captioner=TINY_CAPTIONER,
        max_caption_len=5, summarizer_args={"d_model": 8, "n_heads": 2, "n_layers": 1},
    ).eval()  # fmt: skip


def save_checkpoint(module: L.LightningModule, path):
    """A Lightning checkpoint of an untrained module (what `vsumlab fit` would write)."""
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        max_epochs=0)  # fmt: skip
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return path


def tiny_module(input_dim: int, **kwargs: Any) -> CLIPItModule:
    args = dict(
        input_dim=input_dim, text_encoder=TINY, text_dim=TINY_DIM, d_model=32, n_heads=4,
        n_layers=1, dropout=0.0,
    )  # fmt: skip
    args.update(kwargs)
    return CLIPItModule(**args)


def learning_set(n_videos: int = 70, seed: int = 0) -> tuple[Dataset, dict[str, dict]]:
    """SumMe-like caption-aligned videos of 40-90 s with 128-d features."""
    return make_caption_aligned_dataset(
        "summe", seed=seed, n_videos=n_videos, feature_dim=128, min_duration=40, max_duration=90,
        n_events=6,
    )  # fmt: skip


def sentences(captions: Mapping[str, dict]) -> dict[str, list[str]]:
    return {key: list(entry["sentences"]) for key, entry in captions.items()}


def fit(
    module: CLIPItModule,
    dataset: Dataset,
    keys: Sequence[str],
    texts: Mapping[str, Sequence[str]] | None,
    epochs: int,
    batch_size: int = 1,
    seed: int = 0,
) -> CLIPItModule:
    """Train on ``keys`` with a plain Lightning loop (no validation, no logging)."""
    L.seed_everything(seed, verbose=False)
    module.attach({k: dataset[k] for k in keys}, texts)
    loader = DataLoader(
        VideoFeatureDataset([(k, dataset[k]) for k in keys]),
        batch_size=batch_size,
        shuffle=True,
        collate_fn=collate_videos,
        generator=torch.Generator().manual_seed(seed),
    )
    trainer = L.Trainer(
        max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, loader)  # one torch thread: see conftest.py
    return module.eval()


def predict(
    module: CLIPItModule, dataset: Dataset, keys: Sequence[str], texts: Mapping[str, Sequence[str]]
) -> dict[str, np.ndarray]:
    return {k: module.score_video(dataset[k].features, captions=texts[k]) for k in keys}
