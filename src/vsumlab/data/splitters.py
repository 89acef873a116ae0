"""The splitters :class:`~vsumlab.data.standard_h5.SummarizationDataModule` builds from its
arguments (:class:`vsumlab.data.contract.Splitter`): generated folds of a setting, or a file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vsumlab.data.contract import IndexedDataset
from vsumlab.data.split_choices import RANDOM, SplitChoice
from vsumlab.data.split_files import DatasetKeys, read_split_file
from vsumlab.data.splits import Split, setting_splits
from vsumlab.errors import ConfigError


@dataclass(frozen=True)
class SettingSplitter:
    """The setting's k folds of the target (``canonical``) or N random 80/20 draws."""

    setting: str
    choice: SplitChoice
    n_folds: int = 5
    seed: int = 0

    def spec(self) -> str:
        if self.choice.kind == RANDOM:
            return self.choice.spec()
        return f"canonical:{self.n_folds}:{self.seed}"

    def splits(self, datasets: Mapping[str, IndexedDataset]) -> list[Split]:
        target = next(iter(datasets.values()))
        n_videos = len(target.keys)
        where = f"{target.path} has {n_videos} video(s)"
        if self.choice.kind == RANDOM:
            if n_videos < 2:
                raise ConfigError(f"data.splits={self.choice.spec()}: random 80/20 splits need "
                                  f"at least 2 target videos (one trains, one tests); {where}")
        elif self.setting in ("canonical", "augmented") and not 2 <= self.n_folds <= n_videos:
            raise ConfigError(f"data.n_folds={self.n_folds}: k-fold needs between 2 folds and "
                              f"one fold per target video; {where}")
        random = (self.choice.n_splits, self.choice.seed) if self.choice.kind == RANDOM else None
        return setting_splits(self.setting, target.name,
                              {name: data.keys for name, data in datasets.items()},
                              n_folds=self.n_folds, seed=self.seed, random=random)


@dataclass(frozen=True)
class FileSplitter:
    """The splits of a file in any form :func:`vsumlab.data.split_files.read_split_file` reads
    (a Mr. HiSum split object too: one split with its own validation videos)."""

    path: str

    def spec(self) -> str:
        return str(self.path)

    def splits(self, datasets: Mapping[str, IndexedDataset]) -> list[Split]:
        loaded = [DatasetKeys(name, data.path, data.keys, data.attrs.get("annotation_style"))
                  for name, data in datasets.items()]
        splits, _ = read_split_file(self.path, loaded)
        return splits
