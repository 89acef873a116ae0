"""Reading YAML files (recipes, sweep files) with errors that point at the line and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vsumlab.errors import ConfigError


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """``line L, column C: problem`` (1-based, where the parser gave up) on one line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = " ".join(
        str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None))
        if part
    ) or exc.__class__.__name__
    problem = " ".join(problem.split())
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def read_yaml(path: Path, what: str) -> Any:
    """The content of a YAML file; :class:`ConfigError` naming the file (``what``: "recipe",
    "sweep file") when it is missing, not UTF-8, or not valid YAML, with line and column."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_text(exc)}") from exc
