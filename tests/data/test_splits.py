"""Splits: disjoint deterministic k-fold, the JSON form and the four settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vsumlab.data.splits import (
    Split,
    kfold_splits,
    qualify,
    read_splits,
    setting_splits,
    unqualify,
    write_splits,
)
from vsumlab.errors import ConfigError, DatasetError, OutputExistsError

KEYS = [f"video_{i}" for i in range(1, 26)]


def test_kfold_is_disjoint_covering_balanced_and_seeded() -> None:
    splits = kfold_splits(KEYS, n_folds=5, seed=0)
    assert len(splits) == 5
    tested = [k for s in splits for k in s.test_keys]
    assert sorted(tested) == sorted(KEYS)  # every video tested exactly once
    for split in splits:
        assert len(split.test_keys) == 5
        assert not set(split.train_keys) & set(split.test_keys)
        assert sorted(split.train_keys + split.test_keys) == sorted(KEYS)
        # both lists keep the dataset order
        assert split.test_keys == [k for k in KEYS if k in split.test_keys]
    assert kfold_splits(KEYS, 5, seed=0) == splits
    assert kfold_splits(KEYS, 5, seed=1) != splits
    assert splits[0].test_keys != KEYS[:5]  # shuffled, not consecutive blocks


def test_kfold_uneven_sizes_and_bad_arguments() -> None:
    sizes = sorted(len(s.test_keys) for s in kfold_splits(KEYS[:12], n_folds=5))
    assert sizes == [2, 2, 2, 3, 3]
    with pytest.raises(ConfigError, match="n_folds=1 must be between 2 and the number of videos"):
        kfold_splits(KEYS, n_folds=1)
    with pytest.raises(ConfigError, match="n_folds=6 .*\\(5\\)"):
        kfold_splits(KEYS[:5], n_folds=6)
    with pytest.raises(ConfigError, match="duplicate video keys video_1"):
        kfold_splits(["video_1", "video_2", "video_1"], n_folds=2)


def test_json_round_trip_in_the_common_form(tmp_path: Path) -> None:
    splits = kfold_splits(KEYS, 5, seed=2)
    path = write_splits(tmp_path / "splits.json", splits)
    data = json.loads(path.read_text())
    assert set(data[0]) == {"train_keys", "test_keys"} and len(data) == 5
    assert read_splits(path) == splits
    assert read_splits(path, keys=KEYS) == splits
    with pytest.raises(OutputExistsError, match="--force"):
        write_splits(path, splits)
    write_splits(path, splits[:2], force=True)
    assert len(read_splits(path)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a JSON splits file"),
        ('{"train_keys": []}', "expected a non-empty list"),
        ("[]", "expected a non-empty list"),
        ('[["video_1"]]', "split 0: expected an object"),
        ('[{"train_keys": ["video_1"]}]', "split 0 field 'test_keys': expected a list"),
        ('[{"train_keys": [1], "test_keys": ["video_2"]}]', "split 0 field 'train_keys'"),
        ('[{"train_keys": [], "test_keys": []}]', "field 'test_keys': expected at least one"),
        (
            '[{"train_keys": ["video_1"], "test_keys": ["video_2"]},'
            ' {"train_keys": ["video_3"], "test_keys": ["video_3"]}]',
            "split 1: keys in both train_keys and test_keys: video_3",
        ),
        (
            '[{"train_keys": ["video_1", "video_1"], "test_keys": ["video_2"]}]',
            "duplicate video keys video_1",
        ),
        ('[{"train_keys": ["video_1"], "test_keys": ["video_99"]}]', "unknown video keys video_99"),
    ],
)
def test_bad_split_files_name_file_split_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DatasetError) as info:
        read_splits(path, keys=KEYS)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_missing_split_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such splits file"):
        read_splits(tmp_path / "none.json")


DATASETS = {
    "tvsum": [f"video_{i}" for i in range(1, 11)],
    "summe": [f"video_{i}" for i in range(1, 6)],
    "ovp": ["video_1", "video_2"],
}


def test_canonical_setting_tests_and_trains_on_the_target_only() -> None:
    alone = setting_splits("canonical", "tvsum", {"tvsum": DATASETS["tvsum"]}, n_folds=5, seed=0)
    assert alone == kfold_splits(DATASETS["tvsum"], 5, 0)  # plain keys: one dataset
    # with other datasets loaded, the same folds with qualified keys, nothing else
    with_others = setting_splits("canonical", "tvsum", DATASETS, n_folds=5, seed=0)
    for plain, qualified in zip(alone, with_others, strict=True):
        assert qualified.train_keys == [f"tvsum/{k}" for k in plain.train_keys]
        assert qualified.test_keys == [f"tvsum/{k}" for k in plain.test_keys]


def test_augmented_setting_adds_every_other_video_to_training() -> None:
    canonical = setting_splits("canonical", "summe", {"summe": DATASETS["summe"]}, 5, seed=3)
    augmented = setting_splits("augmented", "summe", DATASETS, n_folds=5, seed=3)
    others = [qualify("tvsum", k) for k in DATASETS["tvsum"]] + ["ovp/video_1", "ovp/video_2"]
    for plain, aug in zip(canonical, augmented, strict=True):
        assert aug.test_keys == [f"summe/{k}" for k in plain.test_keys]  # same test folds
        assert aug.train_keys == [f"summe/{k}" for k in plain.train_keys] + others
        assert not set(aug.train_keys) & set(aug.test_keys)


def test_transfer_and_zero_shot_settings() -> None:
    (transfer,) = setting_splits("transfer", "summe", DATASETS)
    assert transfer.test_keys == [f"summe/video_{i}" for i in range(1, 6)]
    assert len(transfer.train_keys) == 12 and all(
        not k.startswith("summe/") for k in transfer.train_keys
    )
    (zero,) = setting_splits("zero_shot", "summe", {"summe": DATASETS["summe"]})
    assert zero == Split(train_keys=[], test_keys=DATASETS["summe"])
    (zero,) = setting_splits("zero_shot", "summe", DATASETS)
    assert zero == Split(train_keys=[], test_keys=transfer.test_keys)


def test_setting_errors() -> None:
    with pytest.raises(ConfigError, match="setting 'semi' is unknown; expected one of canonical"):
        setting_splits("semi", "summe", DATASETS)
    with pytest.raises(ConfigError, match="target dataset 'youtube' is not among .*tvsum, summe, ovp"):
        setting_splits("canonical", "youtube", DATASETS)
    with pytest.raises(ConfigError, match="'transfer' trains on datasets other than 'summe'"):
        setting_splits("transfer", "summe", {"summe": DATASETS["summe"]})


def test_qualified_keys_round_trip() -> None:
    assert qualify("synthetic_tvsum", "video_3") == "synthetic_tvsum/video_3"
    assert unqualify("synthetic_tvsum/video_3") == ("synthetic_tvsum", "video_3")
    assert unqualify("video_3") == (None, "video_3")
