"""Reading YAML files (recipes, sweep files, split files) with errors that point at the line
and column. A mapping that repeats a key is refused: YAML loaders keep the last value silently,
so ``lr`` written twice in a recipe would train with whichever came last."""

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


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping repeating a key (merge keys ``<<`` aside:
    overriding a merged value is what they are for)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found key {key!r} twice (expected each key once)", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml_text(text: str) -> Any:
    """``yaml.safe_load`` refusing repeated keys (:class:`UniqueKeyLoader`)."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path, what: str) -> Any:
    """The content of a YAML file; :class:`ConfigError` naming the file (``what``: "recipe",
    "sweep file") when it is missing, not UTF-8, or not valid YAML, with line and column."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return load_yaml_text(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} is not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_text(exc)}") from exc
