"""LightningDataModules over standard h5 files for the settings of EVALUATION.md.

One module covers canonical, augmented, transfer and zero-shot settings: the target dataset
gives the test fold; other datasets join the training set where the setting says so. A
validation subset is carved from the training videos (never from the test fold) for model
selection, unless the labelled ``best_test`` comparison mode is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vsumlab.data.contract import Splitter
from vsumlab.data.lazy import H5Dataset
from vsumlab.data.schema import VideoRecord, missing_fields
from vsumlab.data.shuffling import EpochShuffle
from vsumlab.data.split_choices import RANDOM, SplitChoice, parse_split_choice
from vsumlab.data.splits import Split, split_digest
from vsumlab.data.splitters import FileSplitter, SettingSplitter
from vsumlab.data.uses import require_evaluable
from vsumlab.errors import ConfigError

SETTINGS = ("canonical", "augmented", "transfer", "zero_shot")
VAL_SOURCES = ("train_subset", "test")


def normalise_scores(values: np.ndarray) -> np.ndarray:
    """Min-max normalise per video so every dataset's gtscore lies in [0, 1]."""
    values = np.asarray(values, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values)
    return (values - low) / (high - low)


class VideoFeatureDataset(Dataset):
    """Per-video items: features (T, D), normalised gtscore (T,), key."""

    def __init__(self, records: Sequence[tuple[str, VideoRecord]]):
        self.items = list(records)

    def __len__(self) -> int:
        return len(self.items)

    def gtscore(self, record: VideoRecord) -> torch.Tensor:
        """The item's ``gtscore`` (T,): the record's, min-max normalised (zeros without one)."""
        gtscore = record.gtscore if record.gtscore is not None else np.zeros(record.n_steps)
        return torch.from_numpy(normalise_scores(gtscore))

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, record = self.items[index]
        return {
            "key": key,
            "features": torch.from_numpy(np.asarray(record.features, dtype=np.float32)),
            "gtscore": self.gtscore(record),
        }


