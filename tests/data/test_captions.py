"""Dense-caption files, vocabulary, timestamp mapping, feature joining, the DataModule."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vsumlab.data.captions.datamodule import (
    CaptionDataModule,
    collate_captions,
    join_features,
    subsample,
)
from vsumlab.data.captions.features import open_features
from vsumlab.data.captions.format import CaptionError, load_captions, parse_captions
from vsumlab.data.captions.steps import captioned_mask, event_boxes, event_step_range, select_videos
from vsumlab.data.captions.vocabulary import Vocabulary, tokenize
from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.dense_captions import make_caption_features, write_caption_features
from vsumlab.errors import DatasetError

SAMPLE = {
    "v_a": {"duration": 20.0, "timestamps": [[2.0, 6.0], [10.0, 25.0]],
            "sentences": ["A man runs.", " The man's dog jumps!"]},
    "v_b": {"duration": 10.0, "timestamps": [[0, 4.5]], "sentences": ["a dog runs fast"]},
}  # fmt: skip


def write(tmp_path, data, name="captions.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


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


def test_tokenizer_is_deterministic_and_simple():
    assert tokenize("The man's dog, 2 times!") == ["the", "man", "s", "dog", "2", "times"]


def test_vocabulary_order_min_count_and_round_trip(tmp_path):
    sentences = ["b a c", "a b", "a d", "c"]
    vocab = Vocabulary.build(sentences, min_count=2)
    # counts a 3, b 2, c 2, d 1 -> by (-count, word); d dropped
    assert vocab.words == ["a", "b", "c"]
    assert Vocabulary.build(reversed(sentences), min_count=2) == vocab  # order-independent
    assert vocab.encode("a d b") == [1, 4, 3, 5, 2]  # <bos> a <unk> b <eos>
    assert vocab.encode("a b c", max_len=2) == [1, 4, 5, 2]
    assert vocab.decode([1, 4, 5, 2, 6]) == "a b"
    path = vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(path) == vocab


def test_vocabulary_file_errors(tmp_path):
    with pytest.raises(CaptionError, match="field 'format'"):
        Vocabulary.load(write(tmp_path, {"words": ["a"]}))
    with pytest.raises(CaptionError, match="field 'words'"):
        Vocabulary.load(write(tmp_path, {"format": "vsumlab-vocabulary", "words": [1]}))


def test_timestamp_to_steps_uniform_by_hand():
    # 20 s, 10 steps of 2 s: [2, 6] overlaps steps 1, 2 (step 3 starts at 6: not overlapped)
    assert event_step_range(2.0, 6.0, 20.0, 10) == (1, 2)
    assert event_step_range(2.5, 6.1, 20.0, 10) == (1, 3)
    assert event_step_range(0.0, 100.0, 20.0, 10) == (0, 9)  # clipped to the video
    assert event_step_range(7.0, 7.0, 20.0, 10) == (3, 3)  # a point event keeps one step


def test_timestamp_to_steps_with_picks():
    times = np.array([0.0, 0.5, 1.0, 4.0])  # uneven steps, e.g. picks / fps
    assert event_step_range(0.7, 3.0, 5.0, 4, times) == (1, 2)
    assert event_step_range(4.5, 5.0, 5.0, 4, times) == (3, 3)


def test_event_boxes_and_captioned_mask(tmp_path):
    video = load_captions(write(tmp_path, SAMPLE))["v_a"]
    boxes = event_boxes(video, 10)
    # steps 1..2 -> [0.1, 0.3] -> center 0.2 length 0.2; steps 5..9 -> [0.5, 1.0]
    np.testing.assert_allclose(boxes, [[0.2, 0.2], [0.75, 0.5]], atol=1e-6)
    np.testing.assert_array_equal(captioned_mask(boxes, 10), [0, 1, 1, 0, 0, 1, 1, 1, 1, 1])


def test_npy_folder_features_missing_videos_reported_once(tmp_path, capsys):
    folder = tmp_path / "feats"
    folder.mkdir()
    np.save(folder / "v_a.npy", np.ones((10, 4), dtype=np.float32))
    videos = load_captions(write(tmp_path, SAMPLE))
    store = open_features(folder)
    assert join_features(videos, store, "caps.json") == ["v_a"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1 of 2 videos have no features" in err and "'v_b'" in err
    with pytest.raises(DatasetError, match="none of its 1 videos"):
        join_features({"v_b": videos["v_b"]}, store)


def test_synthetic_features_follow_captions(tmp_path):
    videos = load_captions(write(tmp_path, SAMPLE))
    records = make_caption_features(videos, dim=16, steps_per_second=1.0, fps=10.0)
    a = records[0]
    assert a.features.shape == (20, 16) and a.picks[1] == 10
    # 1 step per second: captioned steps 2..5 and 10..19
    expected = np.zeros(20)
    expected[2:6] = 1
    expected[10:] = 1
    np.testing.assert_array_equal(a.extra["captioned"], expected)
    path = write_caption_features(tmp_path / "f.h5", videos, dim=16, steps_per_second=1.0, fps=10.0)
    data = read_dataset(path)
    assert data.synthetic and data.keys == ["v_a", "v_b"]
    np.testing.assert_array_equal(data["v_a"].features, a.features)
    # the same events give the same words direction: captioned steps differ from the others
    inside = a.features[expected == 1].mean(0)
    outside = a.features[expected == 0].mean(0)
    assert np.linalg.norm(inside - outside) > 1.0


def test_datamodule_batches_pad_and_keep_events(tmp_path):
    videos = load_captions(write(tmp_path, SAMPLE))
    feats = write_caption_features(tmp_path / "f.h5", videos, dim=8, steps_per_second=1.0)
    caps = write(tmp_path, SAMPLE)
    dm = CaptionDataModule(str(caps), str(feats), val_captions=str(caps), min_word_count=1,
                           batch_size=2)  # fmt: skip
    assert dm.feature_dim == 8
    batch = next(iter(dm.val_dataloader()))
    assert batch["features"].shape == (2, 20, 8)
    assert batch["mask"].sum(1).tolist() == [20, 10]
    assert torch.all(batch["features"][1, 10:] == 0)
    assert [b.shape[0] for b in batch["event_boxes"]] == [2, 1]
    tokens = batch["event_tokens"][1][0].tolist()
    assert dm.vocabulary.decode(tokens) == "a dog runs fast"
    assert batch["sentences"][0] == ["A man runs.", "The man's dog jumps!"]
    assert batch["captioned"][1, :5].tolist() == [1, 1, 1, 1, 1]


def test_collate_and_subsample_are_deterministic():
    keys = [f"v{i}" for i in range(20)]
    assert subsample(keys, 0.25, seed=3) == subsample(keys, 0.25, seed=3)
    assert len(subsample(keys, 0.25)) == 5 and len(subsample(keys, 0.01)) == 1
    items = [
        {"key": "x", "features": torch.ones(3, 2), "boxes": torch.zeros(0, 2),
         "tokens": torch.zeros(0, 2, dtype=torch.long), "sentences": [],
         "captioned": torch.zeros(3)},
    ]  # fmt: skip
    batch = collate_captions(items)
    assert batch["mask"].tolist() == [[True, True, True]]


# ----------------------------------------------------------------------- real annotations
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


def test_synthetic_features_built_once_and_never_silently_stale(tmp_path):
    from vsumlab.data.synthetic.dense_captions import build_synthetic_features
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = tmp_path / "syn.h5"
    build_synthetic_features(caps, out, dim=8, steps_per_second=1.0, draws=2)
    data = read_dataset(out)
    assert data.keys == ["v_a~0", "v_a~1", "v_b~0", "v_b~1"]
    # two recordings: same captioned steps, different content
    np.testing.assert_array_equal(
        data["v_a~0"].extra["captioned"], data["v_a~1"].extra["captioned"]
    )
    assert not np.array_equal(data["v_a~0"].features, data["v_a~1"].features)
    stamp = out.stat().st_mtime_ns
    build_synthetic_features(caps, out, dim=8, steps_per_second=1.0, draws=2)  # reused
    assert out.stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match=r"syn\.h5: .*other inputs \(draws: file 2, asked 3\)"):
        build_synthetic_features(caps, out, dim=8, steps_per_second=1.0, draws=3)
    with pytest.raises(ConfigError, match="data.synthetic: unknown option"):
        build_synthetic_features(caps, out, gain=1.0)
    # a recording is one item; its captions are its video's
    dm = CaptionDataModule(str(caps), str(out), min_word_count=1, batch_size=4)
    dataset = dm.dataset("train")
    assert dataset.keys == ["v_a~0", "v_a~1", "v_b~0", "v_b~1"]
    assert dataset[1]["sentences"] == ["A man runs.", "The man's dog jumps!"]


def _stamp(path):
    import h5py

    with h5py.File(path, "r") as handle:
        return json.loads(handle.attrs["synthetic_options"]), handle.attrs["synthetic_options"]


def test_synthetic_features_reused_across_paths_to_the_same_captions(tmp_path, monkeypatch):
    """The caption file counts by content: a relative path, an absolute one, a symlink or a copy
    elsewhere reuse the file; numbers compare by value (150 == 150.0)."""
    from vsumlab.data.synthetic.dense_captions import build_synthetic_features

    data = tmp_path / "data"
    data.mkdir()
    caps = write(data, SAMPLE)
    out = tmp_path / "gen" / "syn.h5"
    options = dict(dim=8, steps_per_second=1.0, max_duration=150)
    build_synthetic_features(caps, out, **options)
    stamp = out.stat().st_mtime_ns
    monkeypatch.chdir(tmp_path / "gen")
    relative = "../data/captions.json"  # VSUMLAB_DATA=../data vs /abs/data
    build_synthetic_features(relative, "syn.h5", **options)
    (tmp_path / "link").symlink_to(data)
    build_synthetic_features(tmp_path / "link" / "captions.json", out, **options)
    copy = write(tmp_path, SAMPLE, name="copied_captions.json")
    build_synthetic_features(copy, out, **{**options, "max_duration": 150.0})
    assert out.stat().st_mtime_ns == stamp  # never rewritten


def test_synthetic_features_from_other_inputs_name_the_difference_or_rebuild_with_force(
    tmp_path,
):
    from vsumlab.data.synthetic.dense_captions import build_synthetic_features
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = tmp_path / "syn.h5"
    build_synthetic_features(caps, out, dim=8, steps_per_second=1.0)
    first, raw = _stamp(out)
    assert first["captions_sha256"] and first["dim"] == 8 and first["generator"] >= 2

    # other caption content at the same path: named, with both files' hashes
    edited = {**SAMPLE, "v_c": {"duration": 5.0, "timestamps": [[0, 1]], "sentences": ["x"]}}
    write(tmp_path, edited)
    with pytest.raises(ConfigError, match=r"syn\.h5: .*captions: file made from .*other content"):
        build_synthetic_features(caps, out, dim=8, steps_per_second=1.0)
    # several differing options: each named with the file's and the asked value
    with pytest.raises(ConfigError) as info:
        build_synthetic_features(caps, out, dim=16, steps_per_second=1.0, seed=3)
    message = str(info.value)
    assert str(out) in message and "dim: file 8, asked 16" in message
    assert "seed: file 0, asked 3" in message and "force_synthetic=true" in message
    assert _stamp(out)[1] == raw  # untouched by the refusals

    # force rebuilds from the new inputs; the rebuilt file is then reused as it is
    build_synthetic_features(caps, out, force=True, dim=16, steps_per_second=1.0, seed=3)
    rebuilt, _ = _stamp(out)
    assert rebuilt["dim"] == 16 and rebuilt["captions_sha256"] != first["captions_sha256"]
    assert read_dataset(out).keys == ["v_a", "v_b", "v_c"]
    assert read_dataset(out)["v_a"].features.shape[1] == 16
    stamp = out.stat().st_mtime_ns
    build_synthetic_features(caps, out, force=True, dim=16, steps_per_second=1.0, seed=3)
    assert out.stat().st_mtime_ns == stamp


def test_synthetic_features_never_overwrite_a_foreign_h5_without_force(tmp_path):
    from vsumlab.data.synthetic.dense_captions import build_synthetic_features
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = write_caption_features(tmp_path / "real.h5", load_captions(caps), dim=8)  # no stamp
    with pytest.raises(ConfigError, match=r"real\.h5: .*no synthetic_options attribute"):
        build_synthetic_features(caps, out, dim=8)
    build_synthetic_features(caps, out, force=True, dim=8)
    assert _stamp(out)[0]["dim"] == 8


def test_synthetic_features_of_an_earlier_stamp_without_content_hash_are_reused(tmp_path):
    """Files generated before the content hash (generator 2 stamps name the resolved caption
    path only, e.g. data/generated/cap2sum/) stay usable while that path and the options match."""
    import h5py

    from vsumlab.data.synthetic.dense_captions import (
        SYNTHETIC_VERSION,
        build_synthetic_features,
        synthetic_options,
    )
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = tmp_path / "syn.h5"
    build_synthetic_features(caps, out, dim=8)
    old = {"captions": str(caps.resolve()), "generator": SYNTHETIC_VERSION,
           **synthetic_options({"dim": 8})}  # fmt: skip
    with h5py.File(out, "a") as handle:
        handle.attrs["synthetic_options"] = json.dumps(old, sort_keys=True)
    build_synthetic_features(caps, out, dim=8)
    moved = write(tmp_path, SAMPLE, name="elsewhere.json")
    with pytest.raises(
        ConfigError, match="captions: file made from .*captions.json, asked .*elsewhere"
    ):
        build_synthetic_features(moved, out, dim=8)


def test_datamodule_force_synthetic_rebuilds(tmp_path):
    from vsumlab.errors import ConfigError

    caps = write(tmp_path, SAMPLE)
    out = tmp_path / "syn.h5"
    CaptionDataModule(str(caps), str(out), synthetic={"dim": 8}).prepare_data()
    with pytest.raises(ConfigError, match="dim: file 8, asked 4"):
        CaptionDataModule(str(caps), str(out), synthetic={"dim": 4}).prepare_data()
    CaptionDataModule(
        str(caps), str(out), synthetic={"dim": 4}, force_synthetic=True
    ).prepare_data()
    assert read_dataset(out)["v_a"].features.shape[1] == 4


def test_synthetic_options_take_command_line_nulls_and_check_types():
    from vsumlab.data.synthetic.dense_captions import synthetic_options
    from vsumlab.errors import ConfigError

    options = synthetic_options({"n_videos": "None", "max_coverage": "null", "draws": 4})
    assert options["n_videos"] is None and options["max_coverage"] is None
    assert options["draws"] == 4 and options["seed"] == 0
    with pytest.raises(ConfigError, match=r"data\.synthetic\.draws='x' must be a number$"):
        synthetic_options({"draws": "x"})
    with pytest.raises(ConfigError, match=r"data\.synthetic\.draws=None must be a number$"):
        synthetic_options({"draws": "null"})
    with pytest.raises(ConfigError, match=r"data\.synthetic\.dim='64' must be a number or null"):
        synthetic_options({"dim": "64"})
