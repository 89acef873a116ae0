"""What the rest of vsumlab asks of a data module whose videos are scored: one contract.

Training (:mod:`vsumlab.training.scoring`), ``vsumlab cv`` (:mod:`vsumlab.training.cv`,
:mod:`vsumlab.training.plan`, :mod:`vsumlab.training.split_records`) and the replica engine
(:mod:`vsumlab.training.replicas`) used to probe a data module member by member (``hasattr``,
``getattr``); these are those members, in one place. A user's own data module implements
:class:`ScoredDataModule` (``isinstance`` checks that every member is there) and is then trained,
scored and cross-validated like :class:`vsumlab.data.standard_h5.SummarizationDataModule`.

Splitting is a component: a :class:`Splitter` turns the loaded datasets' keys into the folds;
:class:`~vsumlab.data.standard_h5.SummarizationDataModule` builds one from its arguments
(:mod:`vsumlab.data.splitters`) and takes another one assigned to ``splitter`` before its
folds are first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vsumlab.data.schema import VideoRecord
from vsumlab.data.splits import Split


@runtime_checkable
class IndexedDataset(Protocol):
    """One dataset file as the metrics and the data module see it, read or indexed
    (:class:`vsumlab.data.schema.Dataset`, :class:`vsumlab.data.lazy.H5Dataset`)."""

    attrs: dict[str, Any]
    path: Path | None

    @property
    def name(self) -> str: ...

    @property
    def keys(self) -> list[str]: ...

    @property
    def layout(self) -> str: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: str) -> VideoRecord: ...

    def fields_of(self, key: str) -> frozenset[str]: ...

    def any_field(self, name: str) -> bool: ...


@runtime_checkable
class Splitter(Protocol):
    """Folds from the loaded datasets' keys (target first; plain keys when only the target is
    loaded, ``<dataset>/<key>`` otherwise)."""

    def splits(self, datasets: Mapping[str, IndexedDataset]) -> list[Split]: ...

    def spec(self) -> str:
        """What the splits are, for the run's records (e.g. ``canonical:5:0``)."""
        ...


@runtime_checkable
class ScoredDataModule(Protocol):
    """The members training, scoring, ``cv`` and replicas use (a LightningDataModule also gives
    ``hparams`` and the ``*_dataloader`` methods, whose batches are padded videos:
    :func:`vsumlab.data.standard_h5.collate_videos`)."""

    #: the target file (named in feature-width errors and used as the scoring source)
    dataset_path: str
    #: the split file, when the folds come from one (``cv`` pins such folds)
    split_file: str | None
    #: the run's seed; the training order is a function of it and the epoch
    shuffle_seed: int
    hparams: Any

    @property
    def target(self) -> IndexedDataset:
        """The dataset whose videos are the test folds (its ``attrs`` say the encoder)."""
        ...

    @property
    def qualified(self) -> bool:
        """Whether keys are ``<dataset>/<key>`` (more than one dataset loaded)."""
        ...

    @property
    def feature_dim(self) -> int: ...

    @property
    def keys(self) -> dict[str, list[str]]:
        """``train``, ``val`` and ``test`` video keys of this fold."""
        ...

    @property
    def split_source(self) -> str:
        """``canonical``, ``random`` or ``file``."""
        ...

    def records_for(self, stage: str) -> Mapping[str, VideoRecord]:
        """The annotations of a stage's videos (``train``/``val``/``test``/``all``), by key:
        what scoring needs; features may stay on disk."""
        ...

    def record(self, key: str) -> VideoRecord: ...

    def splits(self) -> list[Split]: ...

    def split_record(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...

    def reuse_datasets(self, other: Any) -> bool:
        """Take ``other``'s already-indexed datasets when they are the same files."""
        ...

    def train_dataloader(self) -> Any: ...

    def val_dataloader(self) -> Any: ...

    def test_dataloader(self) -> Any: ...


def stage_keys(keys: Mapping[str, Sequence[str]], stage: str) -> list[str]:
    """A stage's keys; ``all`` is train, val and test in that order."""
    if stage == "all":
        return [*keys["train"], *keys["val"], *keys["test"]]
    return list(keys[stage])
