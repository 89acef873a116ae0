"""Results folders put side by side only where that is honest.

`vsumlab results A B ...` groups runs by (dataset, setting, split source, protocol): within a
group every run scored the same test videos the same way, so one set of reference rows
(random, uniform, human) belongs to all of them. Runs whose reference rows still differ
(other folds, other reference draws) keep their own, and the table says so; a run whose dataset
is not recorded is printed apart with the reason. Each run's PoR always uses its own random row.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsumlab.errors import VsumError
from vsumlab.evaluation.metric_registry import METRICS
from vsumlab.io import parse_json
from vsumlab.training.fold_results import REFERENCE_ROWS, ResultRow, read_results
from vsumlab.training.run_labels import (
    RunDescription,
    Undescribed,
    describe_run,
    pretrain_class,
)


@dataclass
class LoadedRun:
    """One results folder as the tables see it."""

    folder: Path
    title: str
    rows: list[ResultRow]
    meta: dict[str, Any]
    description: RunDescription | None = None
    why_apart: str = ""  # why it cannot be grouped (no description)

    @property
    def models(self) -> list[ResultRow]:
        return [row for row in self.rows if row.kind == "model"]

    @property
    def references(self) -> dict[str, ResultRow]:
        return {row.name: row for row in self.rows if row.kind == "reference"}

    @property
    def random(self) -> ResultRow | None:
        return self.references.get("random")

    def label(self, row: ResultRow) -> str:
        if row.kind == "reference":
            return row.name
        if self.description is not None:
            return self.description.label
        return str(row.extra.get("label") or row.name)


@dataclass
class Group:
    """Runs over the same test videos and protocol, and the reference rows they share."""

    description: RunDescription
    runs: list[LoadedRun] = field(default_factory=list)
    disagreement: str = ""  # why the runs' reference rows differ ("" when they agree)

    @property
    def references_agree(self) -> bool:
        return not self.disagreement


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = parse_json(file.read_text(encoding="utf-8"), file)
    except (OSError, UnicodeDecodeError, VsumError) as exc:
        detail = str(exc).removeprefix(f"{file}: ") if isinstance(exc, VsumError) \
            else exc.__class__.__name__
        raise VsumError(f"{file}: not a readable fold result ({detail}); "
                        "expected the JSON object `vsumlab cv` writes") from exc
    if not isinstance(data, dict):
        raise VsumError(f"{file}: expected a JSON object (a fold's result)")
    return data


def _read_config(file: Path) -> dict[str, Any]:
    if not file.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise VsumError(f"{file}: not a readable YAML configuration ({exc.__class__.__name__})"
                        ) from exc
    return data if isinstance(data, dict) else {}


def _pretrain_class(folder: Path, meta: Mapping[str, Any]) -> str | None:
    """The pretraining a run fine-tuned from, from run.json or the results meta."""
    run_file = folder / "run.json"
    run = {}
    if run_file.is_file():
        try:
            run = parse_json(run_file.read_text(encoding="utf-8"), run_file)
        except (OSError, UnicodeDecodeError, VsumError):
            run = {}
    pretrain = run.get("pretrain") if isinstance(run, dict) else None
    if isinstance(pretrain, Mapping) and pretrain.get("recipe"):
        return pretrain_class(recipe=str(pretrain["recipe"]))
    checkpoint = meta.get("pretrained") or (run.get("pretrained") if isinstance(run, dict)
                                            else None)
    return pretrain_class(checkpoint=str(checkpoint)) if checkpoint else None


def read_run(path: str | os.PathLike) -> LoadedRun:
    """A results folder (or its results.json) with its description: the one ``vsumlab cv``
    recorded, else one made from its fold results and config.yaml (older folders)."""
    path = Path(path)
    if not path.exists():
        raise VsumError(f"{path}: no such results folder (expected a `vsumlab cv` output "
                        "folder or its results.json)")
    title, rows, meta = read_results(path)
    folder = path.parent if path.is_file() else path
    run = LoadedRun(folder, title, rows, meta)
    recorded = meta.get("comparison")
    if isinstance(recorded, Mapping):
        try:
            run.description = RunDescription.from_dict(recorded)
            return run
        except (KeyError, TypeError, ValueError) as exc:
            raise VsumError(f"{folder / 'results.json'}: 'comparison' is not a run description "
                            f"(missing or bad {exc})") from exc
    folds = [_read_json(f) for f in sorted(folder.glob("seed_*/fold_*/result.json"))]
    config = _read_config(folder / "config.yaml")
    try:
        run.description = describe_run(config, folds, meta, _pretrain_class(folder, meta),
                                       fallback_method=title)
    except Undescribed as exc:
        run.why_apart = str(exc)
    return run


def _by_split(row: ResultRow, split_ids: Sequence[Any] | None) -> dict[str, dict[str, float]]:
    """A reference row's values per split (the same test videos give the same reference on
    every seed); positions stand in for splits when the row records none."""
    ids = split_ids if split_ids is not None and len(split_ids) == len(row.folds) else None
    out: dict[str, dict[str, float]] = {}
    for position, values in enumerate(row.folds):
        out.setdefault(str(ids[position] if ids is not None else f"#{position}"), values)
    return out


def reference_split_ids(run: LoadedRun, row: ResultRow) -> list[Any] | None:
    """Which split each of a reference row's values belongs to (its own record, else the
    model row's: both list the run's fold results in the same order)."""
    for source in (row, *run.models):
        ids = source.extra.get("fold_ids")
        if isinstance(ids, list) and len(ids) == len(row.folds):
            return ids
    return None


def _same(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    for metric in METRICS:
        x, y = float(a.get(metric, math.nan)), float(b.get(metric, math.nan))
        if not (math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(x) and math.isnan(y))):
            return False
    return True


def references_differ(runs: Sequence[LoadedRun]) -> str:
    """Why the runs' reference rows differ, or "" when every run has the same ones."""
    first = runs[0]
    for other in runs[1:]:
        for name in REFERENCE_ROWS:
            a, b = first.references.get(name), other.references.get(name)
            if a is None or b is None:
                if (a is None) != (b is None):
                    return f"{other.folder} has no '{name}' row" if b is None else \
                        f"{first.folder} has no '{name}' row"
                continue
            ids_a, ids_b = reference_split_ids(first, a), reference_split_ids(other, b)
            if ids_a is None or ids_b is None:  # an older run: splits known by position only
                ids_a = ids_b = None
            split_a, split_b = _by_split(a, ids_a), _by_split(b, ids_b)
            if set(split_a) != set(split_b):
                return (f"{first.folder} and {other.folder} tested other splits "
                        f"({len(split_a)} vs {len(split_b)})")
            if not all(_same(split_a[key], split_b[key]) for key in split_a):
                return (f"the '{name}' rows of {first.folder} and {other.folder} differ on the "
                        "same splits (other test videos or reference draws)")
    return ""


def group_runs(runs: Iterable[LoadedRun]) -> tuple[list[Group], list[LoadedRun]]:
    """Groups of comparable runs (in first-seen order), and the runs printed apart."""
    groups: dict[tuple[str, ...], Group] = {}
    apart: list[LoadedRun] = []
    for run in runs:
        if run.description is None:
            apart.append(run)
            continue
        key = run.description.group_key
        groups.setdefault(key, Group(run.description)).runs.append(run)
    for group in groups.values():
        group.disagreement = references_differ(group.runs)
    return list(groups.values()), apart
