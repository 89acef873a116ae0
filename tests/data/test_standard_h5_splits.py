"""The data module's split choice (``splits``): random 80/20 splits, refusals, split records."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsumlab.data.splits import random_splits, split_digest
from vsumlab.data.standard_h5 import SummarizationDataModule
from vsumlab.errors import ConfigError


@pytest.fixture(scope="module")
def one_video_h5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vsumlab.data.schema import write_dataset
    from vsumlab.data.synthetic.benchmark import make_synthetic_dataset

    dataset = make_synthetic_dataset("tvsum", feature_dim=8, n_videos=1, min_duration=20,
                                     max_duration=30)
    path = tmp_path_factory.mktemp("one") / "one_video.h5"
    write_dataset(path, dataset, attrs=dataset.attrs)
    return path


def _dm(path: Path, **kwargs) -> SummarizationDataModule:
    return SummarizationDataModule(str(path), **kwargs)


def test_random_splits_are_the_folds(small_tvsum_h5) -> None:
    dm = _dm(small_tvsum_h5, splits="random:7:2", fold=6)
    splits = dm.splits()
    assert splits == random_splits(dm.target.keys, 7, seed=2)
    assert all((len(s.train_keys), len(s.test_keys)) == (10, 2) for s in splits)  # 12 videos
    keys = dm.keys
    assert keys["test"] == splits[6].test_keys
    assert sorted(keys["train"] + keys["val"]) == sorted(splits[6].train_keys)
    assert dm.describe()["splits"] == "random:7:2"
    with pytest.raises(ConfigError, match="data.fold=7 is out of range.*7 fold"):
        _dm(small_tvsum_h5, splits="random:7:2", fold=7).splits()


def test_canonical_is_the_default(small_tvsum_h5) -> None:
    assert _dm(small_tvsum_h5, splits="canonical").splits() == _dm(small_tvsum_h5).splits()
    assert _dm(small_tvsum_h5).describe()["splits"] == "canonical"


def test_augmented_random_splits_add_the_other_datasets(small_summe_h5, small_tvsum_h5) -> None:
    dm = _dm(small_summe_h5, setting="augmented", extra_datasets=[str(small_tvsum_h5)],
             splits="random:3")
    for split in dm.splits():
        assert len(split.test_keys) == 1 and all(k.startswith("synthetic_summe/")
                                                 for k in split.test_keys)  # 8 videos: 7 / 1
        assert sum(k.startswith("synthetic_tvsum/") for k in split.train_keys) == 12


@pytest.mark.parametrize("setting", ["transfer", "zero_shot"])
def test_one_split_settings_refuse_random_splits(setting, small_summe_h5, small_tvsum_h5) -> None:
    with pytest.raises(ConfigError, match=f"data.splits=random:3:0: setting '{setting}' has one "
                                          "fixed split"):
        _dm(small_summe_h5, setting=setting, extra_datasets=[str(small_tvsum_h5)],
            splits="random:3")


def test_a_split_file_and_a_split_choice_are_refused_together(small_tvsum_h5, tmp_path) -> None:
    with pytest.raises(ConfigError, match="data.splits=canonical and data.split_file=.* both"):
        _dm(small_tvsum_h5, splits="canonical", split_file=str(tmp_path / "s.json"))
    with pytest.raises(ConfigError, match="data.splits=random:x: expected random"):
        _dm(small_tvsum_h5, splits="random:x")


def test_more_folds_than_videos_names_the_option(small_tvsum_h5) -> None:
    with pytest.raises(ConfigError, match="data.n_folds=13: .*has 12 video"):
        _dm(small_tvsum_h5, n_folds=13).splits()
    assert len(_dm(small_tvsum_h5, n_folds=12).splits()) == 12


def test_random_splits_need_two_videos(one_video_h5) -> None:
    with pytest.raises(ConfigError, match="data.splits=random:2:0: .*at least 2 target videos.*"
                                          "has 1 video"):
        _dm(one_video_h5, splits="random:2").splits()


def test_split_record_names_the_split(small_tvsum_h5, tmp_path) -> None:
    dm = _dm(small_tvsum_h5, splits="random:4:1", fold=2)
    assert dm.split_record() == {"source": "random", "choice": "random:4:1",
                                 "setting": "canonical", "index": 2, "of": 4,
                                 "digest": split_digest(dm.splits()[2])}
    canonical = _dm(small_tvsum_h5, fold=1).split_record()
    assert canonical["source"] == "canonical" and canonical["choice"] == "canonical:5:0"
    # the same videos from a file: the same digest (what pairs two runs)
    file = tmp_path / "splits.json"
    split = _dm(small_tvsum_h5, fold=1).splits()[1]
    file.write_text(f'[{{"train_keys": {list(reversed(split.train_keys))}, "test_keys": '
                    f'{split.test_keys}}}]'.replace("'", '"'))
    from_file = _dm(small_tvsum_h5, split_file=str(file)).split_record()
    assert from_file["source"] == "file" and from_file["digest"] == canonical["digest"]
    assert from_file["index"] == 0 and from_file["choice"] == str(file)
