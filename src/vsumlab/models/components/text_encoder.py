"""Sentence embeddings for guiding text, cached per caption set and encoder.

Training sees the same captions every epoch, so the text encoder runs once per caption set: the
embeddings live in memory (per sentence) and, with ``cache_dir``, in one ``.npz`` file per
(encoder, caption set) fingerprint, reused by later runs and folds. The encoder itself is built
lazily (on the first miss), so a fully cached run never loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from vsumlab.errors import ConfigError
from vsumlab.io import atomic_path


class TextEncoderLike(Protocol):
    """What :func:`vsumlab.video.encoders.build_text_encoder` returns."""

    def encode_text(self, texts: list[str]) -> torch.Tensor: ...


def encoder_id(name: str, weights: str | os.PathLike | None = None) -> str:
    """Identity of an encoder for cache keys: name plus the weights file (path, size, mtime),
    so retrained or replaced weights never reuse stale embeddings."""
    if weights is None or weights == "random":
        return f"{name}@{weights or 'default'}"
    path = Path(weights).expanduser().resolve()
    stat = path.stat() if path.exists() else None
    tag = f"{path}:{stat.st_size}:{stat.st_mtime_ns}" if stat else str(path)
    return f"{name}@{hashlib.sha256(tag.encode()).hexdigest()[:12]}"


def caption_set_fingerprint(texts: Mapping[str, Sequence[str]], encoder: str) -> str:
    payload = json.dumps(
        {"encoder": encoder, "texts": {k: list(v) for k, v in sorted(texts.items())}},
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class TextFeatureCache:
    """Embeds sentences once per encoder; ``features(texts)`` -> {key: (N_key, dim) float32}.

    ``encoder`` is a name for ``build_text_encoder`` (with ``weights``), an object with
    ``encode_text``, or a zero-argument factory returning one. Embeddings are L2-normalised
    (as CLIP compares them) unless ``normalize=False``.
    """

    def __init__(
        self,
        encoder: str | TextEncoderLike | Callable[[], TextEncoderLike],
        weights: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        identity: str | None = None,
        normalize: bool = True,
        batch_size: int = 256,
    ) -> None:
        if isinstance(encoder, str):
            self.identity = identity or encoder_id(encoder, weights)
            name = encoder

            def factory() -> TextEncoderLike:
                from vsumlab.video.encoders import build_text_encoder

                # random-weight towers (tests, the tiny config) must be the same network in
                # training and at inference: initialise them from a fixed seed
                with torch.random.fork_rng():
                    torch.manual_seed(0)
                    return build_text_encoder(name, weights=None if weights is None else str(weights))

            self._factory: Callable[[], TextEncoderLike] = factory
        elif hasattr(encoder, "encode_text") and not isinstance(encoder, type):
            self.identity = identity or f"{type(encoder).__name__}@{id(encoder):x}"
            self._factory = lambda: encoder  # type: ignore[return-value]
        elif callable(encoder):
            if identity is None:
                raise ConfigError("TextFeatureCache: a factory encoder needs an explicit identity")
            self.identity = identity
            self._factory = encoder
        else:
            raise ConfigError(f"TextFeatureCache: cannot use {encoder!r} as a text encoder")
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.normalize = normalize
        self.batch_size = batch_size
        self._encoder: TextEncoderLike | None = None
        self._memory: dict[str, np.ndarray] = {}
        self.n_encoded = 0  # sentences that went through the encoder (cache misses)
        self.dim: int | None = None

    # -- encoding ---------------------------------------------------------------------------

    @property
    def encoder(self) -> TextEncoderLike:
        if self._encoder is None:
            self._encoder = self._factory()
        return self._encoder

    def _run_encoder(self, sentences: list[str]) -> np.ndarray:
        chunks = []
        with torch.no_grad():
            for start in range(0, len(sentences), self.batch_size):
                out = self.encoder.encode_text(sentences[start : start + self.batch_size])
                out = torch.as_tensor(out).float().cpu()
                if self.normalize:
                    out = torch.nn.functional.normalize(out, dim=-1)
                chunks.append(out.numpy().astype(np.float32))
        self.n_encoded += len(sentences)
        return np.concatenate(chunks, axis=0)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """(N, dim) embeddings; each distinct sentence is encoded at most once per cache."""
        sentences = [str(s) for s in sentences]
        missing = list(dict.fromkeys(s for s in sentences if s not in self._memory))
        if missing:
            for sentence, vector in zip(missing, self._run_encoder(missing)):
                self._memory[sentence] = vector
        if self.dim is None and self._memory:
            self.dim = int(next(iter(self._memory.values())).shape[0])
        if not sentences:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.stack([self._memory[s] for s in sentences])

    # -- caption sets -----------------------------------------------------------------------

    def cache_path(self, texts: Mapping[str, Sequence[str]]) -> Path | None:
        if self.cache_dir is None:
            return None
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.identity)
        return self.cache_dir / f"text-{slug}-{caption_set_fingerprint(texts, self.identity)}.npz"

    def features(self, texts: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
        """Embeddings of every video's sentences, from the disk cache when it has this set."""
        path = self.cache_path(texts)
        if path is not None and path.exists():
            loaded = _load_set(path)
            if set(loaded) == set(texts):
                for key, sentences in texts.items():  # warm the sentence cache for queries
                    for sentence, vector in zip(sentences, loaded[key]):
                        self._memory.setdefault(str(sentence), vector)
                if self.dim is None and self._memory:
                    self.dim = int(next(iter(self._memory.values())).shape[0])
                return loaded
        result = {key: self.encode(sentences) for key, sentences in texts.items()}
        if self.dim is not None:  # videos without sentences get (0, dim)
            result = {k: v.reshape(-1, self.dim) for k, v in result.items()}
        if path is not None:
            _save_set(path, result)
        return result


def _save_set(path: Path, features: Mapping[str, np.ndarray]) -> None:
    keys = list(features)
    counts = np.asarray([features[k].shape[0] for k in keys], dtype=np.int64)
    dim = next((v.shape[1] for v in features.values() if v.ndim == 2), 0)
    stacked = (
        np.concatenate([features[k].reshape(-1, dim) for k in keys])
        if counts.sum()
        else np.zeros((0, dim), np.float32)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a file handle: np.savez would append ".npz" to tmp
            np.savez(handle, keys=np.asarray(keys, dtype=str), counts=counts, embeddings=stacked)


def _load_set(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        keys = [str(k) for k in data["keys"]]
        offsets = np.concatenate([[0], np.cumsum(data["counts"])])
        embeddings = data["embeddings"]
    return {key: embeddings[offsets[i] : offsets[i + 1]] for i, key in enumerate(keys)}
