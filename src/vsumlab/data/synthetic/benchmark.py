"""The embedded default benchmark: TVSum-like and SumMe-like sets with planted structure.

Real SumMe/TVSum features cannot ship with the project, so every pipeline runs by default on
synthetic sets that imitate what matters for summarization research:

* **Videos.** 30 fps, steps every 15th frame (2 fps) like the standard feature files. TVSum-like:
  50 videos of 1-3 minutes in 10 categories (5 each, TVSum's category codes); SumMe-like: 25
  videos of 0.5-3 minutes. Lengths are shorter than the real sets (TVSum averages 4 minutes) so
  that a whole set stays a few MB on disk and trains in minutes on a CPU.
* **Shots.** Lengths log-normal around 3 s, clipped to 1-12 s. These true shot boundaries are
  written as ``change_points`` (the real files take them from KTS; using the planted ones keeps
  generation independent of KTS and gives a known ground truth for segmentation tests).
* **Planted importance.** Runs of 1-3 consecutive shots covering 15-30% of each video are
  *planted* important segments (importance 1); the other shots get a background importance in
  [0, 0.4]. ``record.extra["planted"]`` is the (n_steps,) 0/1 planted mask.
* **Features** (1024-d): a smooth per-shot scene embedding in a shared 64-d subspace, AR(1)
  temporal noise, plus ``signal * importance`` times a hidden unit direction ``u``. The direction
  is dense (about ``signal/32`` per coordinate against unit-variance content), so no single
  coordinate reveals importance while a learned projection does. ``u`` and the scene subspace
  come from a fixed seed shared by every generated set, so synthetic TVSum-like and SumMe-like
  sets live in one feature space (as real GoogLeNet features do) and transfer settings make
  sense. Values are rounded to multiples of 1/16 so the files compress.
* **Generic background** (``background="generic"``, off by default): every non-planted shot shows
  one of ``generic_scenes`` scenes shared by every video of every set (like intros, black frames,
  studio or establishing shots), while planted shots keep their video's own scenes; importance is
  still planted along ``u`` in both. By default all shots are video-specific, so planted steps
  differ from the others only along a direction shared by all videos, i.e. they are *not* what
  tells a video apart. Methods that find informative frames by distinctiveness (ViSP: the frames
  that identify their video among others) need the generic variant for their premise to hold.
  Planted masks, annotations and planted steps' features are those of the default set with the
  same seed: only the background steps' features change (drawn after everything else).
* **TVSum-like annotators** (20): each scores every 2-second segment 1..5 from the segment's
  importance times a personal gain plus strong personal noise, mapped to 1..5 by per-user
  quantiles around TVSum's score histogram (47/26/15/8/4 %). The noise is set so that the mean
  pairwise Kendall tau-b of annotators is close to real TVSum's 0.18.
* **SumMe-like annotators** (15-18): each cuts the video into personal intervals of 1-10 s,
  perceives importance through smooth personal noise, and keeps the best intervals within a
  personal budget of 5-15.5% of the frames (SumMe's range), giving a binary selection.

Derived fields follow the importers exactly (:mod:`vsumlab.data.importers`): ``gtscore`` = mean
annotation at the picks, min-max normalised; ``gtsummary`` = 15% keyshots of ``gtscore``;
TVSum-like ``user_summary`` = each annotator's 15% keyshot summary of their own scores.
Everything is a deterministic function of ``seed`` (numpy ``SeedSequence`` per video).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
from scipy.signal import lfilter

from vsumlab.data.importers import derive_gt_fields, tvsum_user_summaries
from vsumlab.data.schema import Dataset, VideoRecord, shots_from_change_points
from vsumlab.errors import ConfigError

#: TVSum's ten category codes (ydata-tvsum50.mat), five videos each
TVSUM_CATEGORIES = ("VT", "VU", "GA", "MS", "PK", "PR", "FM", "BK", "BT", "DS")
#: cumulative share of TVSum scores 1..4 (measured on ydata-tvsum50.mat: 47/26/15/8/4 %)
TVSUM_SCORE_CDF = (0.466, 0.728, 0.881, 0.960)
#: the feature space (scene subspace and hidden direction) is the same for every set
FEATURE_SPACE_SEED = 20_240_601
KINDS = ("tvsum", "summe")


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes and noise levels of one synthetic set; any field can be overridden by name."""

    n_videos: int
    min_duration: float  # seconds
    max_duration: float
    min_users: int
    max_users: int
    annotator_noise: float  # std of the personal noise, in units of importance
    fps: float = 30.0
    stride: int = 15  # frames between steps (2 fps at 30 fps)
    feature_dim: int = 1024
    scene_dim: int = 64
    signal: float = 2.5  # importance-1 shift along the hidden direction
    shot_median: float = 3.0  # seconds
    shot_min: float = 1.0
    shot_max: float = 12.0
    planted_min: float = 0.15  # planted share of frames, drawn per video
    planted_max: float = 0.30
    background_max: float = 0.4  # importance of non-planted shots is U(0, background_max)
    # "scenes": every shot shows its own video's scene; "generic": non-planted shots show one of
    # generic_scenes scenes shared by every video and set (see the module docstring)
    background: str = "scenes"
    generic_scenes: int = 4


