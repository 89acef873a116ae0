"""Synthetic caption-aligned features: content follows the captions; the stamped file is
built once, reused, rebuilt or refused as its inputs say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vsumlab.data.captions.datamodule import CaptionDataModule
from vsumlab.data.captions.format import load_captions
from vsumlab.data.schema import read_dataset
from vsumlab.data.synthetic.dense_captions import make_caption_features, write_caption_features

from ..captions._samples import SAMPLE, write


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
