"""The caption DataModule: feature joining, batches, collate/subsample, forced rebuilds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsumlab.data.captions.datamodule import (
    CaptionDataModule,
    collate_captions,
    join_features,
    subsample,
)
from vsumlab.data.captions.features import open_features
from vsumlab.data.captions.format import load_captions
from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.dense_captions import write_caption_features
from vsumlab.errors import DatasetError

from ._samples import SAMPLE, write


def test_npy_folder_features_missing_videos_reported_once(tmp_path, capsys):
    folder = tmp_path / "feats"
    folder.mkdir()
    np.save(folder / "v_a.npy", np.ones((10, 4), dtype=np.float32))
    videos = load_captions(write(tmp_path, SAMPLE))
    store = open_features(folder)
    assert join_features(videos, store, "caps.json") == ["v_a"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 of 2 videos have no features" in err and "'v_b'" in err
    with pytest.raises(DatasetError, match="none of its 1 videos"):
        join_features({"v_b": videos["v_b"]}, store)


def test_datamodule_batches_pad_and_keep_events(tmp_path):
    videos = load_captions(write(tmp_path, SAMPLE))
    feats = write_caption_features(tmp_path / "f.h5", videos, dim=8, steps_per_second=1.0)
    caps = write(tmp_path, SAMPLE)
    dm = CaptionDataModule(str(caps), str(feats), val_captions=str(caps), min_word_count=1,
                           batch_size=2)  # fmt: skip
    assert dm.feature_dim == 8
    batch = next(iter(dm.val_dataloader()))
    assert batch["features"].shape == (2, 20, 8)
    assert batch["mask"].sum(1).tolist() == [20, 10]
    assert torch.all(batch["features"][1, 10:] == 0)
    assert [b.shape[0] for b in batch["event_boxes"]] == [2, 1]
    tokens = batch["event_tokens"][1][0].tolist()
    assert dm.vocabulary.decode(tokens) == "a dog runs fast"
    assert batch["sentences"][0] == ["A man runs.", "The man's dog jumps!"]
    assert batch["captioned"][1, :5].tolist() == [1, 1, 1, 1, 1]


def test_collate_and_subsample_are_deterministic():
    keys = [f"v{i}" for i in range(20)]
    assert subsample(keys, 0.25, seed=3) == subsample(keys, 0.25, seed=3)
    assert len(subsample(keys, 0.25)) == 5 and len(subsample(keys, 0.01)) == 1
    items = [
        {"key": "x", "features": torch.ones(3, 2), "boxes": torch.zeros(0, 2),
         "tokens": torch.zeros(0, 2, dtype=torch.long), "sentences": [],
         "captioned": torch.zeros(3)},
    ]  # fmt: skip
    batch = collate_captions(items)
    assert batch["mask"].tolist() == [[True, True, True]]


def test_datamodule_force_synthetic_rebuilds(tmp_path):
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = tmp_path / "syn.h5"
    CaptionDataModule(str(caps), str(out), synthetic={"dim": 8}).prepare_data()
    with pytest.raises(ConfigError, match="dim: file 8, asked 4"):
        CaptionDataModule(str(caps), str(out), synthetic={"dim": 4}).prepare_data()
    CaptionDataModule(
        str(caps), str(out), synthetic={"dim": 4}, force_synthetic=True
    ).prepare_data()
    assert read_dataset(out)["v_a"].features.shape[1] == 4
