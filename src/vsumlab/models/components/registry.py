"""Summarizer components by name, so recipes choose one with ``summarizer: csta`` and its args.

Every component is a plain ``nn.Module`` with ``input_dim``, ``forward(features (B,T,D), mask
(B,T) bool) -> logits (B,T)`` and ``encode(features, mask) -> (B, encode_dim)``.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from vsumlab.errors import ConfigError
from vsumlab.models.components.csta import CSTA
from vsumlab.models.components.transformer_summarizer import TransformerSummarizer

SUMMARIZERS: dict[str, type[nn.Module]] = {
    "transformer": TransformerSummarizer,
    "csta": CSTA,
}


def summarizer_names() -> list[str]:
    return sorted(SUMMARIZERS)


def summarizer_options(name: str) -> list[str]:
    """The keyword arguments a summarizer accepts besides ``input_dim``."""
    params = inspect.signature(_lookup(name)).parameters
    return [p for p in params if p != "input_dim"]


def _lookup(name: str) -> type[nn.Module]:
    if name not in SUMMARIZERS:
        raise ConfigError(
            f"unknown summarizer {name!r}; expected one of {', '.join(summarizer_names())}"
        )
    return SUMMARIZERS[name]


def build_summarizer(name: str, input_dim: int, **kwargs: Any) -> nn.Module:
    """Instantiate a summarizer; unknown names or arguments raise :class:`ConfigError`."""
    cls = _lookup(name)
    allowed = summarizer_options(name)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ConfigError(
            f"summarizer {name!r}: unknown argument(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )
    return cls(input_dim=int(input_dim), **kwargs)
