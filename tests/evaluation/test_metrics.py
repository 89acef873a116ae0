"""Rank correlation rates, the NaN rule, the human reference, styles, datasets and baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vsumlab.data.annotation_styles import annotation_style, record_style
from vsumlab.errors import ConfigError, DatasetError, PredictionError
from vsumlab.evaluation.metrics import (
    evaluate_dataset,
    evaluate_video,
    human_reference,
    human_video,
    random_baseline,
    uniform_baseline,
    video_rank_correlation,
)
from vsumlab.evaluation.torchmetrics import SummarizationMetrics
from vsumlab.protocol.options import Protocol

from ._records import make_dataset, make_record, random_record


def _rank_record():
    # 8 frames, steps at frames 0 and 4; one annotator
    return make_record(
        "r", 8, [0, 4], [[0, 3], [4, 7]], [[1, 1, 0, 0, 0, 0, 0, 0]], [[1, 1, 2, 2, 2, 3, 3, 3]]
    )


def test_full_rate_by_hand():
    # frames x = [a]*4 + [b]*4 (a < b), y = [1,1,2,2,2,3,3,3]: P = 2*1 + 2*3 + 2*3 = 14, Q = 0,
    # n0 = 28, n1 = 12, n2 = 1 + 3 + 3 = 7 -> tau = 14 / sqrt(16 * 21)
    # mid-ranks: x 2.5 / 6.5, y 1.5 / 4 / 7; cov = 28, var_x = 32, var_y = 37.5
    tau, rho = video_rank_correlation(_rank_record(), np.array([0.2, 0.8]), Protocol())
    assert tau == pytest.approx(14 / np.sqrt(336))
    assert rho == pytest.approx(28 / np.sqrt(32 * 37.5))


def test_2fps_uses_step_scores_against_annotations_at_picks():
    # steps [0.2, 0.8] vs annotations at frames 0 and 4: [1, 2] -> perfect agreement
    tau, rho = video_rank_correlation(
        _rank_record(), np.array([0.2, 0.8]), Protocol(rank_rate="2fps")
    )
    assert (tau, rho) == pytest.approx((1.0, 1.0))


def test_stride_samples_every_sth_frame():
    # frames 0, 3, 6: x = [a, a, b], y = [1, 2, 3]: P = 2, n1 = 1 -> tau = 2 / sqrt(2 * 3)
    protocol = Protocol(rank_rate="stride", rank_stride=3)
    tau, rho = video_rank_correlation(_rank_record(), np.array([0.2, 0.8]), protocol)
    assert tau == pytest.approx(2 / np.sqrt(6))
    assert rho == pytest.approx(stats.spearmanr([0.2, 0.2, 0.8], [1, 2, 3]).statistic)


def test_stride_15_equals_2fps_when_picks_are_every_15th_frame():
    # 50-frame annotation segments straddle steps, so full rate differs from 2 fps
    record = random_record(np.random.default_rng(4), "v", 907, segment=50)
    scores = np.random.default_rng(5).random(record.n_steps)
    two_fps = video_rank_correlation(record, scores, Protocol(rank_rate="2fps"))
    stride = video_rank_correlation(record, scores, Protocol(rank_rate="stride"))
    full = video_rank_correlation(record, scores, Protocol())
    assert two_fps == pytest.approx(stride, abs=1e-12)
    assert full != pytest.approx(two_fps, abs=1e-6)  # the rates are different measurements


def test_rank_annotations_option():
    record = _rank_record()
    # user_summary [1,1,0,0,0,0,0,0] vs x = [a]*4+[b]*4: negative association
    tau_summary, _ = video_rank_correlation(
        record, np.array([0.2, 0.8]), Protocol(rank_annotations="user_summary")
    )
    tau_b = stats.kendalltau([0.2] * 4 + [0.8] * 4, [1, 1, 0, 0, 0, 0, 0, 0]).statistic
    assert tau_summary == pytest.approx(tau_b) and tau_summary < 0
    no_anno = make_record("s", 8, [0, 4], [[0, 7]], [[1, 1, 0, 0, 0, 0, 0, 0]])
    with pytest.raises(DatasetError, match="video 's' field 'user_anno': missing"):
        video_rank_correlation(no_anno, np.ones(2), Protocol(rank_annotations="user_anno"))


def test_constant_prediction_counts_as_zero_correlation():
    scores = evaluate_video(_rank_record(), np.full(2, 0.3), Protocol(), style="tvsum")
    assert scores.kendall == 0.0 and scores.spearman == 0.0


def test_human_reference_pairwise_by_hand():
    # annotators a = b = [1,2,3,4], c = reversed: pairs ab +1, ac -1, bc -1
    # -> per annotator mean over the others: a 0, b 0, c -1 -> -1/3 (tau and rho alike).
    # (Against the mean of the others a would see a constant [2.5]*4: a different definition.)
    # summaries u0=[1,1,0,0], u1=[1,0,0,0], u2=[0,0,1,1]: F(0,1) = 2/3, F(0,2) = F(1,2) = 0
    record = make_record(
        "h",
        4,
        [0, 2],
        [[0, 1], [2, 3]],
        [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]],
        [[1, 2, 3, 4], [1, 2, 3, 4], [4, 3, 2, 1]],
    )
    summe = human_video(record, Protocol(), style="summe")
    assert summe.kendall == pytest.approx(-1 / 3) and summe.spearman == pytest.approx(-1 / 3)
    assert summe.f1 == pytest.approx((200 / 3 + 200 / 3 + 0) / 3)  # max over the others
    tvsum = human_video(record, Protocol(), style="tvsum")
    assert tvsum.f1 == pytest.approx((100 / 3 + 100 / 3 + 0) / 3)  # mean over the others


def test_human_reference_needs_two_annotators():
    record = make_record("one", 4, [0, 2], [[0, 3]], [[1, 1, 0, 0]])
    with pytest.raises(DatasetError, match="at least 2 annotators, got 1"):
        human_video(record, style="summe")


def test_annotation_style_inference(tmp_path: Path):
    summe_like = make_record("v", 4, [0, 2], [[0, 3]], [[1, 1, 0, 0], [0, 1, 1, 0]])
    tvsum_like = make_record("v", 4, [0, 2], [[0, 3]], [[1, 1, 0, 0]], [[1, 2, 3, 4]])
    assert annotation_style(make_dataset([summe_like], annotation_style="tvsum")) == "tvsum"
    assert annotation_style(make_dataset([summe_like], dataset_name="my_SumMe_copy")) == "summe"
    named = make_dataset([summe_like])
    named.path = tmp_path / "eccv16_dataset_tvsum_google_pool5.h5"
    assert annotation_style(named) == "tvsum"
    assert annotation_style(make_dataset([tvsum_like])) == "tvsum"  # user_anno present
    with pytest.raises(ConfigError, match="pass --style summe\\|tvsum"):
        annotation_style(make_dataset([summe_like]))
    with pytest.raises(DatasetError, match="'annotation_style' is 'ovp'"):
        annotation_style(make_dataset([summe_like], annotation_style="ovp"))


def test_record_style_from_qualified_key_or_user_anno():
    plain = make_record("v", 4, [0, 2], [[0, 3]], [[1, 1, 0, 0]])
    with_anno = make_record("v", 4, [0, 2], [[0, 3]], [[1, 1, 0, 0]], [[1, 2, 3, 4]])
    assert record_style("summe/video_3", with_anno) == "summe"  # the key names its dataset
    assert record_style("eccv16_tvsum/video_3", plain) == "tvsum"
    assert record_style("ovp/video_3", plain) is None
    assert record_style("video_3", with_anno) == "tvsum"
    assert record_style("video_3", plain) is None


def _dataset(n_videos=4, seed=0, **attrs):
    rng = np.random.default_rng(seed)
    records = [
        random_record(rng, f"video_{i + 1}", int(rng.integers(600, 1500))) for i in range(n_videos)
    ]
    return make_dataset(records, **attrs)


def test_evaluate_dataset_rows_mean_and_outputs():
    dataset = _dataset(annotation_style="tvsum", dataset_name="tiny")
    rng = np.random.default_rng(1)
    predictions = {r.key: rng.random(r.n_steps) for r in dataset}
    scores = evaluate_dataset(dataset, predictions)
    assert list(scores.rows) == dataset.keys
    for key, row in scores.rows.items():
        assert row == evaluate_video(dataset[key], predictions[key], style="tvsum")
    assert scores.mean.f1 == pytest.approx(np.mean([r.f1 for r in scores.rows.values()]))
    payload = scores.to_dict()
    assert payload["f1_reduction"] == "mean" and payload["rank_rate"] == "full"
    assert payload["mean"]["kendall"] == pytest.approx(scores.mean.kendall)
    table = scores.to_table("markdown")
    assert "| video_1 " in table and "Kendall tau-b (full)" in table and "| mean " in table
    plain = scores.to_table("plain", per_video=False)
    assert "video_1" not in plain and "mean" in plain and "rank rate: full" in plain
    subset = evaluate_dataset(dataset, {"video_2": predictions["video_2"]}, keys=["video_2"])
    assert list(subset.rows) == ["video_2"] and subset.rows["video_2"] == scores.rows["video_2"]


def test_evaluate_dataset_rejects_bad_predictions():
    dataset = _dataset(n_videos=2, annotation_style="tvsum")
    good = {r.key: np.ones(r.n_steps) for r in dataset}
    with pytest.raises(PredictionError, match="missing video\\(s\\) video_2"):
        evaluate_dataset(dataset, {"video_1": good["video_1"]})
    n = dataset["video_1"].n_steps
    with pytest.raises(PredictionError, match=f"video 'video_1': expected shape \\({n},\\)"):
        evaluate_dataset(dataset, {**good, "video_1": np.ones(n + 1)})
    with pytest.raises(ConfigError, match="unknown video key\\(s\\) video_9"):
        evaluate_dataset(dataset, good, keys=["video_9"])


def test_baselines_are_deterministic_and_near_chance():
    dataset = _dataset(n_videos=3, annotation_style="tvsum")
    first = random_baseline(dataset, seed=3, draws=5)
    again = random_baseline(dataset, seed=3, draws=5)
    other = random_baseline(dataset, seed=4, draws=5)
    assert first.rows == again.rows and first.rows != other.rows
    # random scores are independent of the annotators: correlations average out near 0
    assert abs(first.mean.kendall) < 0.05 and abs(first.mean.spearman) < 0.07
    uniform = uniform_baseline(dataset)
    assert uniform.mean.kendall == 0.0 and uniform.mean.spearman == 0.0
    human = human_reference(dataset)
    assert set(human.rows) == set(dataset.keys) and human.label == "human"
    assert first.notes["draws"] == 5 and first.notes["f1_standard_error"] > 0
    assert random_baseline(dataset, draws=1).notes["f1_standard_error"] is None
    with pytest.raises(ConfigError, match="draws=0"):
        random_baseline(dataset, draws=0)


# ----------------------------------------------------------------- undefined rank correlation
# Issue 14.5: a constant annotator has no ranking; counting its NaN correlation as 0 pulled
# every mean towards 0. It is now left out and counted.
def _constant_annotator_record(second: list[int]):
    return make_record(
        "c", 8, [0, 4], [[0, 3], [4, 7]], [[1, 1, 0, 0, 0, 0, 0, 0]] * 2,
        [[1, 1, 2, 2, 2, 3, 3, 3], second],
    )


def test_a_constant_annotator_is_left_out_and_counted():
    record = _constant_annotator_record([3] * 8)
    scores = evaluate_video(record, np.array([0.2, 0.8]), Protocol(), style="tvsum")
    # only the first annotator ranks: tau of test_full_rate_by_hand, not its half
    assert scores.kendall == pytest.approx(14 / np.sqrt(336))
    assert scores.undefined_annotators == 1
    assert scores.to_dict()["undefined_annotators"] == 1


def test_a_video_of_constant_annotators_is_undefined_and_left_out_of_the_mean():
    varied = _constant_annotator_record([1, 1, 2, 2, 2, 3, 3, 3])
    constant = make_record(
        "k", 8, [0, 4], [[0, 3], [4, 7]], [[1, 1, 0, 0, 0, 0, 0, 0]] * 2, [[2] * 8, [4] * 8]
    )
    dataset = make_dataset([varied, constant], annotation_style="tvsum")
    predictions = {"c": np.array([0.2, 0.8]), "k": np.array([0.2, 0.8])}
    scores = evaluate_dataset(dataset, predictions, Protocol())
    assert np.isnan(scores.rows["k"].kendall) and np.isnan(scores.rows["k"].spearman)
    assert scores.mean.kendall == pytest.approx(14 / np.sqrt(336))  # not halved by a 0
    assert scores.mean.f1 == pytest.approx((scores.rows["c"].f1 + scores.rows["k"].f1) / 2)
    payload = scores.to_dict()
    assert payload["rank_undefined"] == {"videos": 1, "annotators": 2}
    assert payload["videos"]["k"]["kendall"] is None  # valid JSON, no NaN
    table = scores.to_table()
    assert "undefined" in table.splitlines()[-2]  # the row of video k
    assert "for 2 annotator(s), 1 video(s) left out of the mean" in table.splitlines()[0]


def test_human_reference_leaves_constant_annotators_out():
    # a = b = [1,2,3,4], c constant: only the pair (a, b) ranks -> 1, with c counted
    record = make_record(
        "h", 4, [0, 2], [[0, 1], [2, 3]], [[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]],
        [[1, 2, 3, 4], [1, 2, 3, 4], [2, 2, 2, 2]],
    )
    scores = human_video(record, Protocol(), style="tvsum")
    assert scores.kendall == pytest.approx(1.0) and scores.spearman == pytest.approx(1.0)
    assert scores.undefined_annotators == 1


def test_tvsum_without_user_anno_refuses_rank_correlation_unless_asked():
    rng = np.random.default_rng(3)
    record = random_record(rng, "video_1", 300, tvsum=False)
    dataset = make_dataset([record], annotation_style="tvsum")
    predictions = {"video_1": rng.random(record.n_steps)}
    with pytest.raises(DatasetError) as info:
        evaluate_dataset(dataset, predictions, Protocol())
    message = str(info.value)
    assert "video 'video_1' field 'user_anno': missing" in message
    assert "vsumlab data attach-annotations" in message and "--rank-annotations user_summary" in message
    with pytest.raises(DatasetError, match="user_anno"):
        human_reference(dataset, Protocol())
    explicit = evaluate_dataset(dataset, predictions, Protocol(rank_annotations="user_summary"))
    assert explicit.ranked_by == "user_summary" and "ranked against: user_summary" in explicit.to_table()
    # SumMe-style files rank against the user summaries by definition
    summe = evaluate_dataset(make_dataset([record], annotation_style="summe"), predictions)
    assert summe.ranked_by == "user_summary" and summe.to_dict()["ranked_by"] == "user_summary"
    tvsum = random_record(rng, "video_1", 300)
    with_anno = evaluate_dataset(
        make_dataset([tvsum], annotation_style="tvsum"), {"video_1": rng.random(tvsum.n_steps)}
    )
    assert with_anno.ranked_by == "user_anno"


def test_train_only_videos_are_refused_by_name_not_scored():
    import dataclasses

    record = random_record(np.random.default_rng(5), "video_1", 300)
    bare = dataclasses.replace(record, picks=None, change_points=None, n_frame_per_seg=None)
    dataset = make_dataset([bare], annotation_style="tvsum")
    with pytest.raises(DatasetError, match="cannot be evaluated.*lacks picks, change_points"):
        evaluate_dataset(dataset, {"video_1": np.zeros(record.n_steps)})
    with pytest.raises(DatasetError, match="video 'video_1' cannot be evaluated"):
        SummarizationMetrics({"video_1": bare}, Protocol(), style="tvsum")
