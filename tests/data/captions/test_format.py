"""Dense-caption files: loading, clipping, malformed files, the real ActivityNet files."""

from __future__ import annotations

import pytest

from vsumlab.data.captions.format import CaptionError, load_captions, parse_captions
from vsumlab.data.captions.steps import captioned_mask, event_boxes, select_videos
from vsumlab.data.captions.vocabulary import Vocabulary

from ._samples import SAMPLE, write


def test_load_clips_events_to_the_video(tmp_path):
    videos = load_captions(write(tmp_path, SAMPLE))
    assert list(videos) == ["v_a", "v_b"]
    a = videos["v_a"]
    assert a.duration == 20.0 and len(a.events) == 2
    assert (a.events[1].start, a.events[1].end) == (10.0, 20.0)  # 25 s clipped to 20 s
    assert a.events[1].sentence == "The man's dog jumps!"


def test_events_entirely_outside_are_dropped():
    data = {"v": {"duration": 10.0, "timestamps": [[1, 2], [12, 15]], "sentences": ["x", "y"]}}
    assert [e.sentence for e in parse_captions(data)["v"].events] == ["x"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"v_x": 3}', "video 'v_x': expected an object"),
        ('{"v_x": {"duration": 5, "timestamps": []}}', "video 'v_x' field 'sentences': missing"),
        ('{"v_x": {"duration": -1, "timestamps": [], "sentences": []}}', "field 'duration'"),
        ('{"v_x": {"duration": 5, "timestamps": [[1]], "sentences": ["a"]}}', r"event 0 is \[1\]"),
        ('{"v_x": {"duration": 5, "timestamps": [[3, 1]], "sentences": ["a"]}}', "starts after"),
        (
            '{"v_x": {"duration": 5, "timestamps": [[1, 2]], "sentences": []}}',
            "expected 1 sentences",
        ),
        ('{"v_x": {"duration": 5, "timestamps": [[1, 2]], "sentences": [7]}}', "list of strings"),
    ],
)
def test_malformed_files_name_file_video_and_field(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(CaptionError, match=message) as info:
        load_captions(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_caption_error(tmp_path):
    with pytest.raises(CaptionError, match="no such caption file"):
        load_captions(tmp_path / "nope.json")


def test_real_activitynet_caption_files(anet_captions_dir):
    train = load_captions(anet_captions_dir / "train_modified.json")
    val = load_captions(anet_captions_dir / "val_1.json")
    assert len(train) == 10009 and len(val) == 4917
    # No event lies entirely outside its video, so none is dropped; 261 train events end a
    # rounding error past the duration and are clipped.
    assert sum(len(v.events) for v in train.values()) == 37421
    assert sum(len(v.events) for v in val.values()) == 17505
    assert all(0 <= e.start <= e.end <= v.duration for v in train.values() for e in v.events)
    vocab = Vocabulary.from_captions(train, min_count=5)
    assert vocab.words[:5] == ["the", "a", "and", "to", "in"]
    assert 3000 < len(vocab) < 6000  # PDVC's ActivityNet vocabulary has ~5.7k words (min 2)
    covered = select_videos(train, 20, max_duration=120, max_coverage=0.6)
    assert len(covered) == 20
    for video in covered.values():
        assert captioned_mask(event_boxes(video, 200), 200).mean() <= 0.6
