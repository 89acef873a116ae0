"""Which (split, seed) replica each fold of a results folder is, so two runs can be paired.

Every fold's ``result.json`` holds a ``split`` entry (:func:`split_entry`: the data module's
source, index and digest of the fold's train/test videos); :func:`replica_keys` reads them back
for a results row, one ``(split digest, seed)`` key per fold entry, for
:func:`vsumlab.evaluation.significance.compare_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vsumlab.errors import VsumError
from vsumlab.evaluation.significance import Replicas
from vsumlab.io import read_json


def split_entry(datamodule: Any) -> dict[str, Any] | None:
    """The fold's ``split`` record, or None for a data module that does not describe its splits."""
    record = getattr(datamodule, "split_record", None)
    return record() if callable(record) else None


def fold_result_file(folder: Path, seed: Any, fold: Any) -> Path:
    """``seed_<s>/fold_<k>/result.json`` of a results folder (``seed_default``: no --seeds)."""
    seed_dir = f"seed_{seed}" if seed is not None else "seed_default"
    return folder / seed_dir / f"fold_{fold}" / "result.json"


def replica_keys(results: str | Path, row: Any) -> Replicas:
    """``(split digest, seed)`` of each fold entry of ``row`` (a model row of the results folder
    ``results``, or of the folder holding that results.json), read from its folds' result.json;
    the seed is the one the fold used (``seed_everything``, else its --seeds value)."""
    folder = Path(results)
    if folder.is_file():
        folder = folder.parent
    data = row.to_dict() if hasattr(row, "to_dict") else dict(row)
    n_entries = len(data.get("folds") or [])
    seeds, folds = data.get("seeds"), data.get("fold_ids")
    if not isinstance(seeds, list) or not isinstance(folds, list) or not (
            len(seeds) == len(folds) == n_entries):
        return Replicas(None, f"{folder}: the model row does not list each entry's seed and fold")
    keys = []
    for seed, fold in zip(seeds, folds):
        file = fold_result_file(folder, seed, fold)
        try:
            result = read_json(file, "fold result")
        except VsumError:
            return Replicas(None, f"{file} is missing or unreadable")
        split = result.get("split") if isinstance(result, Mapping) else None
        if not isinstance(split, Mapping) or not split.get("digest"):
            return Replicas(None, f"{file} records no split (written before split records)")
        used = result.get("seeds") if isinstance(result.get("seeds"), Mapping) else {}
        effective = used.get("seed_everything")
        keys.append((str(split["digest"]), effective if effective is not None else seed))
    return Replicas(tuple(keys))
