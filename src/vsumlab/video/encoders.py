"""Frame and text encoders behind one interface, with weights from local files and caches.

Image encoders (:func:`build_encoder`):

- any open_clip model name (default ``ViT-B-16``, the Cap2Sum encoder), CLIP image embedding;
- ``googlenet``: torchvision GoogLeNet pool5, 1024-d, the feature of the standard benchmark files;
- ``colorhist``: a deterministic 8x8x8 RGB colour histogram (512-d, no weights), cheap, and
  enough for shot boundaries of simple videos.

``weights``: a local checkpoint file, an open_clip pretrained tag found in the local cache
(``openai`` by default for ViT-B-16), or ``"random"`` (untrained, for tests and benchmarks).
Nothing downloads unless asked (``download=True``, ``--download-weights`` or
``VSUMLAB_DOWNLOAD_WEIGHTS=1``; :mod:`vsumlab.video.weights`): then a named pretrained model
missing from the cache (an open_clip tag such as ``openai``; torchvision's GoogLeNet ImageNet
weights) is fetched by open_clip / torch.hub into their usual caches. Otherwise a missing file
is a one-line :class:`EncoderError` saying where to put it.
``vsumlab-tiny-clip`` is a tiny open_clip configuration shipped for tests.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vsumlab.errors import ConfigError, VsumError
from vsumlab.video.weights import (
    FETCH_HINT,
    GOOGLENET_FILE,
    GOOGLENET_URL,
    RANDOM_WEIGHTS,
    WEIGHTS_HELP,
    download_allowed,
    hf_offline,
)

DEFAULT_ENCODER = "ViT-B-16"
TINY_CLIP = "vsumlab-tiny-clip"
_MODEL_CONFIG_DIR = Path(__file__).with_name("model_configs")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class EncoderError(VsumError):
    """An encoder cannot be built: unknown model, missing or incompatible weights."""


def _autocast(device: torch.device, enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class FrameEncoder(ABC):
    """Turns RGB frames into one feature vector each.

    ``preprocess`` runs on CPU and is thread-safe, so a decoding thread can call it while the
    model encodes the previous batch. ``input_size`` is the shorter side the model wants: the
    decoder may downscale to it first (cheaper than converting full-size frames).
    """

    name: str
    weights: str | None
    dim: int
    input_size: int | None = None

    def __init__(self, device: str | torch.device = "cpu", bf16: bool = False) -> None:
        self.device = torch.device(device)
        self.bf16 = bool(bf16)

    @abstractmethod
    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (N, H, W, 3) RGB -> model input batch (CPU tensor)."""

    @abstractmethod
    def _forward(self, batch: torch.Tensor) -> torch.Tensor: ...

    @torch.inference_mode()
    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        """Model input batch -> (N, dim) float32 features on CPU."""
        batch = batch.to(self.device, non_blocking=True)
        with _autocast(self.device, self.bf16):
            features = self._forward(batch)
        return features.float().cpu()

    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        return self.encode(self.preprocess(frames))

    def describe(self) -> dict[str, Any]:
        """What produced the features (stored with them, so a run can be checked or repeated)."""
        return {"model": self.name, "weights": self.weights or "", "dim": self.dim}


def _as_batch(frames: np.ndarray) -> torch.Tensor:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise EncoderError(
            f"frames: expected uint8 array (N, H, W, 3), got {frames.dtype} {frames.shape}"
        )
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)


def _resize_crop_normalize(
    frames: np.ndarray, resize: int, crop: int, mean: tuple, std: tuple
) -> torch.Tensor:
    import torchvision.transforms.v2.functional as F

    batch = _as_batch(frames).float().div_(255.0)
    batch = F.resize(batch, [resize], interpolation=F.InterpolationMode.BICUBIC, antialias=True)
    batch = F.center_crop(batch, [crop, crop]).clamp_(0.0, 1.0)
    return F.normalize(batch, mean=list(mean), std=list(std))


