"""The caption-aligned synthetic set: captions name exactly the planted events; frames alone
cannot tell a captioned event from a distractor; DATA's annotations are untouched."""

from __future__ import annotations

import numpy as np
import pytest

from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.data.synthetic.caption_aligned import (
    CAPTIONED_DEFAULTS,
    EVENT_SENTENCES,
    event_prototypes,
    make_caption_aligned_dataset,
)
from vsumlab.errors import ConfigError

SIZE = dict(n_videos=12, feature_dim=64, min_duration=40, max_duration=90)


@pytest.fixture(scope="module")
def captioned():
    return make_caption_aligned_dataset("summe", seed=2, **SIZE)


def test_captions_name_the_planted_events_at_their_times(captioned):
    dataset, captions = captioned
    for record in dataset:
        event, captioned_steps = record.extra["event"], record.extra["event_planted"] == 1
        entry = captions[record.key]
        named = {EVENT_SENTENCES.index(s) for s in entry["sentences"]}
        assert named == set(event[captioned_steps].tolist())
        # captioned steps are DATA's planted ground truth, nothing else
        np.testing.assert_array_equal(captioned_steps, record.extra["planted"] == 1)
        times = record.picks / record.fps
        for (start, end), sentence in zip(entry["timestamps"], entry["sentences"]):
            inside = (times >= start) & (times < end)
            assert inside.any() and np.all(event[inside] == EVENT_SENTENCES.index(sentence))
        assert entry["duration"] == pytest.approx(record.n_frames / record.fps, abs=1e-3)
        # distractors: other events, twice as many runs as captioned ones where room allows
        distractor_ids = set(event[(event >= 0) & ~captioned_steps].tolist())
        assert distractor_ids and not distractor_ids & named


def test_event_steps_carry_their_prototype(captioned):
    dataset, _ = captioned
    protos = event_prototypes(6, 64)
    record = dataset["video_1"]
    event = record.extra["event"]
    projections = record.features @ protos.T  # (T, events)
    for step in np.flatnonzero(event >= 0)[:20]:
        assert projections[step, event[step]] == pytest.approx(6.0, abs=1.5)
        others = np.delete(projections[step], event[step])
        assert np.all(np.abs(others) < 3.0)


def test_frames_alone_do_not_tell_captioned_from_distractor_events():
    """Over a larger set, every event is captioned in some videos and a distractor in others,
    and its frames look the same either way."""
    dataset, _ = make_caption_aligned_dataset("tvsum", seed=0, n_videos=40, feature_dim=64,
                                              min_duration=30, max_duration=60)
    protos = event_prototypes(6, 64)
    roles = {e: [0, 0] for e in range(6)}
    captioned_norm, distractor_norm = [], []
    for record in dataset:
        event, planted = record.extra["event"], record.extra["event_planted"] == 1
        for e in range(6):
            roles[e][0] += int(np.any((event == e) & planted))
            roles[e][1] += int(np.any((event == e) & ~planted))
        norms = np.linalg.norm(record.features, axis=1)
        captioned_norm += norms[planted].tolist()
        distractor_norm += norms[(event >= 0) & ~planted].tolist()
    assert all(a >= 3 and b >= 3 for a, b in roles.values())
    assert np.mean(captioned_norm) == pytest.approx(np.mean(distractor_norm), rel=0.05)
    assert protos.shape == (6, 64)


def test_annotations_are_datas_and_generation_is_deterministic(captioned):
    dataset, captions = captioned
    plain = make_synthetic_dataset("summe", seed=2, signal=0.0, **CAPTIONED_DEFAULTS, **SIZE)
    for record in dataset:
        base = plain[record.key]
        np.testing.assert_array_equal(record.gtscore, base.gtscore)
        np.testing.assert_array_equal(record.user_summary, base.user_summary)
        np.testing.assert_array_equal(record.change_points, base.change_points)
        background = record.extra["event"] < 0  # frames outside events are DATA's
        np.testing.assert_array_equal(record.features[background], base.features[background])
    again, captions_again = make_caption_aligned_dataset("summe", seed=2, **SIZE)
    assert captions_again == captions
    np.testing.assert_array_equal(again["video_3"].features, dataset["video_3"].features)
    assert dataset.name == "synthetic_summe_captioned"


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="n_events=1 must be in"):
        make_caption_aligned_dataset("summe", n_events=1, n_videos=1)
    with pytest.raises(ConfigError, match="content_keep=2"):
        make_caption_aligned_dataset("summe", content_keep=2, n_videos=1)
    with pytest.raises(ConfigError, match="unknown synthetic option"):
        make_caption_aligned_dataset("summe", n_videos=1, colour="red")
