"""Folds, validation subsets, settings and batching of the summarization DataModule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsumlab.data.standard_h5 import SummarizationDataModule, collate_videos, normalise_scores
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


def test_train_share_trains_on_p_percent_of_all_target_videos(small_tvsum_h5) -> None:
    # 12 videos in 5 folds: training splits of 9 or 10 videos. The validation carve-out
    # (val_fraction 0.2) of the default leaves 7 or 8 of them training, fewer than 75 %.
    for fold in range(5):
        carved = SummarizationDataModule(str(small_tvsum_h5), fold=fold).keys
        assert len(carved["train"]) in (7, 8)
        share = SummarizationDataModule(str(small_tvsum_h5), fold=fold, train_share=0.75)
        keys = share.keys
        assert len(keys["train"]) == 9  # 0.75 x 12 of ALL videos, whatever the fold
        assert not set(keys["train"]) & set(keys["test"])
        assert not set(keys["val"]) & set(keys["test"])  # validation never from the test fold
        assert not set(keys["val"]) & set(keys["train"])
        split_train = len(share.splits()[fold].train_keys)
        assert len(keys["val"]) == split_train - 9  # the fold's leftover training videos
    half = SummarizationDataModule(str(small_tvsum_h5), fold=2, train_share=0.5).keys
    assert len(half["train"]) == 6 and len(half["val"]) == 2  # round(0.2 x 10) of 4 left
    # 2.5 % of 12 = 0.3 videos rounds to none: a clear error, as asking more than a fold holds
    with pytest.raises(ConfigError, match="train_share=0.025: 0 of the 12"):
        SummarizationDataModule(str(small_tvsum_h5), train_share=0.025).keys  # noqa: B018
    with pytest.raises(ConfigError, match="fold 0 has 9 target training videos"):
        SummarizationDataModule(str(small_tvsum_h5), fold=0, train_share=0.8).keys  # noqa: B018


def test_train_share_counts_target_videos_only_and_rejects_bad_use(
    small_tvsum_h5, small_summe_h5
) -> None:
    aug = SummarizationDataModule(
        str(small_tvsum_h5), extra_datasets=[str(small_summe_h5)], setting="augmented",
        train_share=0.5, fold=2,
    ).keys
    assert sum(k.startswith("synthetic_tvsum/") for k in aug["train"]) == 6
    assert sum(k.startswith("synthetic_summe/") for k in aug["train"]) == 8  # all extras
    assert all(k.startswith("synthetic_tvsum/") for k in aug["val"])
    with pytest.raises(ConfigError, match="give one of them"):
        SummarizationDataModule(str(small_tvsum_h5), train_share=0.5, train_fraction=0.5)
    with pytest.raises(ConfigError, match="setting 'zero_shot' trains on no target video"):
        SummarizationDataModule(str(small_tvsum_h5), setting="zero_shot", train_share=0.5)
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\)"):
        SummarizationDataModule(str(small_tvsum_h5), train_share=1.0)


def test_folds_of_the_same_files_share_what_was_read_once(small_tvsum_h5, small_summe_h5) -> None:
    """A cross-validation reads its dataset once: a fold's data module takes the records
    another fold read from the same files (and only from the same files)."""
    first = SummarizationDataModule(str(small_tvsum_h5), fold=0)
    unread = SummarizationDataModule(str(small_tvsum_h5), fold=2)
    assert not unread.reuse_datasets(first)  # nothing read yet: nothing to share
    assert first.keys["test"]  # reads the file
    second = SummarizationDataModule(str(small_tvsum_h5), fold=1)
    assert second.reuse_datasets(first) and second.datasets is first.datasets
    alone = SummarizationDataModule(str(small_tvsum_h5), fold=1)
    assert second.keys == alone.keys  # the same split as a data module that read the file
    other = SummarizationDataModule(str(small_summe_h5), fold=1)
    assert not other.reuse_datasets(first) and other.datasets is not first.datasets