class ColorHistEncoder(FrameEncoder):
    """Joint RGB histogram (``bins``^3 cells), L1-normalised then square-rooted.

    The square root makes the dot product of two features the Bhattacharyya coefficient of the
    histograms, a good similarity for KTS's linear kernel.
    """

    def __init__(self, bins: int = 8, input_size: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if bins < 2 or 256 % bins:
            raise ConfigError(f"colorhist bins={bins} must divide 256 and be >= 2")
        self.name, self.weights, self.bins = "colorhist", None, bins
        self.dim = bins**3
        self.input_size = input_size

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        return _as_batch(frames)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        q = (batch.long() * self.bins) // 256  # (N, 3, H, W) bin of each channel
        cell = (q[:, 0] * self.bins + q[:, 1]) * self.bins + q[:, 2]
        cell = cell.flatten(1)
        hist = torch.zeros(batch.shape[0], self.dim, device=batch.device)
        hist.scatter_add_(1, cell, torch.ones_like(cell, dtype=hist.dtype))
        return (hist / cell.shape[1]).sqrt()

    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():  # exact counts: never under autocast
            return self._forward(batch.to(self.device)).float().cpu()


class GoogLeNetEncoder(FrameEncoder):
    """torchvision GoogLeNet up to pool5 (global average pool, 1024-d).

    Preprocessing follows torchvision's ImageNet recipe (resize 256, centre crop 224). The
    standard files used Caffe's GoogLeNet, so these features are close to, not equal to, them.
    """

    def __init__(
        self,
        weights: str | None = None,
        image_size: int = 224,
        download: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from torchvision.models import GoogLeNet

        self.name, self.dim = "googlenet", 1024
        self.crop = int(image_size)
        self.input_size = int(round(image_size * 256 / 224))
        path = _googlenet_weights(weights, download)
        self.weights = RANDOM_WEIGHTS if path is None else str(path)
        # transform_input=True: torchvision's weights expect its input re-normalisation
        model = GoogLeNet(aux_logits=True, transform_input=True, init_weights=path is None)
        if path is not None:
            load_googlenet_weights(model, path)
        model.aux_logits, model.aux1, model.aux2 = False, None, None
        model.fc = torch.nn.Identity()  # pool5 output: avgpool -> flatten -> (eval) dropout
        self.model = model.eval().to(self.device)

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        return _resize_crop_normalize(
            frames, self.input_size, self.crop, _IMAGENET_MEAN, _IMAGENET_STD
        )

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch)


def _load_state_dict(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EncoderError(f"{path}: not a readable PyTorch checkpoint ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise EncoderError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state


def load_googlenet_weights(model: torch.nn.Module, path: Path) -> None:
    """Load a torchvision-layout GoogLeNet state dict (``weights_only``) into ``model``; the
    auxiliary classifiers and ``fc`` may be absent from either side, nothing else."""
    state = _load_state_dict(path)
    optional = ("aux1.", "aux2.", "fc.")
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [k for k in [*missing, *unexpected] if not k.startswith(optional)]
    if bad:
        raise EncoderError(
            f"{path}: not GoogLeNet weights (mismatched keys: {', '.join(bad[:5])})"
        )


def googlenet_cache_file() -> Path:
    """Where torch.hub keeps torchvision's GoogLeNet ImageNet weights ($TORCH_HOME/hub)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / GOOGLENET_FILE


def fetch_googlenet() -> Path:
    """torchvision's GoogLeNet_Weights.IMAGENET1K_V1, fetched by torch.hub into its cache."""
    from torchvision.models import GoogLeNet_Weights

    url = GoogLeNet_Weights.IMAGENET1K_V1.url
    try:
        torch.hub.load_state_dict_from_url(
            url, map_location="cpu", progress=False, check_hash=True, weights_only=True
        )
    except Exception as exc:  # URLError, HTTPError, hash mismatch, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EncoderError(
            f"GoogLeNet ImageNet weights: torch.hub could not fetch {url} ({first}); check "
            f"the connection or put the file at {googlenet_cache_file()}"
        ) from exc
    return googlenet_cache_file()


def googlenet_imagenet_file(download: bool | None = None) -> Path | None:
    """The cached ImageNet weights file, fetched first when allowed; None when absent."""
    path = googlenet_cache_file()
    if path.is_file():
        return path
    return fetch_googlenet() if download_allowed(download) else None


def _googlenet_weights(weights: str | None, download: bool | None = None) -> Path | None:
    if weights == RANDOM_WEIGHTS:
        return None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise EncoderError(f"{path}: GoogLeNet weights file not found. {WEIGHTS_HELP}")
        return path
    path = googlenet_imagenet_file(download)
    if path is None:
        raise EncoderError(
            f"GoogLeNet weights not found at {googlenet_cache_file()} ({GOOGLENET_URL}); pass "
            f"--weights PATH, or {FETCH_HINT}"
        )
    return path


def _register_tiny_configs() -> None:
    import open_clip

    if TINY_CLIP not in open_clip.list_models():
        open_clip.add_model_config(_MODEL_CONFIG_DIR)


def _open_clip_names() -> list[str]:
    import open_clip

    _register_tiny_configs()
    return open_clip.list_models()


def _cached_open_clip_file(model_name: str, tag: str) -> Path | None:
    """The local file of an open_clip pretrained tag, from the HF or legacy cache; no download."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    if not cfg:
        return None
    if cfg.get("file"):
        return Path(cfg["file"]) if Path(cfg["file"]).is_file() else None
    hub = cfg.get("hf_hub", "")
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache  # comes with open_clip
        except ImportError:
            try_to_load_from_cache = None
        # "org/name/" (default file names) or "org/name/file"
        parts = hub.split("/", 2)
        repo_id = "/".join(parts[:2])
        filename = parts[2] if len(parts) > 2 else ""
        names = [filename] if filename else [
            "open_clip_model.safetensors",
            "open_clip_pytorch_model.bin",
        ]
        for name in names if try_to_load_from_cache is not None else []:
            found = try_to_load_from_cache(repo_id, name)
            if isinstance(found, str) and os.path.isfile(found):
                return Path(found)
    url = cfg.get("url", "")
    if url:
        legacy = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        if legacy.is_file():
            return legacy
    return None


def _default_tag(model_name: str) -> str | None:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model_name)
    if not tags:
        return None
    return "openai" if "openai" in tags else tags[0]


def _fetch_open_clip(model_name: str, tag: str) -> Path:
    """open_clip's own download of a pretrained tag into its cache (the Hugging Face cache)."""
    import open_clip

    if hf_offline():
        raise EncoderError(
            f"{model_name} weights '{tag}' are not in the local cache and HF_HUB_OFFLINE is set; "
            "unset it to fetch them, or pass --weights PATH"
        )
    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    try:
        found = open_clip.pretrained.download_pretrained(cfg)
    except Exception as exc:  # network, hub and file errors of many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EncoderError(
            f"{model_name} weights '{tag}': open_clip could not fetch them ({first}); check the "
            "connection or pass --weights PATH"
        ) from exc
    if not found or not Path(found).is_file():
        raise EncoderError(f"{model_name} weights '{tag}': open_clip fetched no file")
    return Path(found)


def _open_clip_model(
    model_name: str, weights: str | None, device: torch.device, download: bool | None = None
) -> tuple[torch.nn.Module, str]:
    """Build an open_clip model in eval mode from local weights (a named tag missing from the
    cache is fetched only when ``download_allowed(download)``); returns (model, weights used)."""
    import open_clip

    names = _open_clip_names()
    if model_name not in names:
        raise ConfigError(
            f"unknown encoder model '{model_name}'; expected colorhist, googlenet or an "
            f"open_clip model such as ViT-B-16, ViT-B-32, ViT-L-14, {TINY_CLIP}"
        )
    kwargs: dict[str, Any] = {}
    if weights == RANDOM_WEIGHTS or (weights is None and model_name == TINY_CLIP):
        pretrained, used = None, RANDOM_WEIGHTS
    elif weights is not None and Path(weights).expanduser().is_file():
        pretrained = used = str(Path(weights).expanduser())
    else:
        tag = weights if weights is not None else _default_tag(model_name)
        known = open_clip.list_pretrained_tags_by_model(model_name)
        if tag is None or tag not in known:
            raise EncoderError(
                f"weights '{weights}' for {model_name}: no such file, and not a pretrained tag "
                f"(known tags: {', '.join(known) or 'none'}). {WEIGHTS_HELP}"
            )
        path = _cached_open_clip_file(model_name, tag)
        if path is None and download_allowed(download):
            path = _fetch_open_clip(model_name, tag)
        if path is None:
            raise EncoderError(
                f"{model_name} weights '{tag}' are not in the local cache; pass --weights PATH, "
                f"or {FETCH_HINT}. {WEIGHTS_HELP}"
            )
        cfg = open_clip.get_pretrained_cfg(model_name, tag)
        # a tag's file carries no preprocessing or activation info: take them from the tag
        if cfg.get("quick_gelu"):
            kwargs["force_quick_gelu"] = True
        preprocess = {k: cfg[k] for k in ("mean", "std") if k in cfg}
        if preprocess:
            kwargs["force_preprocess_cfg"] = preprocess
        pretrained, used = str(path), f"{tag}:{path}"
    try:
        model = open_clip.create_model(model_name, pretrained=pretrained, device=device, **kwargs)
    except Exception as exc:  # torch.load and state-dict checks raise many exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EncoderError(f"{weights}: cannot load into {model_name} ({first})") from exc
    return model.eval(), used


class OpenClipImageEncoder(FrameEncoder):
    """An open_clip image tower; features are the (unnormalised) CLIP image embeddings."""

    def __init__(
        self,
        model_name: str = DEFAULT_ENCODER,
        weights: str | None = None,
        download: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        model, self.weights = _open_clip_model(model_name, weights, self.device, download)
        self.name = model_name
        self.visual = model.visual
        del model  # the text tower is not needed for frames
        size = self.visual.image_size
        self.input_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.mean = tuple(getattr(self.visual, "image_mean", None) or _clip_mean())
        self.std = tuple(getattr(self.visual, "image_std", None) or _clip_std())
        self.dim = int(self.visual.output_dim)

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        return _resize_crop_normalize(
            frames, self.input_size, self.input_size, self.mean, self.std
        )

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.visual(batch)


def _clip_mean() -> tuple:
    import open_clip

    return open_clip.OPENAI_DATASET_MEAN


def _clip_std() -> tuple:
    import open_clip

    return open_clip.OPENAI_DATASET_STD


def encoder_names() -> list[str]:
    return ["colorhist", "googlenet", *_open_clip_names()]


def build_encoder(
    name: str = DEFAULT_ENCODER,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
    download: bool | None = None,
    **kwargs: Any,
) -> FrameEncoder:
    """A frame encoder by name: ``colorhist``, ``googlenet`` or an open_clip model name.

    ``kwargs`` go to the encoder (``bins``/``input_size`` for colorhist, ``image_size`` for
    googlenet); unknown ones raise :class:`ConfigError`. ``download``: may a named pretrained
    model missing from the cache be fetched (None: ``VSUMLAB_DOWNLOAD_WEIGHTS``, off by default).
    """
    try:
        if name == "colorhist":
            if weights not in (None, RANDOM_WEIGHTS):
                raise ConfigError(f"encoder colorhist takes no weights, got --weights {weights}")
            return ColorHistEncoder(device=device, bf16=bf16, **kwargs)
        if name == "googlenet":
            return GoogLeNetEncoder(
                weights=weights, download=download, device=device, bf16=bf16, **kwargs
            )
        return OpenClipImageEncoder(
            name, weights=weights, download=download, device=device, bf16=bf16, **kwargs
        )
    except TypeError as exc:
        raise ConfigError(f"encoder {name}: unknown option ({exc})") from exc


class TextEncoder:
    """An open_clip text tower: ``encode_text(list[str]) -> (N, dim)`` (unnormalised)."""

    def __init__(
        self,
        model_name: str = DEFAULT_ENCODER,
        weights: str | None = None,
        device: str | torch.device = "cpu",
        bf16: bool = False,
        download: bool | None = None,
    ) -> None:
        import open_clip

        self.device, self.bf16 = torch.device(device), bool(bf16)
        model, self.weights = _open_clip_model(model_name, weights, self.device, download)
        self.name = model_name
        model.visual = torch.nn.Identity()  # frees the image tower; encode_text does not use it
        self.model = model
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.dim = int(open_clip.get_model_config(model_name)["embed_dim"])

    @torch.inference_mode()
    def encode_text(self, texts: list[str]) -> torch.Tensor:
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise EncoderError("encode_text expects a list of strings")
        if not texts:
            return torch.zeros(0, self.dim)
        tokens = self.tokenizer(list(texts)).to(self.device)
        with _autocast(self.device, self.bf16):
            features = self.model.encode_text(tokens)
        return features.float().cpu()

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "weights": self.weights or "", "dim": self.dim}


def build_text_encoder(
    name: str = DEFAULT_ENCODER,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
    download: bool | None = None,
) -> TextEncoder:
    """The text tower of an open_clip model (``vsumlab-tiny-clip`` with random weights in tests);
    ``download`` as for :func:`build_encoder`."""
    if name in ("colorhist", "googlenet"):
        raise ConfigError(f"encoder {name} has no text tower; use an open_clip model name")
    return TextEncoder(name, weights=weights, device=device, bf16=bf16, download=download)
