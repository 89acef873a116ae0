"""CLIP Prior generator of Cap2Sum (paper Sec. 3.2, Fig. 2).

100 object words (the CIFAR-100 classes) become prompts "An image of [object]."; their CLIP text
features are computed once per encoder and cached on disk (keyed by model name, a hash of the
weights file and the prompts). Per video:

    M = softmax(logit_scale * F_f F_t^T)   (rows: frames, columns: objects; F_f, F_t L2-normalized)

A frame-object entry counts when M > tau (0.4). For each object, runs of consecutive counted
frames longer than ``min_run`` (10) steps and shorter than ``max_fraction * T`` (0.5 T) set the
prior P = 1 on those frames; elsewhere P = 0 and the prior is unused (its mask is False).

``logit_scale``: the paper writes softmax(F_f F_t^T) of normalized features; cosines lie in
[-1, 1], so a plain softmax over 100 objects stays near 0.01 and could never pass tau = 0.4. CLIP
scores image-text pairs with its learned temperature (logit scale 100), which is the reading
taken here; it is a config value.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsumlab.errors import ConfigError
from vsumlab.io import atomic_path
from vsumlab.models.loading import read_checkpoint

CIFAR100_CLASSES: tuple[str, ...] = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip


class TextEncoderLike(Protocol):
    def encode_text(self, texts: list[str]) -> Tensor: ...


def object_prompts(classes: tuple[str, ...] = CIFAR100_CLASSES) -> list[str]:
    """ "An image of [object]." for each class name (underscores read as spaces)."""
    return [f"An image of {name.replace('_', ' ')}." for name in classes]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def encoder_cache_key(encoder: Any, prompts: list[str]) -> str | None:
    """A stable key for (model, weights file contents, prompts), or None when the weights are
    not a file (random initialisation): such features are recomputed, never cached."""
    describe = getattr(encoder, "describe", None)
    info = describe() if callable(describe) else {}
    weights = str(info.get("weights", "") or "")
    # VIDEO's encoders report "tag:path" for pretrained tags, else a path or "random".
    candidates = [weights, weights.split(":", 1)[-1]]
    file = next((Path(c) for c in candidates if c and Path(c).is_file()), None)
    if file is None:
        return None
    payload = {"model": str(info.get("model", type(encoder).__name__)),
               "weights_sha256": _file_sha256(file), "prompts": prompts}  # fmt: skip
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def prompt_text_features(
    encoder: TextEncoderLike,
    prompts: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Tensor:
    """(K, D) L2-normalized text features of the prompts; cached per encoder when possible."""
    prompts = object_prompts() if prompts is None else list(prompts)
    key = encoder_cache_key(encoder, prompts) if cache_dir is not None else None
    file = None
    if key is not None and cache_dir is not None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(getattr(encoder, "name", "encoder")))
        file = Path(cache_dir) / f"clip_prior_text_{name}_{key}.pt"
        if file.is_file():
            return read_checkpoint(file, "clip prior text-feature cache")
    with torch.no_grad():
        features = F.normalize(encoder.encode_text(prompts).float().cpu(), dim=-1)
    if features.shape[0] != len(prompts):
        raise ConfigError(
            f"text encoder returned {features.shape[0]} features for {len(prompts)} prompts"
        )
    if file is not None:
        with atomic_path(file) as tmp:
            torch.save(features, tmp)
    return features


def load_text_features(path: str | os.PathLike) -> Tensor:
    """(K, D) text features saved as .pt (tensor) or .npy, L2-normalized on load."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"clip prior: text features file not found: {path}")
    data = np.load(path) if path.suffix == ".npy" else read_checkpoint(path, "clip prior")
    features = torch.as_tensor(np.asarray(data), dtype=torch.float32)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ConfigError(
            f"clip prior: {path} holds shape {tuple(features.shape)}, expected (n_objects, dim)"
        )
    return F.normalize(features, dim=-1)


def runs_of_true(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) of each run of True in a 1-D bool array."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges[0::2], edges[1::2]


def similarity(frame_features: Tensor, text_features: Tensor, logit_scale: float = 100.0) -> Tensor:
    """M (T, K): per frame, softmax over objects of the scaled cosine similarity."""
    frames = F.normalize(frame_features.float(), dim=-1)
    texts = F.normalize(text_features.float().to(frames.device), dim=-1)
    return (logit_scale * frames @ texts.T).softmax(dim=-1)


def clip_prior(
    frame_features: Tensor,
    text_features: Tensor,
    tau: float = 0.4,
    min_run: int = 10,
    max_fraction: float = 0.5,
    logit_scale: float = 100.0,
) -> tuple[Tensor, Tensor]:
    """Prior P (T,) in {0, 1} and its mask (T,) bool (True where P = 1) for one video."""
    if frame_features.ndim != 2 or frame_features.shape[1] != text_features.shape[1]:
        raise ConfigError(
            f"clip prior: frame features {tuple(frame_features.shape)} do not match text features "
            f"{tuple(text_features.shape)}; the prior needs CLIP image features of the same model"
        )
    n_steps = frame_features.shape[0]
    above = (similarity(frame_features, text_features, logit_scale) > tau).cpu().numpy()
    prior = np.zeros(n_steps, dtype=bool)
    for column in above.T:
        if not column.any():
            continue
        starts, ends = runs_of_true(column)
        for start, end in zip(starts, ends):
            if end - start > min_run and end - start < max_fraction * n_steps:
                prior[start:end] = True
    mask = torch.from_numpy(prior).to(frame_features.device)
    return mask.to(torch.float32), mask


def clip_prior_batch(
    features: Tensor, valid: Tensor, text_features: Tensor, **options: Any
) -> Tensor:
    """(B, T) prior of each video of a padded batch (0 on padding)."""
    prior = torch.zeros(valid.shape, dtype=torch.float32, device=features.device)
    for row, n in enumerate(valid.sum(1).tolist()):
        prior[row, :n] = clip_prior(features[row, :n], text_features, **options)[0]
    return prior
