"""Train/test splits: deterministic k-fold, the common JSON form, and the four settings.

Settings (../docs/EVALUATION.md), for a ``target`` dataset among named ``datasets``:

* ``canonical``: k-fold within the target (every target video is tested exactly once).
* ``augmented``: the canonical folds, each training set extended by ALL videos of the other
  datasets.
* ``transfer``: one split, train on all videos of the other datasets, test on all target videos.
* ``zero_shot``: one split, no training videos at all, test on all target videos.

Canonical and augmented folds may instead be random 80/20 splits (:func:`random_splits`, chosen
with ``data.splits: random:N[:SEED]``, see :mod:`vsumlab.data.split_choices`).

Keys are plain (``video_3``) when ``datasets`` holds only the target and qualified
(``"<dataset name>/video_3"``, see :func:`qualify`) whenever it holds more than one dataset, in
every setting, so a consumer can tell the form from the datasets it loaded alone.

Split files (``data.split_file``, ``vsumlab data splits --from``) come in three forms, read by
:mod:`vsumlab.data.split_files`:

* the common JSON form ``[{"train_keys": [...], "test_keys": [...]}, ...]`` (written by
  :func:`write_splits`; plain or qualified keys);
* DSNet YAML: the same list with each key prefixed by its h5 file's path,
  ``../datasets/eccv16_dataset_tvsum_google_pool5.h5/video_35``, also mixing datasets (DSNet's
  augmented and transfer files); each prefix maps to the configured dataset of that file name;
* CSTA text, one line per split: ``TVSum/split0/<train keys, comma-separated>/<test keys>``;
  the label (``TVSum``, ``SumMe``) names the target dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vsumlab.errors import ConfigError, DatasetError
from vsumlab.io import check_writable, parse_json, write_json_atomic

SETTINGS = ("canonical", "augmented", "transfer", "zero_shot")


@dataclass(frozen=True)
class Split:
    """One fold: the videos to train on and the videos to test on (disjoint)."""

    train_keys: list[str]
    test_keys: list[str]
    #: the split's own validation videos (a Mr. HiSum split file), else None: the data module
    #: then holds validation videos out of ``train_keys``
    val_keys: list[str] | None = None

    def to_dict(self) -> dict[str, list[str]]:
        lists = {"train_keys": list(self.train_keys), "test_keys": list(self.test_keys)}
        if self.val_keys is not None:
            lists["val_keys"] = list(self.val_keys)
        return lists


def qualify(dataset: str, key: str) -> str:
    """``"<dataset>/<key>"``: unique across datasets that all number videos video_1..N."""
    return f"{dataset}/{key}"


def unqualify(qualified: str) -> tuple[str | None, str]:
    """``(dataset, key)`` of a qualified key, ``(None, key)`` of a plain one."""
    if "/" not in qualified:
        return None, qualified
    dataset, key = qualified.rsplit("/", 1)
    return dataset, key


def _check_keys(keys: Sequence[str], what: str) -> list[str]:
    keys = [str(k) for k in keys]
    duplicates = sorted(k for k, n in Counter(keys).items() if n > 1)
    if duplicates:
        raise ConfigError(f"{what}: duplicate video keys {', '.join(duplicates[:5])}")
    return keys


def kfold_splits(keys: Sequence[str], n_folds: int = 5, seed: int = 0) -> list[Split]:
    """Disjoint folds of a seeded permutation; fold sizes differ by at most one.

    Each test fold and training set keeps the order of ``keys``, so output is stable to read.
    """
    keys = _check_keys(keys, "k-fold splits")
    if not 2 <= n_folds <= len(keys):
        raise ConfigError(
            f"k-fold splits: n_folds={n_folds} must be between 2 and the number of videos "
            f"({len(keys)})"
        )
    order = np.random.default_rng(seed).permutation(len(keys))
    fold_of = np.empty(len(keys), dtype=np.int64)
    for fold, members in enumerate(np.array_split(order, n_folds)):
        fold_of[members] = fold
    return [
        Split(
            train_keys=[k for k, f in zip(keys, fold_of) if f != fold],
            test_keys=[k for k, f in zip(keys, fold_of) if f == fold],
        )
        for fold in range(n_folds)
    ]


def random_split_sizes(n_videos: int) -> tuple[int, int]:
    """``(n_train, n_test)`` of one random 80/20 split of ``n_videos`` videos.

    ``n_train = ceil(0.8 * n)`` as in create_split.py (Zhou et al., pytorch-vsumm-reinforce), whose
    splits PGL-SUM and CA-SUM ship (SumMe 25 -> 20/5, TVSum 50 -> 40/10), computed in integers
    (``ceil(4n / 5)``); at least one video is tested, so 2 to 4 videos split ``n - 1`` / 1.
    """
    if n_videos < 2:
        raise ConfigError(
            f"random 80/20 splits need at least 2 videos (one to train, one to test), got {n_videos}"
        )
    n_train = min(-(-4 * n_videos // 5), n_videos - 1)
    return n_train, n_videos - n_train


def random_splits(keys: Sequence[str], n_splits: int, seed: int = 0) -> list[Split]:
    """``n_splits`` random 80/20 splits, each an independent draw (Apostolidis et al.).

    Split ``i`` draws its test videos without replacement from a generator seeded with
    ``[seed, i]``: the draws are independent (test sets of two splits may overlap; a video may be
    tested in no split), deterministic, and the first ``m`` splits of ``n`` are those of ``m``.
    Both lists keep the order of ``keys``.
    """
    keys = _check_keys(keys, "random splits")
    if n_splits < 1:
        raise ConfigError(f"random splits: expected at least 1 split, got {n_splits}")
    if seed < 0:
        raise ConfigError(f"random splits: the seed must be >= 0, got {seed}")
    _, n_test = random_split_sizes(len(keys))
    splits = []
    for index in range(n_splits):
        rng = np.random.default_rng([seed, index])
        tested = set(rng.choice(len(keys), size=n_test, replace=False).tolist())
        splits.append(Split(train_keys=[k for i, k in enumerate(keys) if i not in tested],
                            test_keys=[k for i, k in enumerate(keys) if i in tested]))
    return splits


def split_digest(split: Split) -> str:
    """A digest of a split's train and test videos (order-free): equal digests, equal splits."""
    keys = {"train_keys": sorted(split.train_keys), "test_keys": sorted(split.test_keys)}
    if split.val_keys is not None:  # splits without their own validation keep their digests
        keys["val_keys"] = sorted(split.val_keys)
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def _parse_split(entry: Any, where: str) -> Split:
    if not isinstance(entry, dict):
        raise DatasetError(
            f'{where}: expected an object {{"train_keys": [...], "test_keys": [...]}}, '
            f"got {type(entry).__name__}"
        )
    lists = {}
    for name in ("train_keys", "test_keys"):
        value = entry.get(name)
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise DatasetError(f"{where} field '{name}': expected a list of video key strings")
        lists[name] = value
    if not lists["test_keys"]:
        raise DatasetError(f"{where} field 'test_keys': expected at least one video")
    for name in ("train_keys", "test_keys"):
        try:
            _check_keys(lists[name], f"{where} field '{name}'")
        except ConfigError as exc:
            raise DatasetError(str(exc)) from exc
    overlap = sorted(set(lists["train_keys"]) & set(lists["test_keys"]))
    if overlap:
        raise DatasetError(
            f"{where}: keys in both train_keys and test_keys: {', '.join(overlap[:5])}"
        )
    return Split(train_keys=lists["train_keys"], test_keys=lists["test_keys"])


