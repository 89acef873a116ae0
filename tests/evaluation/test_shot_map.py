"""DeSumNet's evaluation by hand: shot mean pooling, the greedy skim and its tie rule, AP@k,
TVSum's top-50% human shot selections, and top-k mAP of a video and a dataset."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import ConfigError, DatasetError
from vsumlab.evaluation.shot_map import (
    TOP_K,
    average_precision_at_k,
    dataset_topk_map,
    greedy_skim,
    human_shot_selections,
    human_topk_map,
    record_selections,
    relative_to_human,
    skim_order,
    video_topk_map,
)
from vsumlab.protocol.keyshots import upsample_to_frames

FIVE_SHOTS = np.array([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])


def test_skim_order_ties_favour_the_shorter_then_the_earlier_shot():
    # 0.9 first; shots 0 and 2 tie at 0.5: the shorter (2) first; then 0.1
    assert skim_order([0.5, 0.9, 0.5, 0.1], [10, 30, 5, 5]).tolist() == [1, 2, 0, 3]
    assert skim_order([0.5, 0.5, 0.5], [4, 4, 4]).tolist() == [0, 1, 2]


def test_greedy_skim_keeps_each_ranked_shot_that_still_fits():
    scores, lengths = [0.5, 0.9, 0.5, 0.1], [10, 30, 5, 5]
    assert greedy_skim(scores, lengths).tolist() == [1, 2, 0, 3]  # no budget: the ranking
    assert greedy_skim(scores, lengths, 45).tolist() == [1, 2, 0]  # exactly full at 45
    assert greedy_skim(scores, lengths, 36).tolist() == [1, 2]  # 0 (45) and 3 (40) overflow
    assert greedy_skim(scores, lengths, 40).tolist() == [1, 2, 3]  # 0 skipped, 3 still fits
    assert greedy_skim(scores, lengths, 29).tolist() == [2, 0, 3]  # the top shot never fits
    with pytest.raises(ConfigError, match="budget=-1"):
        greedy_skim(scores, lengths, -1)


def test_average_precision_at_k_by_hand():
    two = np.array([True, True, False, False, False])  # shots 0 and 1
    ranking = [3, 1, 4, 0]
    assert average_precision_at_k(ranking, two, 1) == 0.0
    assert average_precision_at_k(ranking, two, 2) == pytest.approx(0.5 / 2)  # P@2 = 1/2
    assert average_precision_at_k(ranking, two, 4) == pytest.approx((1 / 2 + 2 / 4) / 2)
    three = np.array([True, True, True, False, False])
    assert average_precision_at_k(ranking, three, 4) == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert average_precision_at_k([1, 0], two, 5) == 1.0  # min(k, |R|) = 2
    assert average_precision_at_k([0, 1], np.zeros(5, dtype=bool), 5) == 0.0
    with pytest.raises(ConfigError, match="k=0"):
        average_precision_at_k(ranking, two, 0)


def test_human_selections_are_each_users_top_half_of_shots():
    users = np.array(
        [
            [1, 1, 5, 5, 3, 3, 2, 2, 4, 4],  # shot means 1 5 3 2 4 -> shots 1, 4
            [2, 2, 4, 4, 4, 4, 1, 1, 1, 1],  # 2 4 4 1 1 -> shots 1, 2
            [3, 3, 3, 3, 3, 3, 1, 1, 1, 1],  # 3 3 3 1 1 -> ties to the earlier: 0, 1
            [1, 9, 4, 4, 0, 0, 0, 0, 0, 0],  # mean pooling: shot 0 (5) beats shot 1 (4)
        ]
    )
    chosen = human_shot_selections(users, FIVE_SHOTS)
    assert [np.flatnonzero(row).tolist() for row in chosen] == [[1, 4], [1, 2], [0, 1], [0, 1]]
    # floor(50%): 4 shots keep 2, 5 shots keep 2, 1 shot keeps none
    assert human_shot_selections(users[:1, :8], FIVE_SHOTS[:4]).sum() == 2
    assert human_shot_selections([[1, 2]], FIVE_SHOTS[:1]).sum() == 0


def test_video_topk_map_by_hand():
    """Shot scores .5 .1 .8 .2 .3 (shot 0's frames 1.0 and 0.0 average to 0.5, mean pooling),
    so the skim ranks 2, 0, 4, 3, 1. User A picked {1, 4}, user B {1, 2}."""
    frames = np.array([1.0, 0.0, 0.1, 0.1, 0.8, 0.8, 0.2, 0.2, 0.3, 0.3])
    selections = np.zeros((2, 5), dtype=bool)
    selections[0, [1, 4]] = True
    selections[1, [1, 2]] = True
    # k=1: A misses (0), B hits (1/1) -> 0.5
    assert video_topk_map(frames, FIVE_SHOTS, selections, 1) == pytest.approx(0.5)
    # k=3: A hits at 3 -> (1/3) / min(3, 2); B hits at 1 -> 1 / 2
    assert video_topk_map(frames, FIVE_SHOTS, selections, 3) == pytest.approx((1 / 6 + 1 / 2) / 2)
    # k=5: A hits at 3 and 5 -> (1/3 + 2/5)/2; B at 1 and 5 -> (1 + 2/5)/2
    expected = ((1 / 3 + 2 / 5) / 2 + (1 + 2 / 5) / 2) / 2
    assert video_topk_map(frames, FIVE_SHOTS, selections, 5) == pytest.approx(expected)
    # a 4-frame budget keeps shots 2 and 0 only: k=5 sees just those two
    limited = ((0.0) + (1.0 / 2)) / 2  # A: no hit; B: hit at 1 -> 1 / min(5, 2)
    assert video_topk_map(frames, FIVE_SHOTS, selections, 5, budget=4) == pytest.approx(limited)


def test_dataset_topk_map_is_the_mean_over_videos_of_the_tvsum_rule():
    dataset = make_synthetic_dataset("tvsum", seed=0, n_videos=3, feature_dim=4)
    rng = np.random.default_rng(0)
    predictions = {k: rng.random(dataset[k].n_steps) for k in dataset.keys}
    result = dataset_topk_map(dataset, predictions)
    assert set(result) == {f"map@{k}" for k in TOP_K} == {"map@5", "map@15"}
    for k in TOP_K:
        per_video = []
        for key, scores in predictions.items():
            record = dataset[key]
            frames = upsample_to_frames(scores, record.picks, record.n_frames)
            per_video.append(
                video_topk_map(frames, record.change_points, record_selections(record), k)
            )
        assert result[f"map@{k}"] == pytest.approx(np.mean(per_video))
    # the ground truth ranks the shots annotators pick above random scores
    truth = {k: dataset[k].gtscore for k in dataset.keys}
    assert dataset_topk_map(dataset, truth)["map@5"] > result["map@5"]
    record = dataset[dataset.keys[0]]
    record.user_anno = None
    with pytest.raises(DatasetError, match="field 'user_anno': missing"):
        dataset_topk_map(dataset, predictions)
    with pytest.raises(ConfigError, match="unknown videos"):
        dataset_topk_map(dataset, {"nope": np.zeros(3)})


def _three_annotators():
    """Three annotators on FIVE_SHOTS (two frames a shot). Shot means: A 1 5 3 2 4 (top half
    {1, 4}, skim 1 4 2 3 0), B 2 4 4 1 1 ({1, 2}, skim 1 2 0 3 4: the tie to the earlier),
    C 3 3 3 1 1 ({0, 1}, skim 0 1 2 3 4)."""
    from types import SimpleNamespace

    shots = np.array([[1, 5, 3, 2, 4], [2, 4, 4, 1, 1], [3, 3, 3, 1, 1]], dtype=float)
    return SimpleNamespace(key="v", user_anno=np.repeat(shots, 2, axis=1),
                           change_points=FIVE_SHOTS)


def test_average_human_map_scores_each_annotator_against_the_others_by_hand():
    record = _three_annotators()
    # k=1: A's first shot 1 is in B's {1, 2} and C's {0, 1} -> 1; B's (1) likewise -> 1;
    # C's first shot 0 is in neither A's {1, 4} nor B's {1, 2} -> 0
    assert human_topk_map(record, 1) == pytest.approx((1 + 1 + 0) / 3)
    # k=2: A's (1, 4): hit at 1 against B and C -> 1 / min(2, 2) = .5 each; B's (1, 2): .5 and
    # .5; C's (0, 1): hit at 2 -> (1/2) / 2 = .25 against A and B
    assert human_topk_map(record, 2) == pytest.approx((0.5 + 0.5 + 0.25) / 3)
    record.user_anno = record.user_anno[:1]
    with pytest.raises(DatasetError, match="1 annotator"):
        human_topk_map(record, 1)


def test_relative_to_human_rescales_the_average_human_to_100():
    # desumnet.txt 4.1: "rescaling the mean AP of human selections to 100%"; Table 3: top-5
    dataset = make_synthetic_dataset("tvsum", seed=0, n_videos=3, feature_dim=4)
    rng = np.random.default_rng(1)
    predictions = {k: rng.random(dataset[k].n_steps) for k in dataset.keys}
    model = dataset_topk_map(dataset, predictions, [5])["map@5"]
    human = np.mean([human_topk_map(dataset[k], 5) for k in dataset.keys])
    assert relative_to_human(dataset, predictions) == pytest.approx(100 * model / human)
    assert 0 < human <= 1
    fifteen = dataset_topk_map(dataset, predictions, [15])["map@15"]
    human15 = np.mean([human_topk_map(dataset[k], 15) for k in dataset.keys])
    assert relative_to_human(dataset, predictions, 15) == pytest.approx(100 * fifteen / human15)
