"""Random 80/20 splits drawn as Apostolidis et al. draw theirs (vsumlab.data.splits)."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from vsumlab.data.splits import (
    Split,
    random_split_sizes,
    random_splits,
    setting_splits,
    split_digest,
)
from vsumlab.errors import ConfigError

KEYS = [f"video_{i}" for i in range(1, 51)]


@pytest.mark.parametrize(("n", "sizes"), [
    (25, (20, 5)),   # SumMe: PGL-SUM's and CA-SUM's summe_splits.json hold 20 / 5
    (50, (40, 10)),  # TVSum: 40 / 10
    (12, (10, 2)),   # ceil(9.6) = 10
    (8, (7, 1)),     # ceil(6.4) = 7: rounded up, as create_split.py's math.ceil
    (6, (5, 1)),     # ceil(4.8) = 5
    (5, (4, 1)),
    (4, (3, 1)),     # ceil(3.2) = 4 would test nothing: one video is always tested
    (2, (1, 1)),
])
def test_sizes_are_80_20_with_the_training_share_rounded_up(n, sizes) -> None:
    assert random_split_sizes(n) == sizes


def test_fewer_than_two_videos_cannot_be_split() -> None:
    with pytest.raises(ConfigError, match="at least 2 videos.*got 1"):
        random_split_sizes(1)


def test_each_split_is_disjoint_covers_the_videos_and_keeps_their_order() -> None:
    for split in random_splits(KEYS[:25], 10, seed=0):
        assert not set(split.train_keys) & set(split.test_keys)
        assert sorted(split.train_keys + split.test_keys) == sorted(KEYS[:25])
        assert (len(split.train_keys), len(split.test_keys)) == (20, 5)
        for part in (split.train_keys, split.test_keys):
            assert part == sorted(part, key=KEYS.index)


def test_draws_are_deterministic_given_the_seed_and_prefix_stable() -> None:
    assert random_splits(KEYS, 5, seed=3) == random_splits(KEYS, 5, seed=3)
    assert random_splits(KEYS, 5, seed=3) != random_splits(KEYS, 5, seed=4)
    assert random_splits(KEYS, 8, seed=3)[:5] == random_splits(KEYS, 5, seed=3)


def test_splits_are_independent_draws_whose_test_sets_may_overlap() -> None:
    """Not a k-fold: test sets of different splits overlap (PGL-SUM's SumMe splits 0 and 1 both
    test video_4), and over many draws every video is tested about 20% of the time."""
    splits = random_splits(KEYS[:10], 2000, seed=0)
    overlaps = [bool(set(a.test_keys) & set(b.test_keys))
                for a, b in itertools.combinations(splits[:10], 2)]
    assert any(overlaps) and not all(overlaps)
    tested = Counter(key for split in splits for key in split.test_keys)
    # each video: Binomial(2000, 0.2), mean 400, sd 17.9; +-4 sd
    assert set(tested) == set(KEYS[:10])
    assert all(328 <= count <= 472 for count in tested.values()), tested


def test_bad_counts_and_seeds_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 1 split, got 0"):
        random_splits(KEYS, 0)
    with pytest.raises(ConfigError, match="seed must be >= 0"):
        random_splits(KEYS, 2, seed=-1)
    with pytest.raises(ConfigError, match="duplicate video keys video_1"):
        random_splits(["video_1", "video_2", "video_1"], 2)


def test_augmented_random_splits_train_on_every_other_video_too() -> None:
    datasets = {"summe": KEYS[:25], "tvsum": KEYS[:50]}
    random = setting_splits("augmented", "summe", datasets, random=(4, 1))
    plain = random_splits(KEYS[:25], 4, seed=1)
    assert len(random) == 4
    for split, own in zip(random, plain):
        assert split.test_keys == [f"summe/{k}" for k in own.test_keys]
        assert split.train_keys == ([f"summe/{k}" for k in own.train_keys]
                                    + [f"tvsum/{k}" for k in KEYS[:50]])
    canonical = setting_splits("canonical", "summe", {"summe": KEYS[:25]}, random=(4, 1))
    assert canonical == plain


@pytest.mark.parametrize("setting", ["transfer", "zero_shot"])
def test_settings_of_one_fixed_split_refuse_random_splits(setting) -> None:
    datasets = {"summe": KEYS[:25], "tvsum": KEYS[:50]}
    with pytest.raises(ConfigError, match=f"'{setting}' has one fixed split"):
        setting_splits(setting, "summe", datasets, random=(4, 0))


def test_digest_names_the_videos_not_their_order() -> None:
    split = Split(train_keys=["video_1", "video_2"], test_keys=["video_3"])
    assert split_digest(split) == split_digest(Split(["video_2", "video_1"], ["video_3"]))
    assert split_digest(split) != split_digest(Split(["video_1", "video_3"], ["video_2"]))
    assert split_digest(split) != split_digest(Split(["video_1"], ["video_3"]))
    assert len(split_digest(split)) == 16
