"""Where each video's guiding text comes from: captions, queries, fallbacks, generated captions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vsumlab.data.synthetic.benchmark import make_synthetic_dataset
from vsumlab.errors import ConfigError
from vsumlab.models.clipit import GuidingText, caption_generator, pad_text, record_name


@pytest.fixture()
def records():
    return make_synthetic_dataset("tvsum", seed=0, n_videos=3, feature_dim=6).records


def _captions(path, entries):
    data = {
        key: {"duration": 10.0, "timestamps": [[0.0, 1.0]] * len(s), "sentences": s}
        for key, s in entries.items()
    }
    path.write_text(json.dumps(data))
    return str(path)


def test_generic_captions_and_missing_text_policies(tmp_path, records):
    path = _captions(tmp_path / "caps.json", {"video_1": ["a dog runs", "it jumps"]})
    guide = GuidingText("generic", path)
    assert guide.sentences("video_1", records["video_1"]) == ["a dog runs", "it jumps"]
    with pytest.raises(ConfigError, match=r"no captions for video 'video_2' in .*caps\.json"):
        guide.sentences("video_2", records["video_2"])
    assert GuidingText("generic", path, "empty").sentences("video_2", records["video_2"]) == []
    # the captioner fills in what the file lacks; the file wins where it has the video
    generated = GuidingText(
        "generic", path, captioner=lambda f, key: [f"{key}: {len(f)} steps"]
    )
    assert generated.sentences("video_3", records["video_3"]) == [
        f"video_3: {records['video_3'].n_steps} steps"
    ]
    assert generated.sentences("video_1", records["video_1"]) == ["a dog runs", "it jumps"]


def test_title_guide_is_the_ablation_and_reads_no_captions(tmp_path, records):
    titled = GuidingText("generic", str(tmp_path / "absent.json"), guide="title",
                         captioner=lambda f, key: ["never used"])  # fmt: skip
    named = titled.sentences("video_2", records["video_2"])
    assert named == [records["video_2"].title]  # the TVSum title
    assert named[0].startswith("Synthetic TVSum-like video 2")


def test_record_name_falls_back_to_the_video_name(records):
    record = records["video_1"]
    record.title, record.video_name = None, "Air_Force_One"
    assert record_name(record) == "Air Force One"


def test_queries_as_strings_or_lists_and_bad_entries(tmp_path, records):
    path = tmp_path / "queries.json"
    path.write_text(json.dumps({"video_1": "all the dogs", "video_2": ["dogs", "cats"]}))
    guide = GuidingText("query", str(path))
    assert guide.sentences("video_1", records["video_1"]) == ["all the dogs"]
    assert guide.sentences("video_2", records["video_2"]) == ["dogs", "cats"]
    with pytest.raises(ConfigError, match="no queries for video 'video_3'"):
        guide.sentences("video_3", records["video_3"])
    path.write_text(json.dumps({"video_1": 3}))
    with pytest.raises(ConfigError, match="video 'video_1': expected a query string"):
        GuidingText("query", str(path))
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        GuidingText("query", str(path))
    with pytest.raises(ConfigError, match="no such file"):
        GuidingText("query", str(tmp_path / "absent.json"))


def test_per_dataset_sources_for_qualified_keys(tmp_path, records):
    """Augmented/transfer settings qualify keys as '<dataset>/<key>': one file per dataset."""
    tv = _captions(tmp_path / "tv.json", {"video_1": ["from tvsum"]})
    su = _captions(tmp_path / "su.json", {"video_1": ["from summe"]})
    guide = GuidingText("generic", {"tvsum": tv, "summe": su}, "empty")
    record = records["video_1"]
    assert guide.sentences("tvsum/video_1", record, "tvsum") == ["from tvsum"]
    assert guide.sentences("summe/video_1", record, "summe") == ["from summe"]
    assert guide.sentences("ovp/video_1", record, "ovp") == []  # no file for that dataset
    # one shared file may name qualified keys directly
    shared = _captions(tmp_path / "all.json", {"summe/video_1": ["qualified"]})
    assert GuidingText("generic", shared).sentences("summe/video_1", record, "summe") == [
        "qualified"
    ]


def test_pad_text_masks_missing_sentences():
    text, mask = pad_text([np.ones((2, 3)), np.zeros((0, 3))], 3)
    assert text.shape == (2, 2, 3)
    assert mask.tolist() == [[True, True], [False, False]]
    text, mask = pad_text([np.zeros((0, 3))], 3)  # never an empty axis: one masked slot
    assert text.shape == (1, 1, 3) and not mask.any()


def test_captions_generated_by_a_cap2sum_module():
    """The hook for videos without captions: a Cap2Sum summarizer + PDVC captioner."""
    from vsumlab.models.cap2sum import Cap2SumModule

    torch.manual_seed(0)
    tiny = dict(
        d_model=16, n_heads=2, n_points=2, n_levels=3, n_queries=4, ffn_dim=32, max_events=4,
        caption_hidden=16, caption_word_dim=8, norm_groups=4, dropout=0.0,
    )  # fmt: skip
    words = ["a", "dog", "runs", "cat", "sleeps"]
    module = Cap2SumModule(
        input_dim=6, vocabulary=words, captioner=tiny, max_caption_len=5,
        summarizer_args={"d_model": 8, "n_heads": 2, "n_layers": 1},
    )  # fmt: skip
    generate = caption_generator(module, "tiny cap2sum")
    sentences = generate(np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32))
    assert 1 <= len(sentences) <= 4  # the event counter decides, at least one event
    assert all(set(s.split()) <= set(words) and len(s.split()) <= 5 for s in sentences)
    with pytest.raises(ConfigError, match="captions 6-d features, got features of shape"):
        generate(np.zeros((20, 5), dtype=np.float32))
    with pytest.raises(ConfigError, match="cannot generate captions"):
        caption_generator(torch.nn.Linear(2, 2), "a linear layer")