def parse_split_list(data: Any, path: str | os.PathLike) -> list[Split]:
    """Splits of a parsed JSON/YAML list of ``{"train_keys", "test_keys"}`` (keys as written)."""
    if not isinstance(data, list) or not data:
        raise DatasetError(
            f'{path}: expected a non-empty list [{{"train_keys": [...], "test_keys": [...]}}, ...]'
        )
    return [_parse_split(entry, f"{path}: split {i}") for i, entry in enumerate(data)]


def read_splits(path: str | os.PathLike, keys: Sequence[str] | None = None) -> list[Split]:
    """Read the common JSON form as written; with ``keys``, every key must be one of them.

    Split files of other code bases, and keys checked against loaded datasets, are
    :func:`vsumlab.data.split_files.read_split_file`.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such splits file")
    try:
        data = parse_json(path.read_text(encoding="utf-8"), path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not a JSON splits file ({exc})") from exc
    except ConfigError as exc:  # not JSON, or a key twice (json would keep the last silently)
        raise DatasetError(f"{path}: not a JSON splits file: "
                           f"{str(exc).removeprefix(f'{path}: ')}") from exc
    splits = parse_split_list(data, path)
    if keys is not None:
        known = set(keys)
        for i, split in enumerate(splits):
            for name in ("train_keys", "test_keys"):
                unknown = [k for k in getattr(split, name) if k not in known]
                if unknown:
                    raise DatasetError(
                        f"{path}: split {i} field '{name}': unknown video keys "
                        f"{', '.join(unknown[:5])} (the dataset has {len(known)} videos)"
                    )
    return splits


def write_splits(path: str | os.PathLike, splits: Sequence[Split], force: bool = False) -> Path:
    """Write the common JSON form atomically; refuse to overwrite without ``force``."""
    path = check_writable(path, force)
    write_json_atomic(path, [split.to_dict() for split in splits])
    return path


def setting_splits(
    setting: str,
    target: str,
    datasets: Mapping[str, Sequence[str]],
    n_folds: int = 5,
    seed: int = 0,
    random: tuple[int, int] | None = None,
) -> list[Split]:
    """Splits of ``setting`` for ``target``; ``datasets`` maps dataset names to their keys.

    ``random``: ``(n_splits, seed)`` draws :func:`random_splits` of the target instead of the
    ``n_folds`` k-fold (canonical and augmented only: transfer and zero-shot have one split).
    """
    if setting not in SETTINGS:
        raise ConfigError(f"setting {setting!r} is unknown; expected one of {', '.join(SETTINGS)}")
    if target not in datasets:
        raise ConfigError(
            f"target dataset {target!r} is not among the datasets given: {', '.join(datasets)}"
        )
    target_keys = _check_keys(datasets[target], f"dataset {target!r}")
    if not target_keys:
        raise ConfigError(f"target dataset {target!r} has no videos")
    others = [name for name in datasets if name != target]
    if setting in ("augmented", "transfer") and not others:
        raise ConfigError(
            f"setting {setting!r} trains on datasets other than {target!r}; none were given"
        )

    def q(name: str, keys: Sequence[str]) -> list[str]:
        return [qualify(name, k) for k in keys] if others else list(keys)

    other_keys = [key for name in others for key in q(name, datasets[name])]
    if random is not None and setting in ("transfer", "zero_shot"):
        raise ConfigError(
            f"setting {setting!r} has one fixed split (all target videos test); random splits "
            "apply to the canonical and augmented settings"
        )
    if setting == "zero_shot":
        return [Split(train_keys=[], test_keys=q(target, target_keys))]
    if setting == "transfer":
        return [Split(train_keys=other_keys, test_keys=q(target, target_keys))]
    extra = other_keys if setting == "augmented" else []
    folds = (random_splits(target_keys, *random) if random is not None
             else kfold_splits(target_keys, n_folds, seed))
    return [
        Split(train_keys=q(target, fold.train_keys) + extra, test_keys=q(target, fold.test_keys))
        for fold in folds
    ]