BACKGROUNDS = ("scenes", "generic")
#: fields added after the default sets were published; left out of a file's recorded config
#: while at their defaults, so the default sets stay byte-identical
_LATER_FIELDS = {"background": "scenes", "generic_scenes": 4}


DEFAULTS: dict[str, SyntheticConfig] = {
    "tvsum": SyntheticConfig(
        n_videos=50, min_duration=60, max_duration=180, min_users=20, max_users=20,
        annotator_noise=0.62,
    ),
    "summe": SyntheticConfig(
        n_videos=25, min_duration=30, max_duration=180, min_users=15, max_users=18,
        annotator_noise=0.65,
    ),
}  # fmt: skip


def synthetic_config(kind: str, **size_overrides: Any) -> SyntheticConfig:
    """The default config of ``kind`` with overrides; unknown names raise :class:`ConfigError`."""
    if kind not in DEFAULTS:
        raise ConfigError(f"synthetic kind {kind!r} is unknown; expected one of {', '.join(KINDS)}")
    known = {f.name for f in fields(SyntheticConfig)}
    unknown = sorted(set(size_overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown synthetic option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    config = replace(DEFAULTS[kind], **size_overrides)
    if config.n_videos < 1 or config.min_users < 2 or config.max_users < config.min_users:
        raise ConfigError(f"synthetic options need n_videos >= 1 and 2 <= min_users <= max_users: {config}")
    if not 0 < config.min_duration <= config.max_duration:
        raise ConfigError(f"synthetic options need 0 < min_duration <= max_duration: {config}")
    if config.feature_dim < 1 or config.scene_dim < 1 or config.stride < 1 or config.fps <= 0:
        raise ConfigError(f"synthetic options need feature_dim, scene_dim, stride, fps > 0: {config}")
    if config.background not in BACKGROUNDS:
        raise ConfigError(
            f"synthetic option background={config.background!r} is unknown; expected one of "
            f"{', '.join(BACKGROUNDS)}"
        )
    if config.generic_scenes < 1:
        raise ConfigError(f"synthetic option generic_scenes={config.generic_scenes} must be >= 1")
    return config


def feature_space(config: SyntheticConfig) -> tuple[np.ndarray, np.ndarray]:
    """(scene basis (scene_dim, D), hidden unit direction (D,)), the same for every set.

    Other synthetic generators (captions) build on it so their features share this space.
    """
    rng = np.random.default_rng([FEATURE_SPACE_SEED, config.feature_dim, config.scene_dim])
    basis = rng.standard_normal((config.scene_dim, config.feature_dim)) / np.sqrt(config.scene_dim)
    direction = rng.standard_normal(config.feature_dim)
    return basis, direction / np.linalg.norm(direction)


_feature_space = feature_space  # earlier private name, still used by .dense_captions


def _shot_starts(rng: np.random.Generator, n_frames: int, config: SyntheticConfig) -> np.ndarray:
    """Frame indices where shots start (0 first); the last shot is at least shot_min long."""
    fps = config.fps
    starts = [0]
    while True:
        seconds = np.clip(rng.lognormal(np.log(config.shot_median), 0.6), config.shot_min, config.shot_max)
        nxt = starts[-1] + max(1, int(round(seconds * fps)))
        if nxt > n_frames - config.shot_min * fps:
            break
        starts.append(nxt)
    return np.asarray(starts, dtype=np.int64)


def _plant(rng: np.random.Generator, shot_lengths: np.ndarray, config: SyntheticConfig) -> np.ndarray:
    """0/1 per shot: runs of 1-3 consecutive shots until the planted share is reached."""
    n_shots = len(shot_lengths)
    planted = np.zeros(n_shots, dtype=bool)
    target = rng.uniform(config.planted_min, config.planted_max) * shot_lengths.sum()
    for _ in range(4 * n_shots):  # bounded: a short video may not reach the share exactly
        if shot_lengths[planted].sum() >= target or planted.all():
            break
        first = int(rng.integers(n_shots))
        planted[first : first + int(rng.integers(1, 4))] = True
    if not planted.any():  # every video has something worth summarizing
        planted[int(rng.integers(n_shots))] = True
    return planted


def _features(
    rng: np.random.Generator,
    step_shot: np.ndarray,
    n_shots: int,
    step_importance: np.ndarray,
    config: SyntheticConfig,
) -> np.ndarray:
    basis, direction = feature_space(config)
    # neighbouring shots look alike (same place, new angle), as real footage does
    fresh = rng.standard_normal((n_shots, config.scene_dim))
    scenes = lfilter([np.sqrt(1 - 0.3**2)], [1, -0.3], fresh, axis=0)
    content = scenes[step_shot] @ basis
    noise = lfilter([np.sqrt(1 - 0.7**2)], [1, -0.7], rng.standard_normal(content.shape), axis=0)
    feats = content + 0.3 * noise + config.signal * step_importance[:, None] * direction[None, :]
    return (np.round(feats * 16) / 16).astype(np.float32)


def generic_scene_embeddings(config: SyntheticConfig) -> np.ndarray:
    """(generic_scenes, D) scene embeddings shared by every generated set (fixed seed)."""
    basis, _ = feature_space(config)
    rng = np.random.default_rng(
        [FEATURE_SPACE_SEED, config.feature_dim, config.scene_dim, 1, config.generic_scenes]
    )
    return rng.standard_normal((config.generic_scenes, config.scene_dim)) @ basis


def _generic_background(
    rng: np.random.Generator,
    features: np.ndarray,
    step_shot: np.ndarray,
    planted_shots: np.ndarray,
    step_importance: np.ndarray,
    config: SyntheticConfig,
) -> np.ndarray:
    """``features`` with every non-planted shot replaced by a shared generic scene (same noise
    and hidden-direction shift as :func:`_features`); planted steps are kept as they are."""
    _, direction = feature_space(config)
    scene_of_shot = rng.integers(config.generic_scenes, size=len(planted_shots))
    content = generic_scene_embeddings(config)[scene_of_shot[step_shot]]
    noise = lfilter([np.sqrt(1 - 0.7**2)], [1, -0.7], rng.standard_normal(content.shape), axis=0)
    generic = content + 0.3 * noise + config.signal * step_importance[:, None] * direction[None, :]
    generic = (np.round(generic * 16) / 16).astype(np.float32)
    return np.where(planted_shots[step_shot][:, None], features, generic)


def _tvsum_annotators(
    rng: np.random.Generator, importance: np.ndarray, n_users: int, config: SyntheticConfig
) -> np.ndarray:
    """(n_users, n_frames) scores 1..5, constant over 2-second segments as in TVSum."""
    n_frames = len(importance)
    seg_len = max(1, int(round(2 * config.fps)))
    seg_of_frame = np.arange(n_frames) // seg_len
    n_segs = int(seg_of_frame[-1]) + 1
    seg_imp = np.bincount(seg_of_frame, weights=importance) / np.bincount(seg_of_frame)
    scores = np.empty((n_users, n_frames), dtype=np.float32)
    for user in range(n_users):
        gain = rng.uniform(0.6, 1.4)
        raw = gain * seg_imp + config.annotator_noise * rng.standard_normal(n_segs)
        # personal use of the scale: quantile cut-offs jittered around TVSum's histogram
        cdf = np.clip(np.asarray(TVSUM_SCORE_CDF) + rng.normal(0, 0.05, 4), 0.05, 0.99)
        ranks = (np.argsort(np.argsort(raw, kind="stable"), kind="stable") + 0.5) / n_segs
        seg_scores = 1 + np.searchsorted(np.sort(cdf), ranks)
        scores[user] = seg_scores[seg_of_frame]
    return scores


def _summe_annotators(
    rng: np.random.Generator, importance: np.ndarray, n_users: int, config: SyntheticConfig
) -> np.ndarray:
    """(n_users, n_frames) binary selections of personal intervals within 5-15.5% of frames."""
    n_frames = len(importance)
    fps = config.fps
    selections = np.zeros((n_users, n_frames), dtype=np.float32)
    knots = np.arange(0, n_frames + fps, fps)
    for user in range(n_users):
        budget = (0.155 - 0.105 * rng.beta(1, 5)) * n_frames
        # perception noise varies smoothly (per second), so users disagree on whole moments
        noise = np.interp(np.arange(n_frames), knots, rng.standard_normal(len(knots)))
        perceived = importance + config.annotator_noise * noise
        starts = [0]
        while starts[-1] < n_frames:
            seconds = np.clip(rng.lognormal(np.log(3.0), 0.6), 1.0, 10.0)
            starts.append(starts[-1] + max(1, int(round(seconds * fps))))
        bounds = np.minimum(np.asarray(starts), n_frames)
        cumsum = np.concatenate([[0.0], np.cumsum(perceived)])
        lengths = np.diff(bounds)
        values = (cumsum[bounds[1:]] - cumsum[bounds[:-1]]) / lengths
        used = 0
        for index in np.argsort(-values, kind="stable"):
            if used + lengths[index] <= budget:
                selections[user, bounds[index] : bounds[index + 1]] = 1
                used += lengths[index]
        if used == 0:  # budget below the shortest interval: keep the best one's first frames
            index = int(np.argmax(values))
            selections[user, bounds[index] : bounds[index] + max(1, int(budget))] = 1
    return selections


def make_synthetic_record(
    kind: str, index: int, rng: np.random.Generator, config: SyntheticConfig
) -> VideoRecord:
    """One synthetic video ``video_{index + 1}`` drawn from ``rng``."""
    duration = rng.uniform(config.min_duration, config.max_duration)
    n_frames = max(int(duration * config.fps), config.stride)
    starts = _shot_starts(rng, n_frames, config)
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]])
    change_points, n_frame_per_seg = shots_from_change_points(np.stack([starts, ends], axis=1))
    planted_shots = _plant(rng, n_frame_per_seg, config)
    background = rng.uniform(0, config.background_max, len(starts))
    shot_importance = np.where(planted_shots, 1.0, background)
    frame_shot = np.repeat(np.arange(len(starts)), n_frame_per_seg)
    importance = shot_importance[frame_shot]

    picks = np.arange(0, n_frames, config.stride, dtype=np.int64)
    step_shot = frame_shot[picks]
    features = _features(rng, step_shot, len(starts), importance[picks], config)
    n_users = int(rng.integers(config.min_users, config.max_users + 1))
    key = f"video_{index + 1}"
    if kind == "tvsum":
        user_anno = _tvsum_annotators(rng, importance, n_users, config)
        user_summary = tvsum_user_summaries(user_anno, change_points)
        frame_mean = user_anno.mean(axis=0)
        category = TVSUM_CATEGORIES[index * len(TVSUM_CATEGORIES) // config.n_videos]
        names = {
            "video_name": f"synthetic_tvsum_{index + 1:02d}",
            "video_id": f"synthetic_tvsum_{index + 1:02d}",
            "category": category,
            "title": f"Synthetic TVSum-like video {index + 1} ({category})",
        }
    else:
        user_anno = None
        user_summary = _summe_annotators(rng, importance, n_users, config)
        frame_mean = user_summary.mean(axis=0)
        names = {"video_name": f"synthetic_summe_{index + 1:02d}"}
    gtscore, gtsummary = derive_gt_fields(frame_mean, picks, change_points, n_frames)
    if config.background == "generic":  # last draws: everything else matches the default set
        features = _generic_background(
            rng, features, step_shot, planted_shots, importance[picks], config
        )
    return VideoRecord(
        key=key,
        features=features,
        picks=picks,
        n_frames=n_frames,
        fps=config.fps,
        change_points=change_points,
        n_frame_per_seg=n_frame_per_seg,
        gtscore=gtscore,
        gtsummary=gtsummary,
        user_summary=user_summary,
        user_anno=user_anno,
        extra={"planted": planted_shots[step_shot].astype(np.uint8)},
        **names,
    )


def _recorded_config(config: SyntheticConfig) -> dict[str, Any]:
    recorded = asdict(config)
    for name, default in _LATER_FIELDS.items():
        if recorded[name] == default:
            del recorded[name]
    return recorded


def make_synthetic_dataset(kind: str, seed: int = 0, **size_overrides: Any) -> Dataset:
    """A TVSum-like (``kind="tvsum"``) or SumMe-like (``"summe"``) set, deterministic in ``seed``.

    ``size_overrides`` replace fields of :class:`SyntheticConfig` (e.g. ``n_videos=4,
    feature_dim=32`` for tests).
    """
    config = synthetic_config(kind, **size_overrides)
    children = np.random.SeedSequence([int(seed), KINDS.index(kind)]).spawn(config.n_videos)
    records = {}
    for index, child in enumerate(children):
        record = make_synthetic_record(kind, index, np.random.default_rng(child), config)
        records[record.key] = record
    attrs = {
        # its own name: pretraining on both variants at once needs distinct dataset names
        "dataset_name": f"synthetic_{kind}{'_generic' if config.background == 'generic' else ''}",
        "annotation_style": kind,
        "synthetic_features": True,
        "synthetic_seed": int(seed),
        "synthetic_config": json.dumps(_recorded_config(config)),
    }
    return Dataset(records=records, attrs=attrs)
