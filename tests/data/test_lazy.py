"""The lazy h5 dataset: an index once, arrays on demand, every check of read_dataset kept,
workers reopen the file, and a fold's scoring reads only its test videos' annotations."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vsumlab.data.contract import ScoredDataModule, Splitter
from vsumlab.data.lazy import H5Dataset
from vsumlab.data.schema import VideoRecord, read_dataset, write_dataset
from vsumlab.data.splits import Split
from vsumlab.data.standard_h5 import (
    LazyVideoFeatureDataset,
    SummarizationDataModule,
    collate_videos,
)
from vsumlab.errors import ConfigError, DatasetError


def _record(key: str, n_steps: int, dim: int, seed: int) -> VideoRecord:
    rng = np.random.default_rng(seed)
    n_frames = 15 * n_steps
    summary = np.zeros((2, n_frames), dtype=np.float32)
    summary[:, :n_frames // 5] = 1
    return VideoRecord(
        key=key, features=rng.normal(size=(n_steps, dim)).astype(np.float32),
        picks=np.arange(n_steps) * 15, n_frames=n_frames,
        change_points=np.array([[0, n_frames // 2 - 1], [n_frames // 2, n_frames - 1]]),
        n_frame_per_seg=np.array([n_frames // 2, n_frames - n_frames // 2]),
        gtscore=rng.random(n_steps).astype(np.float32), user_summary=summary)


def _file(tmp_path: Path, n_videos: int = 6, dim: int = 4, name: str = "tvsum.h5") -> Path:
    records = [_record(f"video_{i + 1}", 8 + i, dim, i) for i in range(n_videos)]
    return write_dataset(tmp_path / name, records, attrs={"annotation_style": "tvsum"})


def test_the_index_answers_without_reading_and_reads_what_read_dataset_reads(tmp_path) -> None:
    path = _file(tmp_path)
    lazy, eager = H5Dataset(path), read_dataset(path)
    assert lazy.keys == eager.keys == [f"video_{i}" for i in range(1, 7)]
    assert [lazy.entry(k).n_steps for k in lazy.keys] == [8, 9, 10, 11, 12, 13]
    assert lazy.feature_dim == 4 and lazy.name == "tvsum" and len(lazy) == 6
    assert lazy.fields_of("video_1") == eager.fields_of("video_1")
    assert not lazy.any_field("user_anno") and lazy.any_field("gtscore")
    for key in lazy.keys:
        np.testing.assert_array_equal(lazy.features(key), eager[key].features)
        np.testing.assert_array_equal(lazy.gtscore(key), eager[key].gtscore)
        annotations = lazy.annotations(key)
        assert annotations.n_steps == eager[key].n_steps
        np.testing.assert_array_equal(annotations.user_summary, eager[key].user_summary)
        np.testing.assert_array_equal(annotations.features, eager[key].features)  # on demand


def test_the_index_keeps_no_arrays(tmp_path) -> None:
    """What stays in memory (and goes to every worker) is the index: the same size whatever
    the feature width, a few hundred bytes per video."""
    narrow = H5Dataset(_file(tmp_path, dim=2, name="narrow.h5"))
    wide = H5Dataset(_file(tmp_path, dim=2048, name="wide.h5"))
    assert len(pickle.dumps(wide)) - len(pickle.dumps(narrow)) < 64
    assert len(pickle.dumps(wide)) < 6 * 400 + 1000


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gtscore", lambda r: r.gtscore * 5, "has values outside [0, 1]"),
        ("features", lambda r: np.where(np.arange(r.n_steps)[:, None] == 2, np.nan, r.features),
         "contains NaN or infinite values"),
        ("features", lambda r: r.features[:, :3], "has 3-d features but video 'video_1' has 4-d"),
    ],
)
def test_every_check_of_read_dataset_is_kept(tmp_path, field, value, message) -> None:
    import h5py

    path = _file(tmp_path)
    with h5py.File(path, "a") as handle:  # damage video_4 after a valid write
        record = read_dataset(path)["video_4"]
        del handle["video_4"][field]
        handle["video_4"].create_dataset(field, data=value(record))
    with pytest.raises(DatasetError) as eager:
        read_dataset(path)
    with pytest.raises(DatasetError) as lazy:
        H5Dataset(path)
    assert str(lazy.value) == str(eager.value)
    assert message in str(lazy.value) and "video 'video_4'" in str(lazy.value)


def test_a_file_changed_while_in_use_is_refused(tmp_path) -> None:
    path = _file(tmp_path)
    lazy = H5Dataset(path)
    write_dataset(path, [_record("video_1", 5, 4, 0)], force=True)
    with pytest.raises(DatasetError, match="changed on disk while in use"):
        lazy.features("video_1")


def test_workers_reopen_the_file_and_give_the_same_batches(tmp_path) -> None:
    path = _file(tmp_path)
    lazy = H5Dataset(path)
    lazy.features("video_1")  # the parent holds a handle: workers must not use it
    items = LazyVideoFeatureDataset([(k, lazy, k) for k in lazy.keys])
    alone = list(DataLoader(items, batch_size=2, collate_fn=collate_videos))
    workers = list(DataLoader(items, batch_size=2, collate_fn=collate_videos, num_workers=2,
                              multiprocessing_context="spawn"))
    assert [b["keys"] for b in alone] == [b["keys"] for b in workers]
    for one, other in zip(alone, workers, strict=True):
        assert torch.equal(one["features"], other["features"])
        assert torch.equal(one["gtscore"], other["gtscore"])
    assert lazy._pid == os.getpid()


def _count_reads(monkeypatch, method: str) -> list[str]:
    """The keys each call of ``H5Dataset.<method>`` reads, in order (the calls still read)."""
    read: list[str] = []
    original = getattr(H5Dataset, method)

    def counting(self, key):
        read.append(key)
        return original(self, key)

    monkeypatch.setattr(H5Dataset, method, counting)
    return read


def test_scoring_a_fold_reads_only_its_test_videos_annotations(tmp_path, monkeypatch) -> None:
    path = _file(tmp_path, n_videos=10)
    dm = SummarizationDataModule(str(path), fold=1)
    read = _count_reads(monkeypatch, "annotations")
    keys = dm.keys  # folds and validation from the index alone
    assert read == []
    records = dm.records_for("test")
    assert read == keys["test"] == list(records)
    assert all(record.n_steps > 0 for record in records.values())


def test_scoring_a_fold_reads_no_features(tmp_path, monkeypatch) -> None:
    """The protocol's metrics (the run's scoring callback, a fold's test scores and reference
    rows) ask which fields a video has, never for its features: with lazy records that must
    not read them from the file (it did, for every video at every validation epoch)."""
    from vsumlab.evaluation.torchmetrics import SummarizationMetrics
    from vsumlab.protocol.options import Protocol
    from vsumlab.training.scoring import score_test_fold

    path = _file(tmp_path, n_videos=10)
    dm = SummarizationDataModule(str(path), fold=1)
    reads = _count_reads(monkeypatch, "features")
    records = dm.records_for("test")
    predictions = {key: np.linspace(0.0, 1.0, record.n_steps) for key, record in records.items()}
    protocol = Protocol(rank_annotations="user_summary")  # the file has no user_anno
    scores = score_test_fold(dm, predictions, protocol, seed=0, draws=2)
    metric = SummarizationMetrics(dm.records_for("val"), protocol, style="tvsum")
    metric.update(list(dm.keys["val"]),
                  [torch.rand(dm.record(k).n_steps) for k in dm.keys["val"]])
    metric.compute()
    assert reads == []
    assert 0.0 <= scores.model.mean.f1 <= 100.0


def test_the_standard_module_meets_the_contract_and_takes_a_splitter(tmp_path) -> None:
    path = _file(tmp_path)
    dm = SummarizationDataModule(str(path))

    class FirstTwoTest:
        def splits(self, datasets):
            keys = next(iter(datasets.values())).keys
            return [Split(train_keys=keys[2:], test_keys=keys[:2])]

        def spec(self) -> str:
            return "first-two"

    assert isinstance(FirstTwoTest(), Splitter)
    dm.splitter = FirstTwoTest()
    assert dm.keys["test"] == ["video_1", "video_2"]
    assert isinstance(dm, ScoredDataModule)  # (on Python 3.11 this reads every property)
    with pytest.raises(ConfigError, match="already made"):
        dm.splitter = FirstTwoTest()