class LazyVideoFeatureDataset(Dataset):
    """Per-video items as :class:`VideoFeatureDataset`'s, read from the file when asked for:
    each item is (key, lazy dataset, key in that dataset); a worker reopens the files itself."""

    def __init__(self, items: Sequence[tuple[str, H5Dataset, str]]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, source, plain = self.items[index]
        features = source.features(plain)
        gtscore = source.gtscore(plain)
        if gtscore is None:
            gtscore = np.zeros(features.shape[0], dtype=np.float32)
        return {
            "key": key,
            "features": torch.from_numpy(features),
            "gtscore": torch.from_numpy(normalise_scores(gtscore)),
        }


def pad_videos(
    items: Sequence[Mapping[str, Any]], per_step: Sequence[str] = ()
) -> dict[str, Any]:
    """Pad variable-length videos to the longest: ``features`` (B, T, D), ``mask`` (B, T) True on
    valid steps, each ``per_step`` field (B, T) zero-padded, ``keys`` and ``n_steps``."""
    lengths = torch.tensor([item["features"].shape[0] for item in items], dtype=torch.long)
    batch, longest = len(items), int(lengths.max())
    dim = items[0]["features"].shape[1]
    features = torch.zeros(batch, longest, dim)
    padded = {name: torch.zeros(batch, longest) for name in per_step}
    mask = torch.zeros(batch, longest, dtype=torch.bool)
    for row, item in enumerate(items):
        n = item["features"].shape[0]
        features[row, :n] = item["features"]
        for name, values in padded.items():
            values[row, :n] = item[name]
        mask[row, :n] = True
    return {
        "features": features,
        "mask": mask,
        **padded,
        "keys": [item["key"] for item in items],
        "n_steps": lengths,
    }


def collate_videos(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pad variable-length videos; ``mask`` is True on valid steps."""
    return pad_videos(items, ("gtscore",))


class SummarizationDataModule(L.LightningDataModule):
    """Folds of a standard h5 dataset (plus other datasets for augmented/transfer settings).

    Args:
        dataset: path of the target dataset (its videos are the test folds).
        extra_datasets: other datasets' paths, used for training in the augmented and transfer
            settings (labels of all videos are used; nothing of the target's test fold). They
            may be train-only (features + gtscore, like the published OVP/YouTube files); the
            target must be evaluable, and validation videos are drawn from evaluable ones.
        setting: canonical | augmented | transfer | zero_shot.
        n_folds, fold, split_seed: deterministic disjoint folds of the target videos
            (``split_seed`` also seeds each fold's validation draw, whatever the splits).
        splits: ``canonical`` (default, None: the setting's folds above) or ``random:N[:SEED]``:
            N random 80/20 splits of the target videos, each an independent draw as Apostolidis
            et al. draw theirs (test sets may overlap; SEED defaults to 0; see
            :mod:`vsumlab.data.split_choices`); augmented extends each split's training videos
            with the other datasets; transfer and zero_shot have one fixed split and refuse it.
            ``vsumlab cv --splits`` sets it (or ``split_file``); give one of the two.
        split_file: splits from a file instead of generated folds: the common JSON form, a
            DSNet YAML file (keys prefixed by h5 file paths, mapped to ``dataset`` and
            ``extra_datasets`` by file name) or a CSTA text file (see
            :mod:`vsumlab.data.split_files`); it fixes every fold's train and test videos.
        val_fraction: share of training videos held out for validation / model selection.
        val_source: ``train_subset`` (default) or ``test``: the literature's "best test epoch"
            comparison mode, which looks at the test fold and must be labelled as such; no
            training video is held out then (``vsumlab cv`` sets it for
            ``protocol.model_selection: best_test``, e.g. the dsnet and csta presets).
        train_fraction: share of the remaining training videos used (data-size studies).
        train_share: share of ALL the target's videos that train (Cap2Sum's "sup. p% videos":
            p/100, at most the fold's training share, 0.8 with 5 folds); the first
            ``round(p * N)`` (half up) of the fold's shuffled target training videos train,
            validation comes only from the fold's other training videos (none at 0.8: then
            model selection can only be the last epoch). Videos of extra datasets all train.
        batch_size, num_workers: loader settings; batches pad variable-length videos.
        predict_split: which videos ``predict`` scores: test | train | val | all.
    """

    def __init__(
        self,
        dataset: str,
        extra_datasets: list[str] | None = None,
        setting: str = "canonical",
        n_folds: int = 5,
        fold: int = 0,
        split_seed: int = 0,
        split_file: str | None = None,
        splits: str | None = None,
        val_fraction: float = 0.2,
        val_source: str = "train_subset",
        train_fraction: float = 1.0,
        train_share: float | None = None,
        batch_size: int = 4,
        num_workers: int = 0,
        predict_split: str = "test",
    ) -> None:
        super().__init__()
        if setting not in SETTINGS:
            raise ConfigError(f"data.setting={setting!r} is unknown; expected one of {SETTINGS}")
        if val_source not in VAL_SOURCES:
            raise ConfigError(
                f"data.val_source={val_source!r} is unknown; expected one of {VAL_SOURCES}"
            )
        if predict_split not in ("test", "train", "val", "all"):
            raise ConfigError(f"data.predict_split={predict_split!r} is unknown")
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={val_fraction} must be in [0, 1)")
        if not 0.0 < train_fraction <= 1.0:
            raise ConfigError(f"data.train_fraction={train_fraction} must be in (0, 1]")
        if train_share is not None:
            if not 0.0 < train_share < 1.0:
                raise ConfigError(f"data.train_share={train_share} must be in (0, 1)")
            if train_fraction < 1.0:
                raise ConfigError(
                    "data.train_share and data.train_fraction both subsample the training "
                    "videos; give one of them"
                )
            if setting not in ("canonical", "augmented"):
                raise ConfigError(
                    f"data.train_share: setting '{setting}' trains on no target video"
                )
        if setting in ("augmented", "transfer") and not extra_datasets:
            raise ConfigError(f"data.setting={setting} needs data.extra_datasets")
        choice = _split_choice(splits, split_file, setting)
        self.save_hyperparameters()
        self.dataset_path = dataset
        self.extra_paths = list(extra_datasets or [])
        self.setting = setting
        self.n_folds = n_folds
        self.fold = fold
        self.split_seed = split_seed
        self.split_file = split_file
        self.split_choice = choice
        self.val_fraction = val_fraction
        self.val_source = val_source
        self.train_fraction = train_fraction
        self.train_share = train_share
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.predict_split = predict_split
        self._datasets: dict[str, H5Dataset] | None = None
        self._keys: dict[str, list[str]] | None = None
        self._splits: list[Split] | None = None
        self._splitter: Splitter | None = None
        # the run's seed (seed_everything seeds torch before the data module is built): the
        # training order is a function of it and the epoch only (see vsumlab.data.shuffling)
        self.shuffle_seed = torch.initial_seed()

    # ----------------------------------------------------------------- datasets and keys
    @property
    def datasets(self) -> dict[str, H5Dataset]:
        """Target first, then extra datasets, by dataset name (indexed once; every video is
        checked then, one at a time, and read again only when a loader or scoring asks)."""
        if self._datasets is None:
            datasets: dict[str, H5Dataset] = {}
            for position, path in enumerate([self.dataset_path, *self.extra_paths]):
                data = H5Dataset(path)
                if position == 0:
                    # the target's videos are the test folds: they must be scorable
                    require_evaluable(data, "data.dataset")
                if data.name in datasets:
                    raise ConfigError(
                        f"{path}: dataset name '{data.name}' is used by two files; "
                        "each dataset needs its own dataset_name"
                    )
                datasets[data.name] = data
            self._datasets = datasets
        return self._datasets

    def reuse_datasets(self, other: Any) -> bool:
        """Take the datasets ``other`` (another fold of the same data) has already read, so a
        cross-validation indexes its files once; only when both name the same files."""
        same = (isinstance(other, SummarizationDataModule) and other._datasets is not None
                and [self.dataset_path, *self.extra_paths]
                == [other.dataset_path, *other.extra_paths])
        if same and self._datasets is None:
            self._datasets = other._datasets
        return same

    @property
    def target(self) -> H5Dataset:
        return next(iter(self.datasets.values()))

    @property
    def qualified(self) -> bool:
        """Keys carry the dataset name when more than one dataset is involved."""
        return len(self.datasets) > 1

    @property
    def feature_dim(self) -> int:
        dims = {name: data.feature_dim for name, data in self.datasets.items()}
        if len(set(dims.values())) > 1:
            raise ConfigError(f"datasets have different feature dimensions: {dims}")
        return next(iter(dims.values()))

    def source(self, key: str) -> tuple[H5Dataset, str]:
        """The dataset holding video ``key`` and its key there; ConfigError on an unknown key."""
        if self.qualified:
            name, _, plain = key.partition("/")
            data = self.datasets.get(name)
        else:
            data, plain = self.target, key
        if data is None or plain not in data:
            raise ConfigError(f"video '{key}' is in no configured dataset "
                              f"({', '.join(self.datasets)})")
        return data, plain

    def record(self, key: str) -> VideoRecord:
        """Video ``key``'s annotations, read now; its features are read only if asked for."""
        data, plain = self.source(key)
        return data.annotations(plain)

    def _fields(self, key: str) -> frozenset[str]:
        data, plain = self.source(key)
        return data.fields_of(plain)

    @property
    def split_source(self) -> str:
        """Where the splits come from: ``canonical``, ``random`` or ``file``."""
        return "file" if self.split_file is not None else self.split_choice.kind

    def splits(self) -> list[Split]:
        """Every fold's split (read or drawn once)."""
        if self._splits is None:
            self._splits = self._make_splits()
        if not 0 <= self.fold < len(self._splits):
            source = (f"split file {self.split_file}" if self.split_file is not None
                      else f"setting '{self.setting}'")
            raise ConfigError(
                f"data.fold={self.fold} is out of range: {source} has {len(self._splits)} fold(s)"
            )
        return self._splits

    @property
    def splitter(self) -> Splitter:
        """The component that makes the folds: built from the arguments (a split file, else
        the setting's folds); another one may be assigned before the folds are first read."""
        if self._splitter is None:
            self._splitter = (FileSplitter(self.split_file) if self.split_file is not None
                              else SettingSplitter(self.setting, self.split_choice,
                                                   self.n_folds, self.split_seed))
        return self._splitter

    @splitter.setter
    def splitter(self, splitter: Splitter) -> None:
        if self._splits is not None:
            raise ConfigError("the folds are already made: assign data.splitter before use")
        self._splitter = splitter

    def _make_splits(self) -> list[Split]:
        return self.splitter.splits(self.datasets)

    def split_record(self) -> dict[str, Any]:
        """Which split this fold is: its source, index and a digest of its train/test videos
        (equal digests, identical splits: what pairs two runs' folds)."""
        splits = self.splits()
        source = self.split_source
        choice = {"file": str(self.split_file), "random": self.split_choice.spec(),
                  "canonical": f"canonical:{self.n_folds}:{self.split_seed}"}[source]
        return {"source": source, "choice": choice, "setting": self.setting,
                "index": self.fold, "of": len(splits), "digest": split_digest(splits[self.fold])}

    @property
    def keys(self) -> dict[str, list[str]]:
        """Video keys of each stage: train, val, test (fixed for a fold and seed)."""
        if self._keys is None:
            split = self.splits()[self.fold]
            train = list(split.train_keys)
            rng = np.random.default_rng(self.split_seed * 1000 + self.fold)
            shuffled = [train[i] for i in rng.permutation(len(train))]
            if split.val_keys is not None and self.val_source != "test":
                # the split file fixes the validation videos (Mr. HiSum's val_keys)
                val, rest = list(split.val_keys), shuffled
            elif self.train_share is not None:
                # target videos only (always evaluable) validate here
                val, rest = self._share_of_target(shuffled)
            else:
                n_val = int(round(self.val_fraction * len(train)))
                if self.val_source == "test":
                    n_val = 0  # the test videos validate: every training video trains, as there
                elif self.val_fraction > 0 and len(train) >= 2:
                    n_val = max(1, min(n_val, len(train) - 1))
                # train-only videos (the published OVP/YouTube files) cannot be scored: validation
                # takes evaluable ones only (the same draw as before when all are evaluable)
                scorable = [k for k in shuffled if not missing_fields(self._fields(k), "evaluate")]
                val = scorable[: min(n_val, len(scorable))]
                held_out = set(val)
                rest = [k for k in shuffled if k not in held_out]
                if self.train_fraction < 1.0 and rest:
                    rest = rest[: max(1, int(round(self.train_fraction * len(rest))))]
            # the split's order (a position table: tens of thousands of videos stay linear)
            position = {key: i for i, key in enumerate(train)}
            train_keys = sorted(rest, key=position.__getitem__)
            val_keys = (list(val) if split.val_keys is not None
                        else sorted(val, key=position.__getitem__))
            if self.val_source == "test":
                val_keys = list(split.test_keys)
            self._keys = {"train": train_keys, "val": val_keys, "test": list(split.test_keys)}
            for key in self._keys["test"]:
                self.source(key)  # fail early on split files naming unknown videos
        return self._keys

    def _is_target(self, key: str) -> bool:
        return not self.qualified or key.partition("/")[0] == self.target.name

    def _share_of_target(self, shuffled: list[str]) -> tuple[list[str], list[str]]:
        """(val, train) for ``train_share``: p of ALL target videos train; validation only from
        the fold's remaining target training videos (never the test fold)."""
        assert self.train_share is not None
        target = [k for k in shuffled if self._is_target(k)]
        extra = [k for k in shuffled if not self._is_target(k)]
        n_all = len(self.target.keys)
        n_train = int(math.floor(self.train_share * n_all + 0.5))
        if not 1 <= n_train <= len(target):
            raise ConfigError(
                f"data.train_share={self.train_share}: {n_train} of the {n_all} target videos "
                f"should train, but fold {self.fold} has {len(target)} target training videos"
            )
        left = target[n_train:]
        n_val = min(len(left), int(round(self.val_fraction * len(target))))
        if self.val_fraction > 0 and left:
            n_val = max(1, n_val)
        return left[:n_val], target[:n_train] + extra

    def records_for(self, stage: str) -> dict[str, VideoRecord]:
        """Records of a stage's videos, by key (what the evaluation metrics need): their
        annotations, read now; features stay on disk until asked for."""
        if stage == "all":
            keys = [*self.keys["train"], *self.keys["val"], *self.keys["test"]]
        else:
            keys = self.keys[stage]
        return {key: self.record(key) for key in keys}

    # ----------------------------------------------------------------- loaders
    def _loader(self, stage: str, shuffle: bool) -> DataLoader:
        if stage == "all":
            keys = [*self.keys["train"], *self.keys["val"], *self.keys["test"]]
        else:
            keys = self.keys[stage]
        dataset = LazyVideoFeatureDataset([(key, *self.source(key)) for key in keys])
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=EpochShuffle(dataset, self.shuffle_seed) if shuffle else None,
            num_workers=self.num_workers,
            collate_fn=collate_videos,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if not self.keys["train"]:
            raise ConfigError(f"setting '{self.setting}' has no training videos")
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.keys["val"] else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_split, shuffle=False)

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": str(Path(self.dataset_path)),
            "setting": self.setting,
            "split_file": self.split_file,
            "splits": self.split_choice.spec() if self.split_file is None else None,
            "fold": self.fold,
            "n_train": len(self.keys["train"]),
            "n_val": len(self.keys["val"]),
            "n_test": len(self.keys["test"]),
            "val_source": self.val_source,
            "train_share": self.train_share,
        }


def _split_choice(splits: str | None, split_file: str | None, setting: str) -> SplitChoice:
    """``data.splits`` parsed and checked against ``split_file`` and ``setting``."""
    if splits is None:
        return SplitChoice("canonical")
    choice = parse_split_choice(splits, "data.splits", files=False)
    if split_file is not None:
        raise ConfigError(
            f"data.splits={splits} and data.split_file={split_file} both choose the splits; give "
            "one (vsumlab cv --splits sets either)"
        )
    if choice.kind == RANDOM and setting in ("transfer", "zero_shot"):
        raise ConfigError(
            f"data.splits={choice.spec()}: setting '{setting}' has one fixed split (train on the "
            "other datasets or not at all, test on every target video); random splits apply to "
            "the canonical and augmented settings"
        )
    return choice
