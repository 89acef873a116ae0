"""KTS: equality with the straightforward dynamic program, planted cuts, penalty weight, errors."""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy as np
import pytest

from vsumlab.errors import ConfigError, DatasetError, VsumError
from vsumlab.segmentation import hull
from vsumlab.segmentation.kts import kts, video_shots
from vsumlab.segmentation.scatter import SegmentScatter

from ._kts_oracle import oracle_kts


def _piecewise(lengths, dim, noise, seed):
    """Constant random non-negative scenes (like CNN features) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    scenes = np.abs(rng.normal(size=(len(lengths), dim)))
    x = np.repeat(scenes, lengths, axis=0) + noise * rng.normal(size=(sum(lengths), dim))
    return x, np.cumsum(lengths)[:-1]


def _random_case(seed):
    """Small inputs of every kind, including exact ties (repeated frames, 1-D and 0/1 features)."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(1, 28)), int(rng.integers(1, 6))
    kind = seed % 5
    if kind == 0:
        x = rng.normal(size=(n, d))
    elif kind == 1:  # frames drawn from 3 prototypes: many equal-scatter segmentations
        x = rng.normal(size=(3, d))[rng.integers(0, 3, n)]
    elif kind == 2:  # binary features: scatters repeat exactly
        x = rng.integers(0, 2, size=(n, d)).astype(np.float64)
    elif kind == 3:  # 1-D features normalise to -1, 0, +1
        x = rng.integers(-2, 3, size=(n, 1)).astype(np.float64)
    else:
        x, _ = _piecewise(rng.integers(1, 6, size=6), d, 0.3, seed)
    vmax = [1.0, 0.1, 0.5, 3.0, 0.0][seed % 5 if seed % 7 else (seed + 1) % 5]
    cap = None if seed % 3 else int(rng.integers(0, len(x) + 2))
    return x, cap, vmax


@pytest.mark.parametrize("seed", range(240))
def test_equals_straightforward_program_on_small_inputs(seed):
    x, cap, vmax = _random_case(seed)
    np.testing.assert_array_equal(kts(x, cap, vmax), oracle_kts(x, cap, vmax))


