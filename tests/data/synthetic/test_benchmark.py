"""The embedded synthetic benchmark: sizes, determinism, a learnable planted signal and
annotator agreement close to the real sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata

from vsumlab.data.schema import Dataset, read_dataset, validate_record, write_dataset
from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import ConfigError
from vsumlab.evaluation.metrics import human_reference

SMALL = {"n_videos": 3, "min_duration": 20, "max_duration": 40, "feature_dim": 32}


@pytest.fixture(scope="module")
def tvsum_like() -> Dataset:
    return make_synthetic_dataset("tvsum", seed=0)


@pytest.fixture(scope="module")
def summe_like() -> Dataset:
    return make_synthetic_dataset("summe", seed=1)


def test_tvsum_like_shape_of_the_set(tvsum_like: Dataset) -> None:
    assert tvsum_like.keys == [f"video_{i}" for i in range(1, 51)]
    assert tvsum_like.attrs["dataset_name"] == "synthetic_tvsum"
    assert tvsum_like.attrs["annotation_style"] == "tvsum"
    assert tvsum_like.synthetic
    categories = [r.category for r in tvsum_like]
    assert sorted(set(categories)) == sorted(["VT", "VU", "GA", "MS", "PK", "PR", "FM", "BK", "BT", "DS"])
    assert all(categories.count(c) == 5 for c in set(categories))
    for record in tvsum_like:
        validate_record(record)
        assert record.feature_dim == 1024 and record.fps == 30.0
        assert 60 * 30 <= record.n_frames <= 180 * 30
        np.testing.assert_array_equal(record.picks, np.arange(0, record.n_frames, 15))
        assert record.user_anno.shape == (20, record.n_frames)
        assert set(np.unique(record.user_anno)) <= {1, 2, 3, 4, 5}
        # scores are constant over 2-second (60-frame) segments, as in TVSum
        assert np.all(np.diff(record.user_anno, axis=1)[:, np.arange(record.n_frames - 1) % 60 != 59] == 0)
        # each user summary is a keyshot summary within the 15% budget, made of whole shots
        assert np.all(record.user_summary.sum(axis=1) <= 0.15 * record.n_frames)
        for start, end in record.change_points:
            block = record.user_summary[:, start : end + 1]
            assert np.all(block.min(axis=1) == block.max(axis=1))
        assert record.gtscore.min() == 0 and record.gtscore.max() == 1
        assert record.extra["planted"].shape == (record.n_steps,)
        shot_seconds = record.n_frame_per_seg / 30
        assert shot_seconds[:-1].min() >= 1.0 and shot_seconds.max() <= 12.0 + 1.0


def test_summe_like_shape_of_the_set(summe_like: Dataset) -> None:
    assert len(summe_like) == 25 and summe_like.attrs["annotation_style"] == "summe"
    users = [r.n_users for r in summe_like]
    assert min(users) >= 15 and max(users) <= 18 and len(set(users)) > 1
    for record in summe_like:
        validate_record(record)
        assert record.user_anno is None
        share = record.user_summary.mean(axis=1)
        assert share.min() >= 0.01 and share.max() <= 0.155 + 1e-9  # SumMe users: 5-15%
        # gtscore is the share of users selecting each step, min-max normalised
        mean = record.user_summary.mean(axis=0)[record.picks]
        expected = (mean - mean.min()) / (mean.max() - mean.min())
        np.testing.assert_allclose(record.gtscore, expected, atol=1e-6)


def test_deterministic_from_the_seed() -> None:
    a = make_synthetic_dataset("summe", seed=3, **SMALL)
    b = make_synthetic_dataset("summe", seed=3, **SMALL)
    c = make_synthetic_dataset("summe", seed=4, **SMALL)
    for key in a.keys:
        for name in ("features", "user_summary", "change_points", "gtscore"):
            np.testing.assert_array_equal(getattr(a[key], name), getattr(b[key], name))
        np.testing.assert_array_equal(a[key].extra["planted"], b[key].extra["planted"])
    assert a["video_1"].n_frames != c["video_1"].n_frames


def _ridge_direction(features: np.ndarray, target: np.ndarray, alpha: float = 10.0) -> np.ndarray:
    centred = features - features.mean(axis=0)
    gram = centred.T @ centred + alpha * np.eye(features.shape[1])
    return np.linalg.solve(gram, centred.T @ (target - target.mean()))


def _auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Probability that a planted step outscores an unplanted one (Mann-Whitney), per column."""
    ranks = rankdata(scores, axis=0)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _stack(dataset: Dataset, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    feats = np.concatenate([dataset[k].features for k in keys]).astype(np.float64)
    planted = np.concatenate([dataset[k].extra["planted"] for k in keys])
    return feats, planted


def test_planted_segments_are_learnable_but_not_from_one_coordinate(
    tvsum_like: Dataset, summe_like: Dataset
) -> None:
    train, test = tvsum_like.keys[:20], tvsum_like.keys[20:]
    x_train, y_train = _stack(tvsum_like, train)
    x_test, y_test = _stack(tvsum_like, test)
    assert 0.15 < y_train.mean() < 0.35
    direction = _ridge_direction(x_train, y_train.astype(np.float64))
    # a linear probe fitted on 20 videos separates planted steps on 30 unseen videos ...
    assert _auc(x_test @ direction, y_test) > 0.9
    # ... and on the SumMe-like set: both sets share one feature space (transfer is possible)
    x_summe, y_summe = _stack(summe_like, summe_like.keys)
    assert _auc(x_summe @ direction, y_summe) > 0.9
    # while the best single coordinate is a weak cue
    assert np.abs(_auc(x_train, y_train) - 0.5).max() < 0.2


def test_annotators_follow_the_planted_segments(tvsum_like: Dataset, summe_like: Dataset) -> None:
    for dataset in (tvsum_like, summe_like):
        gtscore = np.concatenate([r.gtscore for r in dataset])
        planted = np.concatenate([r.extra["planted"] for r in dataset]).astype(bool)
        assert gtscore[planted].mean() > gtscore[~planted].mean() + 0.2


def test_human_agreement_resembles_the_real_sets(tvsum_like: Dataset, summe_like: Dataset) -> None:
    tvsum = human_reference(tvsum_like).mean
    # real TVSum, leave-one-out (Otani et al. 2019): tau 0.177, rho 0.204
    assert 0.13 < tvsum.kendall < 0.23 and 0.15 < tvsum.spearman < 0.26
    summe = human_reference(summe_like).mean
    # real SumMe, max over the other users (ydata SumMe GT, measured): F1 54%
    assert 45 < summe.f1 < 70


def test_size_on_disk_of_the_default_set(tvsum_like: Dataset, tmp_path: Path) -> None:
    dataset = tvsum_like
    path = write_dataset(tmp_path / "synthetic_tvsum.h5", dataset.records.values(), dataset.attrs)
    assert path.stat().st_size < 30e6  # about 19 MB: features rounded to 1/16 compress
    back = read_dataset(path)
    assert back.synthetic and back.name == "synthetic_tvsum"
    np.testing.assert_array_equal(back["video_7"].extra["planted"], dataset["video_7"].extra["planted"])


def test_overrides_and_bad_options() -> None:
    small = make_synthetic_dataset("tvsum", seed=0, n_videos=2, feature_dim=16, min_users=3, max_users=3)
    assert len(small) == 2 and small["video_1"].feature_dim == 16 and small["video_2"].n_users == 3
    with pytest.raises(ConfigError, match="unknown synthetic option.*n_vidoes.*known:.*n_videos"):
        make_synthetic_dataset("tvsum", n_vidoes=3)
    with pytest.raises(ConfigError, match="synthetic kind 'ovp' is unknown.*tvsum, summe"):
        make_synthetic_dataset("ovp")
    with pytest.raises(ConfigError, match="min_duration"):
        make_synthetic_dataset("summe", min_duration=50, max_duration=10)


def test_generic_background_changes_only_the_background_features() -> None:
    default = make_synthetic_dataset("tvsum", seed=2, **SMALL)
    generic = make_synthetic_dataset("tvsum", seed=2, background="generic", **SMALL)
    # the default set records no field added later (its files stay byte-identical)
    assert {"background", "generic_scenes"}.isdisjoint(json.loads(default.attrs["synthetic_config"]))
    assert '"background": "generic"' in generic.attrs["synthetic_config"]
    assert default.name == "synthetic_tvsum" and generic.name == "synthetic_tvsum_generic"
    for key in default.keys:
        a, b = default[key], generic[key]
        planted = a.extra["planted"].astype(bool)
        np.testing.assert_array_equal(a.extra["planted"], b.extra["planted"])
        for name in ("gtscore", "user_anno", "change_points"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.features[planted], b.features[planted])
        assert not np.array_equal(a.features[~planted], b.features[~planted])


def test_generic_background_is_shared_by_every_video_and_set() -> None:
    from vsumlab.data.synthetic.benchmark import generic_scene_embeddings, synthetic_config

    options = {**SMALL, "n_videos": 6, "background": "generic", "generic_scenes": 3}
    scenes = generic_scene_embeddings(synthetic_config("tvsum", **options))
    for kind in ("tvsum", "summe"):
        dataset = make_synthetic_dataset(kind, seed=5, **options)
        feats, planted = _stack(dataset, dataset.keys)
        # a background step lies near one of the 3 shared scenes (noise 0.3 and the importance
        # shift apart); a planted step, its video's own scene, lies much further from all of them
        nearest = np.linalg.norm(feats[:, None] - scenes[None], axis=2).min(axis=1)
        assert np.median(nearest[planted == 0]) < 0.5 * np.median(nearest[planted == 1])
    with pytest.raises(ConfigError, match="background='plain' is unknown.*scenes, generic"):
        make_synthetic_dataset("tvsum", background="plain", **SMALL)
    with pytest.raises(ConfigError, match="generic_scenes=0"):
        make_synthetic_dataset("tvsum", generic_scenes=0, **SMALL)
