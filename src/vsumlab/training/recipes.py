"""Recipe composition: a recipe YAML lists the shared pieces it builds on.

A recipe may start with ``defaults: [../_base/trainer.yaml, ../_base/data_tvsum.yaml]`` (paths
relative to the recipe). Pieces are merged in order with OmegaConf, then the recipe itself, so a
recipe states only what differs; OmegaConf interpolations (``${...}``) resolve across pieces.
The result is an ordinary LightningCLI config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from vsumlab.errors import ConfigError
from vsumlab.yamlfile import read_yaml

DEFAULTS_KEY = "defaults"


def _load_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml(path, "recipe") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _compose(path: Path, seen: tuple[Path, ...]) -> Any:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise ConfigError(f"recipe defaults form a cycle: {chain}")
    data = _load_yaml(path)
    pieces = data.pop(DEFAULTS_KEY, []) or []
    if not isinstance(pieces, list):
        raise ConfigError(f"{path}: '{DEFAULTS_KEY}' must be a list of YAML paths")
    merged = OmegaConf.create({})
    for piece in pieces:
        merged = OmegaConf.merge(merged, _compose(path.parent / str(piece), (*seen, path)))
    return OmegaConf.merge(merged, OmegaConf.create(data))


def compose_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """The recipe with its pieces merged and interpolations resolved, as a plain dict."""
    try:
        merged = _compose(Path(path), ())
        return OmegaConf.to_container(merged, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{path}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from exc


def write_composed(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the composed recipe as one YAML file LightningCLI can read with --config."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(compose_recipe(path), sort_keys=False))
    return out
