"""Web-video sources, clip positions and decoding, the clip cache, augmentations, data module."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vsumlab.data.synthetic.event_videos import make_category_videos, write_event_dataset, write_mp4
from vsumlab.data.video_decode import probe
from vsumlab.data.webvideos import (
    TVSUM_CATEGORIES,
    ClipAugment,
    ClipCache,
    ClipSpec,
    VideoEntry,
    WebVideoClips,
    WebVideoDataModule,
    clip_starts,
    read_list_file,
    segment_starts,
    tvsum_categories,
    tvsum_entries,
    write_list_file,
)
from vsumlab.data.webvideos import clips as clips_module
from vsumlab.data.webvideos.clips import decode_clips, load_clips
from vsumlab.data.webvideos.datamodule import hold_out_videos
from vsumlab.data.webvideos.sources import category_names, dataset_videos, load_sources, scan_folder
from vsumlab.errors import ConfigError, DatasetError, OutputExistsError


def _index_video(path: Path, n_frames: int, size=(32, 24), fps: float = 8.0) -> Path:
    """Frame i is a flat grey of level 5 * i: decoded frames reveal their index."""
    frames = np.stack(
        [np.full((size[1], size[0], 3), 5 * i, dtype=np.uint8) for i in range(n_frames)]
    )
    return write_mp4(path, frames, fps)


def _index_of(clip: np.ndarray) -> np.ndarray:
    return np.round(clip.reshape(len(clip), -1).mean(axis=1) / 5.0).astype(int)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp("web")
    return make_category_videos(root, n_categories=2, videos_per_category=3, n_frames=32, seed=0)


# ---------------------------------------------------------------------- sources
def test_scan_folder_ucf101_layout(videos):
    root = videos[0].path.parent.parent
    entries = scan_folder(root)
    assert [e.category for e in entries] == ["cat0"] * 3 + ["cat1"] * 3
    assert all(e.start is None for e in entries)
    assert entries[0].path.name == "cat0_00.mp4"


def test_scan_folder_without_videos_names_the_layout(tmp_path):
    (tmp_path / "empty_category").mkdir()
    with pytest.raises(DatasetError, match="expected <category>/<video>"):
        scan_folder(tmp_path)


def test_list_file_forms(tmp_path):
    (tmp_path / "Surfing").mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text(
        "# comment\n"
        "my videos/a b.mp4\tsurfing\n"  # tab: spaces allowed in the path
        "Surfing/v_1.avi\n"  # no category: the parent folder names it (UCF101 testlist)
        "/abs/c.mp4 diving 48\n"  # a refined clip at frame 48
    )
    entries = read_list_file(listing)
    assert entries == [
        VideoEntry(tmp_path / "my videos" / "a b.mp4", "surfing"),
        VideoEntry(tmp_path / "Surfing" / "v_1.avi", "Surfing"),
        VideoEntry(Path("/abs/c.mp4"), "diving", 48),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [("a.mp4 x -3", "line 1: field start_frame='-3'"), ("a.mp4 x 1 2", "got 4 fields")],
)
def test_list_file_errors_name_line_and_field(tmp_path, line, message):
    listing = tmp_path / "bad.txt"
    listing.write_text(line + "\n")
    with pytest.raises(DatasetError, match=message):
        read_list_file(listing)


def test_list_file_round_trip_and_no_overwrite(tmp_path):
    entries = [VideoEntry(tmp_path / "x y.mp4", "a"), VideoEntry(tmp_path / "z.mp4", "b", 16)]
    path = write_list_file(tmp_path / "out.txt", entries)
    assert read_list_file(path) == entries
    with pytest.raises(OutputExistsError):
        write_list_file(path, entries)


def test_load_sources_mixes_folders_and_lists(videos, tmp_path):
    listing = write_list_file(tmp_path / "l.txt", [VideoEntry(videos[0].path, "cat0", 8)])
    entries = load_sources([str(videos[0].path.parent.parent), str(listing)])
    assert len(entries) == 7 and entries[-1].start == 8
    with pytest.raises(DatasetError, match="no such folder or list file"):
        load_sources([str(tmp_path / "missing")])


def test_category_names_fixed_order_and_unknown():
    entries = [VideoEntry(Path("a"), "b"), VideoEntry(Path("c"), "a")]
    assert category_names(entries) == ["a", "b"]
    assert category_names(entries, ["b", "a", "z"]) == ["b", "a", "z"]
    with pytest.raises(ConfigError, match=r"categories \['a'\] of the videos are not in"):
        category_names(entries, ["b"])


def test_tvsum_categories_from_the_real_annotation_file(tvsum_mat):
    categories = tvsum_categories(tvsum_mat)
    assert len(categories) == 50
    # the first three videos of ydata-tvsum50.mat (video_1..3 of the standard h5) are VT
    assert [categories[v] for v in ("AwmHb44_ouw", "98MoyGZKHXc", "J0nA4VgnoCo")] == ["VT"] * 3
    codes = list(categories.values())
    assert sorted(set(codes)) == sorted(TVSUM_CATEGORIES)
    assert all(codes.count(code) == 5 for code in TVSUM_CATEGORIES)  # 5 videos per category


def test_tvsum_entries_find_videos_by_youtube_id(tvsum_mat, tmp_path):
    for vid in ("AwmHb44_ouw", "i3wAGJaaktw"):
        (tmp_path / f"{vid}.mp4").write_bytes(b"")
    entries = tvsum_entries(tvsum_mat, tmp_path, ["AwmHb44_ouw", "i3wAGJaaktw"])
    assert [(e.path.name, e.category) for e in entries] == [
        ("AwmHb44_ouw.mp4", "VT"),
        ("i3wAGJaaktw.mp4", "GA"),
    ]
    with pytest.raises(DatasetError, match=r"TVSum videos \['98MoyGZKHXc'\] not found"):
        tvsum_entries(tvsum_mat, tmp_path, ["98MoyGZKHXc"])


def test_tvsum_categories_bad_file(tmp_path):
    bad = tmp_path / "x.mat"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="not a MATLAB v7.3"):
        tvsum_categories(bad)


# ---------------------------------------------------------------------- clip positions
def test_clip_starts_hand_computed():
    spec = ClipSpec(clip_len=16)
    assert segment_starts(64, spec).tolist() == [0, 16, 32, 48]
    assert segment_starts(70, spec).tolist() == [0, 16, 32, 48, 64]  # the last one is short
    assert clip_starts(64, spec, None).tolist() == [0, 16, 32, 48]
    assert clip_starts(64, spec, 4).tolist() == [0, 16, 32, 48]
    # 3 clips over 100 frames: first full clip at 0, last at 84, middle at 42
    assert clip_starts(100, spec, 3).tolist() == [0, 42, 84]
    assert clip_starts(10, spec, 5).tolist() == [0]  # shorter than a clip: one padded clip
    stride = ClipSpec(clip_len=4, frame_stride=3)
    assert stride.span == 12 and stride.frames(5, 100).tolist() == [5, 8, 11, 14]
    assert stride.frames(95, 100).tolist() == [95, 98, 99, 99]  # clamped to the last frame
    with pytest.raises(ConfigError, match="clips_per_video=0"):
        clip_starts(64, spec, 0)


def test_decode_clips_exact_frames_in_one_pass(tmp_path):
    path = _index_video(tmp_path / "index.mp4", 40)
    spec = ClipSpec(clip_len=4, frame_stride=2, resize=(12, 16))
    starts = [30, 0, 10, 36]  # out of order, and the last runs past the end
    got = dict(decode_clips(path, starts, 40, spec))
    assert sorted(got) == [0, 1, 2, 3]
    assert got[0].shape == (4, 12, 16, 3) and got[0].dtype == np.uint8
    assert _index_of(got[0]).tolist() == [30, 32, 34, 36]
    assert _index_of(got[1]).tolist() == [0, 2, 4, 6]
    assert _index_of(got[2]).tolist() == [10, 12, 14, 16]
    assert _index_of(got[3]).tolist() == [36, 38, 39, 39]  # padded with the last frame


def test_decode_clips_when_the_header_overstates_the_length(tmp_path):
    path = _index_video(tmp_path / "short.mp4", 12)
    spec = ClipSpec(clip_len=4, resize=(12, 16))
    (_, clip), = list(decode_clips(path, [10], 20, spec))  # claims 20 frames, has 12
    assert _index_of(clip).tolist() == [10, 11, 11, 11]


# ---------------------------------------------------------------------- cache
def test_cache_keys_follow_file_and_parameters(tmp_path):
    path = _index_video(tmp_path / "v.mp4", 8)
    cache = ClipCache(tmp_path / "cache")
    spec = ClipSpec(clip_len=4, resize=(12, 16))
    key = cache.key(path, 0, spec)
    assert cache.key(path, 4, spec) != key
    assert cache.key(path, 0, ClipSpec(clip_len=4, resize=(12, 18))) != key
    assert cache.key(path, 0, ClipSpec(clip_len=4, frame_stride=2, resize=(12, 16))) != key
    os.utime(path, ns=(1, 1))  # a changed (re-downloaded) video never gets stale clips
    assert cache.key(path, 0, spec) != key


def test_cache_round_trip_and_truncated_file(tmp_path):
    path = _index_video(tmp_path / "v.mp4", 8)
    cache = ClipCache(tmp_path / "cache")
    spec = ClipSpec(clip_len=4, resize=(12, 16))
    assert cache.get(path, 0, spec) is None
    clip = np.arange(4 * 12 * 16 * 3, dtype=np.uint8).reshape(4, 12, 16, 3)
    cache.put(path, 0, spec, clip)
    np.testing.assert_array_equal(cache.get(path, 0, spec), clip)
    cache.file(path, 0, spec).write_bytes(b"\x93NUMPY")  # a crash mid-write elsewhere
    assert cache.get(path, 0, spec) is None  # treated as a miss, decoded again
    assert (cache.hits, cache.misses, cache.stores) == (1, 2, 1)


def test_cache_reuse_no_decoding_after_first_epoch(videos, tmp_path, monkeypatch):
    spec = ClipSpec(clip_len=16, resize=(24, 32))
    entries = [VideoEntry(v.path, v.category) for v in videos]
    augment = ClipAugment(crop=24, train=False)
    first = WebVideoClips(entries, ["cat0", "cat1"], spec, augment, 3, tmp_path / "cache")
    epoch1 = [first[i]["clip"] for i in range(len(first))]
    assert first.cache.stores == 6 * 3  # every clip decoded once, one pass per video
    # a new dataset (next run, or a worker) reads the cache; decoding would now fail loudly
    monkeypatch.setattr(
        clips_module, "iter_frames", lambda *a, **k: pytest.fail("decoded despite the cache")
    )
    second = WebVideoClips(entries, ["cat0", "cat1"], spec, augment, 3, tmp_path / "cache")
    epoch2 = [second[i]["clip"] for i in range(len(second))]
    assert second.cache.stores == 0 and second.cache.hits == len(second)
    for a, b in zip(epoch1, epoch2):
        assert torch.equal(a, b)


def test_uncached_clip_equals_cached_clip(videos, tmp_path):
    spec = ClipSpec(clip_len=16, resize=(24, 32))
    path, n = videos[0].path, videos[0].n_frames
    direct = load_clips(path, [8], n, spec)[0]
    cached = load_clips(path, [8], n, spec, ClipCache(tmp_path / "c"))[0]
    np.testing.assert_array_equal(direct, cached)


# ---------------------------------------------------------------------- augmentation
def _ramp_clip(t=2, h=8, w=10) -> np.ndarray:
    """Pixel (y, x) of every frame holds 10 * y + x in all channels: crops are readable."""
    base = (10 * np.arange(h)[:, None] + np.arange(w)[None, :]).astype(np.uint8)
    return np.repeat(np.repeat(base[None, :, :, None], t, axis=0), 3, axis=3)


def test_eval_centre_crop_hand_computed():
    out = ClipAugment(crop=4, train=False)(_ramp_clip())
    assert out.shape == (3, 2, 4, 4) and out.dtype == torch.uint8
    # centre of 8x10: top = (8 - 4) // 2 = 2, left = (10 - 4) // 2 = 3
    assert out[0, 0, 0].tolist() == [23, 24, 25, 26]
    assert out[0, 1, 3].tolist() == [53, 54, 55, 56]


def test_corner_crops_take_one_of_five_positions():
    augment = ClipAugment(crop=4, train=True, corner_crops=True)
    corners = set()
    generator = torch.Generator().manual_seed(0)
    for _ in range(60):
        corners.add(int(augment(_ramp_clip(), generator)[0, 0, 0, 0]))
    # top-left pixel of: top_left 0, top_right 6, bottom_left 40, bottom_right 46, centre 23
    assert corners == {0, 6, 40, 46, 23}


def test_flip_mirrors_every_frame_half_the_time():
    augment = ClipAugment(crop=4, train=True, flip=True, corner_crops=True)
    generator = torch.Generator().manual_seed(1)
    flips = 0
    for _ in range(200):
        out = augment(_ramp_clip(), generator)
        row = out[0, 0, 0].tolist()
        assert row in ([row[0] + k for k in range(4)], [row[0] - k for k in range(4)])
        flips += row[0] > row[1]
        assert torch.equal(out[:, 0], out[:, 1])  # the same flip for all frames of the clip
    assert 70 < flips < 130  # p = 0.5


def test_multiscale_jitter_draws_crop_sizes_then_resizes():
    clip = _ramp_clip(h=8, w=8)
    augment = ClipAugment(crop=4, train=True, scales=[8, 4], corner_crops=True)
    generator = torch.Generator().manual_seed(0)
    outputs = [augment(clip, generator) for _ in range(40)]
    assert all(o.shape == (3, 2, 4, 4) for o in outputs)
    # an 8x8 crop resized to 4x4 averages 2x2 blocks: first pixel (0+1+10+11)/4 = 5.5 -> 6
    assert any(int(o[0, 0, 0, 0]) == 6 for o in outputs)
    # an 8x4 crop (height 8, width 4) at the top left halves rows: (10*2y + 10*(2y+1)) / 2 + x
    assert any(o[0, 0, :, 0].tolist() == [5, 25, 45, 65] for o in outputs)


def test_crop_larger_than_clip_is_a_config_error():
    with pytest.raises(ConfigError, match="smaller than the crop size 128"):
        ClipAugment(crop=112, scales=[128, 112, 96, 84]).check_input(120, 160)


# ---------------------------------------------------------------------- data module
def test_hold_out_by_whole_videos_per_category():
    entries = [VideoEntry(Path(f"{c}{i}.mp4"), c, s) for c in "ab" for i in range(5) for s in (0, 16)]
    train, val = hold_out_videos(entries, 0.2, seed=0)
    train_paths, val_paths = {e.path for e in train}, {e.path for e in val}
    assert not train_paths & val_paths  # clips of one video never straddle the split
    assert sorted(p.name[0] for p in val_paths) == ["a", "b"]  # one video of each category
    assert len(train) + len(val) == len(entries)


def test_datamodule_batches_and_class_list(videos, tmp_path):
    root = videos[0].path.parent.parent
    dm = WebVideoDataModule(
        str(root), val_fraction=0.34, resize=(24, 32), crop=20, clips_per_video=2,
        eval_clips_per_video=3, batch_size=4, flip=True, scales=[24, 20], corner_crops=True,
        cache_dir=str(tmp_path / "cache"),
    )
    dm.prepare_data()
    dm.setup("fit")
    assert dm.categories == ["cat0", "cat1"] and dm.num_classes == 2
    assert len(dm.dataset("train")) == 4 * 2 and len(dm.dataset("val")) == 2 * 3
    batch = next(iter(dm.train_dataloader()))
    assert batch["clip"].shape == (4, 3, 16, 20, 20) and batch["clip"].dtype == torch.uint8
    assert batch["label"].dtype == torch.long
    assert set(dm.dataset("val").videos).isdisjoint(dm.dataset("train").videos)


def test_datamodule_rejects_unknown_categories_and_small_clips(videos):
    root = str(videos[0].path.parent.parent)
    dm = WebVideoDataModule(root, categories=["cat0"], resize=(24, 32), crop=20)
    with pytest.raises(ConfigError, match=r"\['cat1'\] of the videos are not in"):
        dm.setup("fit")
    with pytest.raises(ConfigError, match="smaller than the crop size 112"):
        WebVideoDataModule(root, resize=(64, 80))


# ---------------------------------------------------------------------- benchmark h5 link
def test_event_dataset_and_video_resolution(videos, tmp_path):
    from vsumlab.data.schema import read_dataset

    path = write_event_dataset(videos, tmp_path / "events.h5", n_users=3, step=4)
    dataset = read_dataset(path)
    record = dataset["video_1"]
    assert record.n_frames == 32 and record.picks.tolist() == list(range(0, 32, 4))
    first, last = videos[0].event
    np.testing.assert_array_equal(
        record.extra["planted"], ((record.picks >= first) & (record.picks <= last)).astype(float)
    )
    on = record.user_anno[:, first : last + 1]
    assert on.min() >= 4 and np.delete(record.user_anno, np.s_[first : last + 1], 1).max() <= 2
    files = dataset_videos(dataset, videos[0].path.parent.parent, path)
    assert files["video_1"] == videos[0].path
    assert probe(files["video_4"]).n_frames == dataset["video_4"].n_frames
    record.video_name = "nowhere"
    with pytest.raises(DatasetError, match="video 'video_1' field 'video_name': no video named"):
        dataset_videos([record], tmp_path)


def test_synthetic_background_is_shared_and_events_are_planted():
    from vsumlab.data.synthetic.event_videos import render_frames

    rng = np.random.default_rng(0)
    background = (0.3, 1.2, 120.0)
    a = render_frames(8, (32, 24), [(0, 0, 1)], 3, rng, background=background).astype(float)
    b = render_frames(8, (32, 24), [(1, 6, 7)], 3, rng, background=background).astype(float)
    # where neither shows its event the videos share the pattern; only pixel noise (sd 6,
    # so a mean absolute difference of 6.8) differs; frames with an event differ more
    assert np.abs(a[2:6] - b[2:6]).mean() < 8.0 and np.abs(a[:2] - b[:2]).mean() > 10.0
    # during its event, category 0's square is its colour (230, 30, 30)
    red = (a[0, ..., 0] > 200) & (a[0, ..., 1] < 60)
    assert red.sum() == 12 * 12  # side = height // 2
