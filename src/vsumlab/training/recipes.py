"""Recipe composition: a recipe YAML lists the shared pieces it builds on.

A recipe may start with ``defaults: [../_base/trainer.yaml, ../_base/data_tvsum.yaml]`` (paths
relative to the recipe). Pieces are merged in order with OmegaConf, then the recipe itself, so a
recipe states only what differs; OmegaConf interpolations (``${...}``) resolve across pieces.
The result is an ordinary LightningCLI config.

Recipes are installed with the package (``vsumlab/experiments``, the repository's
``experiments/`` folder), so a recipe is named either by a path (an existing file wins) or by its
name under ``experiments/``: ``supervised/transformer_tvsum``, with or without ``.yaml`` or a
leading ``experiments/``. Paths inside a recipe (datasets, run folders) stay relative to the
current directory.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from vsumlab.errors import ConfigError
from vsumlab.yamlfile import read_yaml

DEFAULTS_KEY = "defaults"
# the repository's experiments/ folder; installed as package data (a symlink in the checkout)
INSTALLED_RECIPES = Path(__file__).resolve().parent.parent / "experiments"
RECIPE_SUFFIXES = (".yaml", ".yml")


def installed_recipe_names() -> list[str]:
    """Names of the recipes installed with the package, e.g. ``supervised/transformer_tvsum``."""
    return sorted(p.relative_to(INSTALLED_RECIPES).with_suffix("").as_posix()
                  for p in INSTALLED_RECIPES.rglob("*.yaml"))


def resolve_recipe(recipe: str | os.PathLike, what: str = "recipe") -> Path:
    """The file (or folder, e.g. ``published``) a recipe argument names: the path itself when
    it exists, else the installed recipe of that name (``.yaml`` and a leading ``experiments/``
    optional); :class:`ConfigError` naming close matches otherwise."""
    given = Path(recipe)
    if given.exists():
        return given
    parts = given.parts
    if parts[:1] == ("experiments",):
        parts = parts[1:]
    if parts and not given.is_absolute() and ".." not in parts:
        name = Path(*parts)
        candidates = [INSTALLED_RECIPES / name]
        if name.suffix not in RECIPE_SUFFIXES:
            candidates.append(INSTALLED_RECIPES / name.parent / f"{name.name}.yaml")
        for candidate in candidates:
            if candidate.exists():
                return candidate
    key = given.with_suffix("").as_posix() if given.suffix in RECIPE_SUFFIXES else given.as_posix()
    key = key.removeprefix("experiments/")
    close = difflib.get_close_matches(key, installed_recipe_names(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(
        f"{recipe}: {what} not found (neither a path nor a recipe installed with vsumlab, "
        f"e.g. supervised/transformer_tvsum){hint}"
    )


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
    """The recipe (a path or an installed recipe's name, :func:`resolve_recipe`) with its pieces
    merged and interpolations resolved, as a plain dict."""
    try:
        merged = _compose(resolve_recipe(path), ())
        recipe = OmegaConf.to_container(merged, resolve=True)
        return relocate_protocol(recipe)  # type: ignore[arg-type]
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{path}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from exc


def relocate_protocol(recipe: dict[str, Any]) -> dict[str, Any]:
    """A composed recipe with ``model.init_args.protocol`` (the earlier place, still read) moved to the
    top-level ``protocol`` (merged under options given there)."""
    init_args = ((recipe.get("model") or {}).get("init_args") or {}) if isinstance(
        recipe.get("model"), dict) else {}
    if "protocol" not in init_args:
        return recipe
    earlier = init_args.pop("protocol") or {}
    recipe["protocol"] = {**earlier, **(recipe.get("protocol") or {})}
    return recipe



def write_composed(path: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the composed recipe as one YAML file LightningCLI can read with --config."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(compose_recipe(path), sort_keys=False))
    return out
