"""Welch's t-test over CV rounds that each live in their own results folder.

``vsumlab cv --seeds 0,1,2`` repeats the CV with other fine-tuning seeds only: the folds (split
seed) and, for methods with a pretraining stage, the pretrained weights stay the same, so the
rounds' spread understates what varies between two independent runs of a study. A study that
varies those too runs one ``vsumlab cv`` per round (its own ``--data.init_args.split_seed``,
``--seeds`` and, for ViSP, ``--pretrain.seed_everything``) into its own folder; this module pools
such folders into one sample of round scores per method and tests them (``make compare-visp-*``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vsumlab.errors import VsumError
from vsumlab.evaluation.significance import (
    METRICS,
    compare_rounds,
    format_comparison,
    model_row,
)


def pooled_row(folders: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """One results row whose rounds are every (folder, seed) pair of the folders' model rows;
    ``split_seeds`` lists the split seed of each round (None where not recorded)."""
    if not folders:
        raise VsumError("no results folders given")
    folds: list[Mapping[str, Any]] = []
    labels: list[str] = []
    split_seeds: dict[str, Any] = {}
    names = set()
    for folder in folders:
        row = model_row(folder)
        names.add(str(row.get("name", "model")))
        entries = row.get("folds") or []
        seeds = row.get("seeds") or [None] * len(entries)
        used = row.get("seeds_used") or [None] * len(entries)
        for entry, seed, seeds_used in zip(entries, seeds, used):
            label = f"{Path(folder).name}/seed={seed}"
            folds.append(entry)
            labels.append(label)
            split = (seeds_used or {}).get("split_seed") if isinstance(seeds_used, Mapping) else None
            split_seeds.setdefault(label, split)
    return {
        "name": " + ".join(sorted(names)),
        "folds": folds,
        "seeds": labels,
        "split_seeds": list(split_seeds.values()),
    }


def compare_round_folders(
    base: Sequence[str | os.PathLike],
    other: Sequence[str | os.PathLike],
    metrics: Sequence[str] = METRICS,
) -> str:
    """Welch's t-test table between two methods, each given as folders of CV rounds."""
    base_row, other_row = pooled_row(base), pooled_row(other)
    table = format_comparison(
        str(base_row["name"]), str(other_row["name"]), compare_rounds(base_row, other_row, metrics)
    )
    note = (
        f"\nRounds: base split seeds {base_row['split_seeds']}, "
        f"other split seeds {other_row['split_seeds']}\n"
    )
    return table + note
