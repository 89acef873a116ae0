"""Folds, validation subsets, settings and batching of the summarization DataModule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsumlab.data.datamodules import SummarizationDataModule, collate_videos, normalise_scores
from vsumlab.errors import ConfigError


def test_normalise_scores_min_max_and_constant() -> None:
    np.testing.assert_allclose(normalise_scores(np.array([2.0, 4.0, 3.0])), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(normalise_scores(np.array([3.0, 3.0])), [0.0, 0.0])


def test_collate_pads_and_masks() -> None:
    items = [
        {"key": "a", "features": torch.ones(3, 2), "gtscore": torch.tensor([0.1, 0.2, 0.3])},
        {"key": "b", "features": torch.full((5, 2), 2.0), "gtscore": torch.ones(5)},
    ]
    batch = collate_videos(items)
    assert batch["features"].shape == (2, 5, 2)
    assert batch["mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert batch["n_steps"].tolist() == [3, 5]
    assert batch["keys"] == ["a", "b"]
    assert torch.all(batch["features"][0, 3:] == 0) and torch.all(batch["gtscore"][0, 3:] == 0)


def test_canonical_folds_cover_videos_once_and_val_comes_from_train(small_tvsum_h5) -> None:
    tested: list[str] = []
    for fold in range(5):
        dm = SummarizationDataModule(str(small_tvsum_h5), fold=fold, val_fraction=0.25)
        keys = dm.keys
        assert not set(keys["test"]) & set(keys["train"])
        assert not set(keys["test"]) & set(keys["val"])
        assert not set(keys["val"]) & set(keys["train"])
        assert len(keys["val"]) >= 1
        assert len(keys["train"]) + len(keys["val"]) + len(keys["test"]) == 12
        tested += keys["test"]
    assert sorted(tested) == sorted(dm.target.keys)


def test_keys_are_deterministic_and_depend_on_seed(small_tvsum_h5) -> None:
    a = SummarizationDataModule(str(small_tvsum_h5), fold=1).keys
    b = SummarizationDataModule(str(small_tvsum_h5), fold=1).keys
    c = SummarizationDataModule(str(small_tvsum_h5), fold=1, split_seed=7).keys
    assert a == b
    assert a != c


def test_train_fraction_and_best_test_mode(small_tvsum_h5) -> None:
    full = SummarizationDataModule(str(small_tvsum_h5), val_fraction=0.0).keys
    half = SummarizationDataModule(str(small_tvsum_h5), val_fraction=0.0, train_fraction=0.5).keys
    assert len(half["train"]) == round(len(full["train"]) / 2)
    assert set(half["train"]) <= set(full["train"])
    labelled = SummarizationDataModule(str(small_tvsum_h5), val_source="test").keys
    assert labelled["val"] == labelled["test"]
    # the best-test mode holds no training video out: all of the fold's training videos train
    assert labelled["train"] == full["train"]


def test_augmented_transfer_and_zero_shot(small_tvsum_h5, small_summe_h5) -> None:
    aug = SummarizationDataModule(
        str(small_tvsum_h5), extra_datasets=[str(small_summe_h5)], setting="augmented",
        val_fraction=0.0,
    )
    train, test = aug.keys["train"], aug.keys["test"]
    assert all("/" in key for key in train + test)
    assert sum(key.startswith("synthetic_summe/") for key in train) == 8
    assert all(key.startswith("synthetic_tvsum/") for key in test)
    assert aug.record(test[0]).key == test[0].split("/", 1)[1]

    transfer = SummarizationDataModule(
        str(small_tvsum_h5), extra_datasets=[str(small_summe_h5)], setting="transfer",
        val_fraction=0.0,
    )
    assert len(transfer.splits()) == 1
    assert all(key.startswith("synthetic_summe/") for key in transfer.keys["train"])
    assert len(transfer.keys["test"]) == 12

    zero = SummarizationDataModule(str(small_tvsum_h5), setting="zero_shot")
    assert zero.keys["train"] == [] and len(zero.keys["test"]) == 12
    with pytest.raises(ConfigError, match="no training videos"):
        zero.train_dataloader()


def test_bad_options_are_named(small_tvsum_h5) -> None:
    with pytest.raises(ConfigError, match="data.setting='crossval'"):
        SummarizationDataModule(str(small_tvsum_h5), setting="crossval")
    with pytest.raises(ConfigError, match="needs data.extra_datasets"):
        SummarizationDataModule(str(small_tvsum_h5), setting="augmented")
    with pytest.raises(ConfigError, match="data.fold=7 is out of range"):
        SummarizationDataModule(str(small_tvsum_h5), fold=7).keys  # noqa: B018


def test_loader_batches_follow_keys(small_tvsum_h5) -> None:
    dm = SummarizationDataModule(str(small_tvsum_h5), batch_size=3)
    batch = next(iter(dm.test_dataloader()))
    assert batch["keys"] == dm.keys["test"][:3]
    assert batch["features"].shape[-1] == dm.feature_dim == 64
    assert float(batch["gtscore"].max()) == pytest.approx(1.0)


def test_train_only_extra_datasets_train_but_never_validate(tmp_path, summe_gt_dir) -> None:
    """Published OVP/YouTube files (features, gtscore, gtsummary only) join training in the
    augmented setting; validation is drawn from videos that can be scored."""
    from vsumlab.errors import DatasetError

    from .published_layout import write_published_summe, write_published_train_only

    summe = write_published_summe(tmp_path / "summe.h5", summe_gt_dir, dim=4, n_videos=5)
    ovp = write_published_train_only(tmp_path / "ovp.h5", 30, dim=4)
    module = SummarizationDataModule(
        str(summe), extra_datasets=[str(ovp)], setting="augmented", n_folds=5, val_fraction=0.5
    )
    keys = module.keys
    assert len(keys["test"]) == 1 and all(k.startswith("summe/") for k in keys["test"])
    # half of the 34 training videos would be 17 validation videos: only the 4 SumMe ones score
    assert sorted(keys["val"]) == sorted(k for k in [*keys["val"], *keys["train"]]
                                         if k.startswith("summe/"))  # fmt: skip
    assert len(keys["val"]) == 4 and sum(k.startswith("ovp/") for k in keys["train"]) == 30
    batch = next(iter(module.train_dataloader()))
    assert batch["features"].shape[-1] == 4
    with pytest.raises(DatasetError, match="data.dataset cannot be evaluated.*lacks picks"):
        _ = SummarizationDataModule(str(ovp)).datasets
