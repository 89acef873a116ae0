"""Caption viewer helpers: tIoU by hand, ground-truth events, predictions of a tiny Cap2Sum."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.analysis.captions import (
    TimelineEvent,
    best_matches,
    ground_truth_events,
    predict_events,
    temporal_iou,
)
from vsumlab.errors import ConfigError

TINY_CAPTIONER = dict(
    d_model=16, n_heads=2, n_points=2, n_levels=2, n_queries=4, ffn_dim=32, max_events=4,
    caption_hidden=16, caption_word_dim=8, norm_groups=4, dropout=0.0,
)
TINY_SUMMARIZER = {"d_model": 16, "n_heads": 2, "n_layers": 1, "dim_feedforward": 32,
                   "dropout": 0.0}
WORDS = ["a", "man", "dog", "runs", "jumps", "ball", "the"]


def test_temporal_iou_by_hand() -> None:
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((0, 10), (0, 10)) == 1.0
    assert temporal_iou((0, 1), (2, 3)) == 0.0
    assert temporal_iou((2, 2), (2, 2)) == 0.0  # empty union
    truth = [TimelineEvent(0, 10, "a"), TimelineEvent(20, 30, "b")]
    predicted = [TimelineEvent(22, 30, "x"), TimelineEvent(40, 50, "y")]
    assert best_matches(predicted, truth) == [(1, pytest.approx(0.8)), (0, 0.0)]


def test_ground_truth_events_in_time_order() -> None:
    from vsumlab.data.captions.format import parse_captions

    videos = parse_captions({"v1": {"duration": 30.0, "timestamps": [[10, 20], [0, 5]],
                                    "sentences": ["second.", "first."]}})
    events = ground_truth_events(videos["v1"])
    assert [(e.start, e.end) for e in events] == [(0.0, 5.0), (10.0, 20.0)]
    assert events[0].sentence.startswith("first")


def test_predicted_events_of_a_tiny_cap2sum() -> None:
    import torch

    from vsumlab.models.cap2sum import Cap2SumModule

    torch.manual_seed(0)
    module = Cap2SumModule(input_dim=8, summarizer_args=TINY_SUMMARIZER, mode="pretrain",
                           captioner=TINY_CAPTIONER, vocabulary=WORDS, max_caption_len=5)
    features = np.random.default_rng(0).standard_normal((24, 8)).astype(np.float32)
    events, scores = predict_events(module, features, duration=12.0)
    assert scores.shape == (24,) and np.all((scores >= 0) & (scores <= 1))
    assert 1 <= len(events) <= 4  # the event counter's count, at least one, at most the queries
    for event in events:
        assert 0.0 <= event.start <= event.end <= 12.0
        assert set(event.sentence.split()) <= set(WORDS) | {"<unk>"}
        assert 0.0 <= event.score <= 1.0
    assert [e.start for e in events] == sorted(e.start for e in events)
    with pytest.raises(ConfigError, match=r"expects \(n_steps, 8\)"):
        predict_events(module, features[:, :4], duration=12.0)

    supervised = Cap2SumModule(input_dim=8, summarizer_args=TINY_SUMMARIZER, mode="supervised")
    with pytest.raises(ConfigError, match="no captioner"):
        predict_events(supervised, features, duration=12.0)