@pytest.mark.parametrize(
    ("n", "dim", "noise", "cap", "vmax", "seed"),
    [
        (130, 16, 0.4, None, 1.0, 0),  # crosses a 128-column block
        (300, 32, 0.8, None, 1.0, 1),  # noisy: many runs of the penalised program
        (260, 8, 0.6, None, 0.2, 2),  # low penalty: many segments
        (200, 16, 0.4, 3, 1.0, 3),  # cap binds: exact layered program decides
        (257, 4, 1.5, 40, 0.5, 4),  # cap binds in a noisy, low-dimensional case
        (150, 64, 2.0, None, 1.0, 5),  # mostly noise
    ],
)
def test_equals_straightforward_program_across_blocks(n, dim, noise, cap, vmax, seed):
    rng = np.random.default_rng(seed)
    x, _ = _piecewise(rng.integers(3, 40, size=n)[: n // 3], dim, noise, seed)
    x = x[:n]
    np.testing.assert_array_equal(kts(x, cap, vmax), oracle_kts(x, cap, vmax))


def test_hand_computed_two_scenes():
    # 3 frames e1 then 2 frames e2: S(0) = 5 * (1 - |(0.6, 0.4)|^2) = 2.4, S(1) = 0.
    # cost(0) = 0.48, cost(1) = vmax * (1/10) * (log 5 + 1) = vmax * 0.26094 (S(m>1) = 0 and the
    # penalty grows): the cut survives up to vmax = 0.48 / 0.26094 = 1.8395.
    x = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2)
    threshold = 0.48 / ((math.log(5) + 1) / 10)
    assert threshold == pytest.approx(1.8395, abs=1e-4)
    assert kts(x, vmax=1.0).tolist() == [3]
    assert kts(x, vmax=threshold - 1e-6).tolist() == [3]
    assert kts(x, vmax=threshold + 1e-6).tolist() == []
    # scale does not matter (L2 normalisation), and the dtype may be integer
    assert kts((x * [[7.0], [2.0], [0.5], [3.0], [9.0]]).astype(np.float32)).tolist() == [3]
    assert kts(x.astype(np.int64) * 4).tolist() == [3]


def test_one_and_two_steps():
    assert kts(np.ones((1, 8))).tolist() == []
    assert kts(np.ones((2, 8))).tolist() == []
    # orthogonal pair: cost(0) = 1/2, cost(1) = vmax * (log 2 + 1) / 4 = vmax * 0.42329, so the
    # cut holds up to vmax = 0.5 / 0.42329 = 1.18122
    pair = np.eye(2)
    assert kts(pair, vmax=1.0).tolist() == [1]
    assert kts(pair, vmax=1.181).tolist() == [1]
    assert kts(pair, vmax=1.182).tolist() == []


def test_zero_rows_are_a_scene_of_their_own():
    x = np.vstack([np.zeros((4, 3)), np.tile([1.0, 2.0, 0.0], (5, 1)), np.zeros((3, 3))])
    assert kts(x, vmax=0.5).tolist() == [4, 9]


@pytest.mark.parametrize("seed", range(4))
def test_recovers_planted_cuts(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 60, size=12)
    x, cuts = _piecewise(lengths, 128, 0.5, seed)
    np.testing.assert_array_equal(kts(x), cuts)


def test_recovers_planted_cuts_of_a_long_1024_d_video():
    lengths = np.random.default_rng(7).integers(6, 90, size=40)  # ~1,900 steps
    x, cuts = _piecewise(lengths, 1024, 0.5, 7)
    np.testing.assert_array_equal(kts(x.astype(np.float32)), cuts)


def test_vmax_trades_segments_for_scatter():
    rng = np.random.default_rng(3)
    x, cuts = _piecewise(rng.integers(5, 40, size=15), 32, 0.5, 3)
    vmaxes = (0.0, 0.05, 0.5, 1.0, 2.0, 5.0, 1000.0)
    found = {v: kts(x, vmax=v) for v in vmaxes}
    counts = [len(found[v]) for v in vmaxes]
    # vmax = 0: only scatter counts, so every frame of noisy features becomes its own segment
    assert counts[0] == len(x) - 1
    assert counts == sorted(counts, reverse=True)  # heavier penalty, never more change points
    np.testing.assert_array_equal(found[1.0], cuts)  # the default finds the planted scenes
    assert 0 < counts[4] < len(cuts)  # vmax = 2 already merges the least distinct scenes
    assert set(found[2.0].tolist()) <= set(cuts.tolist())
    assert counts[-1] == 0


def test_vmax_zero_splits_exactly_where_features_change():
    # noise-free scenes: zero scatter is reached with exactly the planted cuts, and no fewer
    x, cuts = _piecewise([5, 1, 9, 3, 7], 6, 0.0, 11)
    np.testing.assert_array_equal(kts(x, vmax=0.0), cuts)


def test_cap_on_change_points():
    x, cuts = _piecewise([10, 10, 10, 10, 10], 16, 0.1, 2)
    np.testing.assert_array_equal(kts(x), cuts)
    assert kts(x, max_change_points=0).tolist() == []
    assert len(kts(x, max_change_points=2)) == 2
    np.testing.assert_array_equal(kts(x, max_change_points=2), oracle_kts(x, 2))
    np.testing.assert_array_equal(kts(x, max_change_points=10_000), cuts)  # clamped to n - 1


def test_hull_search_runs_few_penalised_programs():
    # the point of the search: a handful of O(n * band) runs instead of n - 1 layers
    rng = np.random.default_rng(5)
    x, cuts = _piecewise(rng.integers(5, 50, size=30), 64, 0.5, 5)
    search = hull._HullSearch(SegmentScatter(x), len(x) - 1, 1.0)
    np.testing.assert_array_equal(search.run(), cuts)
    assert search.runs <= 12


def test_block_cache_respects_its_budget():
    rng = np.random.default_rng(6)
    x, cuts = _piecewise(rng.integers(10, 60, size=20), 16, 0.5, 6)
    budget = 200_000  # a few blocks: the rest are recomputed on demand, with the same result
    costs = SegmentScatter(x, cache_bytes=budget)
    np.testing.assert_array_equal(hull.choose_change_points(costs, len(x) - 1, 1.0), cuts)
    assert 0 < costs._cached <= budget


@pytest.mark.slow
def test_memory_stays_far_below_the_gram_matrix():
    rng = np.random.default_rng(9)
    x, cuts = _piecewise(rng.integers(10, 60, size=90), 64, 0.5, 9)  # ~3,100 steps
    n = len(x)
    tracemalloc.start()
    try:
        found = kts(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(found, cuts)
    assert peak < 0.25 * n * n * 8, f"peak {peak / 2**20:.1f} MiB vs Gram {n * n * 8 / 2**20:.0f} MiB"


@pytest.mark.slow
def test_one_hour_at_2_fps_is_fast():
    lengths = np.random.default_rng(0).integers(10, 120, size=130)
    x, cuts = _piecewise(lengths, 1024, 0.5, 0)
    x, cuts = x[:7200].astype(np.float32), cuts[cuts < 7200]
    start = time.process_time()
    found = kts(x)
    seconds = time.process_time() - start
    np.testing.assert_array_equal(found, cuts)
    assert seconds < 30.0, f"{seconds:.1f} CPU s for 7,200 x 1,024"


# ------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("features", "match"),
    [
        (np.zeros((0, 4)), r"clip\.npy: expected \(steps >= 1, dim >= 1\) features, got \(0, 4\)"),
        (np.zeros((5, 0)), r"clip\.npy: expected \(steps >= 1, dim >= 1\) features, got \(5, 0\)"),
        (np.zeros(5), r"clip\.npy: expected a 2-D \(steps, dim\) feature array, got shape \(5,\)"),
        (np.zeros((2, 3, 4)), r"clip\.npy: expected a 2-D .* got shape \(2, 3, 4\)"),
        (np.array([[1.0, 2.0], [np.nan, 0.0]]), r"clip\.npy: features contain NaN or inf .*step 1"),
        (np.array([[1.0, np.inf]]), r"clip\.npy: features contain NaN or inf .*step 0"),
        (np.array([["a", "b"]]), r"clip\.npy: expected numeric features, got dtype <U1"),
    ],
)
def test_bad_features(features, match):
    with pytest.raises(DatasetError, match=match):
        kts(features, source="clip.npy")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_change_points": -1}, r"max_change_points: expected an integer >= 0, got -1"),
        ({"max_change_points": 2.5}, r"max_change_points: expected an integer >= 0, got 2\.5"),
        ({"max_change_points": True}, r"max_change_points: expected an integer >= 0, got True"),
        ({"vmax": -0.1}, r"vmax: expected a finite number >= 0, got -0\.1"),
        ({"vmax": float("nan")}, r"vmax: expected a finite number >= 0, got nan"),
        ({"vmax": "high"}, r"vmax: expected a finite number >= 0, got 'high'"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        kts(np.eye(3), **kwargs)


# -------------------------------------------------------------------------------- video_shots


def test_video_shots_maps_steps_to_inclusive_frame_ranges():
    x = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2)  # cut at step 3 (see the hand example)
    shots, n_frame_per_seg = video_shots(x, np.arange(5) * 15, 80)
    assert shots.tolist() == [[0, 44], [45, 79]]
    assert n_frame_per_seg.tolist() == [45, 35]
    assert shots.dtype == np.int64 and n_frame_per_seg.dtype == np.int64
    # the first shot starts at frame 0 even when the first pick does not; kwargs reach kts
    shots, n_frame_per_seg = video_shots(x, [7, 20, 33, 46, 59], 61)
    assert shots.tolist() == [[0, 45], [46, 60]]
    assert n_frame_per_seg.tolist() == [46, 15]
    shots, n_frame_per_seg = video_shots(x, [7, 20, 33, 46, 59], 61, vmax=5.0)
    assert shots.tolist() == [[0, 60]] and n_frame_per_seg.tolist() == [61]


def test_video_shots_cover_every_frame_once():
    rng = np.random.default_rng(4)
    x, _ = _piecewise(rng.integers(3, 30, size=10), 16, 0.4, 4)
    picks = np.arange(len(x)) * 15
    n_frames = int(picks[-1]) + 9
    shots, n_frame_per_seg = video_shots(x, picks, n_frames)
    assert shots[0, 0] == 0 and shots[-1, 1] == n_frames - 1
    np.testing.assert_array_equal(shots[1:, 0], shots[:-1, 1] + 1)
    assert n_frame_per_seg.sum() == n_frames
    np.testing.assert_array_equal(shots[1:, 0], picks[kts(x)])


@pytest.mark.parametrize(
    ("picks", "n_frames", "match"),
    [
        (np.arange(4) * 15, 100, r"v\.npy: picks: expected shape \(5,\) \(one frame per step\)"),
        (np.array([0, 15, 15, 30, 45]), 100, r"v\.npy: picks: expected strictly increasing"),
        (np.arange(5) * 15, 50, r"v\.npy: picks: expected frame indices in \[0, 49\]"),
        (np.array([-1, 15, 30, 45, 60]), 100, r"v\.npy: picks: expected frame indices in"),
        (np.arange(5) * 1.5, 100, r"v\.npy: picks: expected integer frame indices"),
        (np.arange(5) * 15, 80.5, r"v\.npy: n_frames: expected an integer >= 1, got 80\.5"),
    ],
)
def test_video_shots_bad_picks(picks, n_frames, match):
    with pytest.raises(DatasetError, match=match):
        video_shots(np.eye(5), picks, n_frames, source="v.npy")


def test_video_shots_bad_features():
    with pytest.raises(VsumError, match="NaN"):
        video_shots(np.full((3, 2), np.nan), [0, 1, 2], 3)


# ------------------------------------------------------------------------ real annotations


def test_real_tvsum_annotation_vectors(tvsum_mat):
    """TVSum annotators scored uniform ~2 s shots, so the 20 users' scores per frame are constant
    within a shot. As step features (every 15th frame) their directions change only at shot
    boundaries: with vmax = 0 KTS must cut exactly where the direction changes, no more."""
    import h5py

    with h5py.File(tvsum_mat, "r") as f:
        group = f["tvsum50"]
        anno = np.asarray(f[group["user_anno"][0, 0]]).T  # (n_frames, 20), video_1
    steps = anno[::15]
    unit = steps / np.linalg.norm(steps, axis=1, keepdims=True)
    changes = np.flatnonzero(np.abs(np.diff(unit, axis=0)).max(axis=1) > 1e-12) + 1
    assert len(steps) == 707 and len(changes) > 100
    np.testing.assert_array_equal(kts(steps, vmax=0.0), changes)
    # with the default penalty KTS keeps only some of them: none inside a constant stretch
    default = kts(steps)
    assert 0 < len(default) < len(changes)
    assert set(default.tolist()) <= set(changes.tolist())
