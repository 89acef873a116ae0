"""Stand-ins for the published ``eccv16_dataset_{summe,tvsum,ovp,youtube}_google_pool5.h5``,
in their exact layout, built from the real annotations in ``../shared/data``.

What is real and what is not:

* real: the videos, their order (SumMe: names sorted case-insensitively; TVSum: the order of
  ``ydata-tvsum50.mat``), frame counts, and the users' selections. SumMe ``user_summary`` is
  ``user_score > 0`` transposed, exactly as the curators made it. TVSum ``user_summary`` is each
  user's 1..5 scores turned into that user's 15% knapsack summary over the video's shots, the
  curators' construction (with our shots instead of their KTS shots, so the rows differ from the
  published ones in where shot boundaries fall, not in how they were made).
* synthetic: change points (KTS-like: seeded log-normal shot lengths around 2.5 s, inclusive
  ranges covering every frame) and features: Gaussian noise plus ``gtscore`` times a fixed
  direction, a planted signal a model can learn. ``dim`` may be small where a test does not
  need 1024. F1 levels therefore differ from those on the published files (other shots); the
  rank correlations of the human reference do not depend on shots (tau 0.177, rho 0.204 once
  ``user_anno`` is attached).
* layout: per video exactly ``features`` (float32), ``gtscore``, ``gtsummary`` (float32),
  ``user_summary`` (float32), ``change_points``, ``n_frame_per_seg``, ``n_frames``, ``picks``
  (every 15th frame), ``n_steps``, the integer ones stored as float64 (the worst case the real
  files show); SumMe adds ``video_name`` as a bytes dataset. No ``fps``, no ``user_anno``, no
  file or group attributes. OVP/YouTube stand-ins hold only ``features``, ``gtscore`` and
  ``gtsummary``.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from vsumlab.data.importers import (
    derive_gt_fields,
    read_summe_video,
    read_tvsum_videos,
    standard_picks,
    summe_files,
    tvsum_user_summaries,
)

#: the per-video datasets of the published SumMe/TVSum files (SumMe adds video_name)
PUBLISHED_FIELDS = (
    "features",
    "gtscore",
    "gtsummary",
    "user_summary",
    "change_points",
    "n_frame_per_seg",
    "n_frames",
    "picks",
    "n_steps",
)
#: the per-video datasets of the published OVP/YouTube files
TRAIN_ONLY_FIELDS = ("features", "gtscore", "gtsummary")
#: the file names users download
FILE_NAMES = {
    name: f"eccv16_dataset_{name}_google_pool5.h5" for name in ("summe", "tvsum", "ovp", "youtube")
}
#: videos in the published OVP and YouTube files
TRAIN_ONLY_VIDEOS = {"ovp": 50, "youtube": 39}


def standin_change_points(n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """(S, 2) inclusive shot ranges covering every frame, KTS-like in their spread: lengths
    log-normal around 75 frames (2.5 s at 30 fps), from 10 frames to 40 s."""
    lengths = np.exp(rng.normal(np.log(75), 0.9, size=n_frames // 10 + 1))
    lengths = np.clip(np.round(lengths), 10, 1200).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    starts = starts[starts < n_frames]
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]])
    return np.stack([starts, ends], axis=1)


def planted_features(gtscore: np.ndarray, rng: np.random.Generator, dim: int) -> np.ndarray:
    """Noise plus ``gtscore`` along one fixed direction: the importance is linearly learnable."""
    direction = np.random.default_rng(12345).standard_normal(dim)
    direction /= np.linalg.norm(direction)
    noise = 0.3 * rng.standard_normal((len(gtscore), dim))
    return (noise + 3.0 * np.asarray(gtscore)[:, None] * direction).astype(np.float32)


def _as_float(value: np.ndarray | int) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _write_video(
    group: h5py.Group,
    user_summary: np.ndarray,
    frame_mean: np.ndarray,
    rng: np.random.Generator,
    dim: int,
) -> None:
    n_frames = user_summary.shape[1]
    picks = standard_picks(n_frames)
    change_points = standin_change_points(n_frames, rng)
    gtscore, gtsummary = derive_gt_fields(frame_mean, picks, change_points, n_frames)
    group.create_dataset("features", data=planted_features(gtscore, rng, dim))
    group.create_dataset("gtscore", data=gtscore.astype(np.float32))
    group.create_dataset("gtsummary", data=gtsummary.astype(np.float32))
    group.create_dataset("user_summary", data=user_summary.astype(np.float32))
    group.create_dataset("change_points", data=_as_float(change_points))
    group.create_dataset(
        "n_frame_per_seg", data=_as_float(change_points[:, 1] - change_points[:, 0] + 1)
    )
    group.create_dataset("n_frames", data=_as_float(n_frames))
    group.create_dataset("picks", data=_as_float(picks))
    group.create_dataset("n_steps", data=_as_float(len(picks)))


def write_published_tvsum(
    path: Path, mat_path: Path, dim: int = 1024, n_videos: int | None = None, seed: int = 0
) -> Path:
    """TVSum stand-in from ``ydata-tvsum50.mat`` (the first ``n_videos`` videos, default all)."""
    count, videos = read_tvsum_videos(
        mat_path, None if n_videos is None else set(range(n_videos))
    )
    with h5py.File(path, "w") as handle:
        for index, video in sorted(videos.items()):
            rng = np.random.default_rng([seed, index])
            n_frames = video.n_frames
            change_points = standin_change_points(n_frames, np.random.default_rng([seed, index, 1]))
            user_summary = tvsum_user_summaries(video.user_anno, change_points)
            _write_video(
                handle.create_group(f"video_{index + 1}"),
                user_summary,
                video.user_anno.mean(axis=0),
                rng,
                dim,
            )
    return path


def write_published_summe(
    path: Path, gt_dir: Path, dim: int = 1024, n_videos: int | None = None, seed: int = 0
) -> Path:
    """SumMe stand-in from ``GT/*.mat`` (the first ``n_videos`` in the standard order)."""
    files = summe_files(gt_dir)[:n_videos]
    with h5py.File(path, "w") as handle:
        for index, file in enumerate(files):
            video = read_summe_video(file)
            user_summary = (video.user_score > 0).T.astype(np.float32)
            group = handle.create_group(f"video_{index + 1}")
            _write_video(
                group,
                user_summary,
                user_summary.mean(axis=0),
                np.random.default_rng([seed, index]),
                dim,
            )
            group.create_dataset("video_name", data=np.bytes_(video.name.encode("utf-8")))
    return path


def write_published_train_only(
    path: Path, n_videos: int, dim: int = 1024, seed: int = 0
) -> Path:
    """OVP/YouTube stand-in: per video only features, gtscore (in [0, 1]) and gtsummary."""
    with h5py.File(path, "w") as handle:
        for index in range(n_videos):
            rng = np.random.default_rng([seed, 7, index])
            n_steps = int(rng.integers(40, 160))
            gtscore = np.clip(
                np.convolve(rng.random(n_steps), np.ones(5) / 5, mode="same"), 0, 1
            ).astype(np.float32)
            group = handle.create_group(f"video_{index + 1}")
            group.create_dataset("features", data=planted_features(gtscore, rng, dim))
            group.create_dataset("gtscore", data=gtscore)
            cut = np.quantile(gtscore, 0.85)
            group.create_dataset("gtsummary", data=(gtscore >= cut).astype(np.float32))
    return path


def write_published_set(
    folder: Path,
    mat_path: Path,
    gt_dir: Path,
    dim: int = 1024,
    n_videos: dict[str, int] | None = None,
    seed: int = 0,
) -> dict[str, Path]:
    """All four stand-ins under their published names in ``folder``; ``n_videos`` limits the
    count per set (e.g. ``{"ovp": 5}``) for speed."""
    folder.mkdir(parents=True, exist_ok=True)
    limits = dict(n_videos or {})
    paths = {name: folder / file for name, file in FILE_NAMES.items()}
    write_published_tvsum(paths["tvsum"], mat_path, dim, limits.get("tvsum"), seed)
    write_published_summe(paths["summe"], gt_dir, dim, limits.get("summe"), seed)
    for name, count in TRAIN_ONLY_VIDEOS.items():
        write_published_train_only(paths[name], limits.get(name, count), dim, seed)
    return paths


def published_datasets(path: Path) -> dict[str, tuple[str, bytes]]:
    """``"<video>/<field>"`` -> (dtype, raw bytes) of every dataset in a file: what must stay
    byte-equal when annotations are attached."""
    found: dict[str, tuple[str, bytes]] = {}
    with h5py.File(path, "r") as handle:

        def collect(name: str, node: h5py.HLObject) -> None:
            if isinstance(node, h5py.Dataset):
                value = np.asarray(node[()])
                found[name] = (str(node.dtype), value.tobytes() + str(value.shape).encode())

        handle.visititems(collect)
    return found
