"""One video in, a summary out: decode, features, KTS shots, scores, knapsack, outputs.

The scorer is any object with ``score_video(features (T, D)) -> scores (T,)`` in [0, 1] (every
vsumlab checkpoint loaded by :func:`vsumlab.models.loading.load_summarizer`). Extra keyword
arguments for it (e.g. a text query) go through ``score_kwargs``. A scorer that reads the video
itself (clip-based models) may define ``score_video_file(path, picks, n_frames, fps)`` instead;
the encoder's features are then used for the shots only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from typing import Protocol as TypingProtocol

import numpy as np

from vsumlab.errors import ConfigError, VsumError
from vsumlab.io import check_writable, write_json_atomic
from vsumlab.protocol.keyshots import (
    knapsack_capacity,
    select_shots,
    shot_scores,
    upsample_to_frames,
)
from vsumlab.protocol.options import DEFAULT_BUDGET, DEFAULT_PROTOCOL, Protocol
from vsumlab.segmentation.fallback import split_long_shots
from vsumlab.video.encoders import FrameEncoder
from vsumlab.video.features import Sampling, VideoFeatures, extract_video_features, video_record
from vsumlab.video.render import write_contact_sheet, write_score_plot, write_summary_video

OUTPUT_NAMES = {
    "video": "summary.mp4",
    "keyframes": "keyframes.jpg",
    "plot": "scores.png",
    "json": "summary.json",
}


class Scorer(TypingProtocol):
    def score_video(self, features: np.ndarray) -> np.ndarray: ...


@dataclass
class SummaryResult:
    out_dir: Path
    paths: dict[str, Path]
    summary: dict[str, Any]
    #: what the user should know about how the summary was made (e.g. shots split)
    notes: list[str] = field(default_factory=list)


#: length of the segments a shot longer than the budget is cut into (at most the budget): short
#: enough that a 15% budget of a one-minute video (9 s) holds several, long enough to show an
#: action; KTS shots of the benchmark videos are mostly 2-5 s long
SEGMENT_SECONDS = 2.0


def fit_shots_to_budget(
    shots: np.ndarray, capacity: int, fps: float, ratio: float,
    segment_seconds: float = SEGMENT_SECONDS,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The shots the knapsack chooses from, and how they were made. KTS shots longer than the
    budget (``capacity`` frames) could never be chosen: they are split into equal segments of at
    most ``min(capacity, segment_seconds)``; a video of one shot falls back to fixed-length
    segments. The record's ``note`` says so (None when KTS's shots are used as found)."""
    shots = np.asarray(shots, dtype=np.int64).reshape(-1, 2)
    lengths = shots[:, 1] - shots[:, 0] + 1
    info: dict[str, Any] = {"method": "kts", "kts_shots": int(len(shots)),
                            "max_segment_frames": None, "note": None}
    if lengths.max() <= capacity:
        return shots, info
    if not segment_seconds > 0:
        raise ConfigError(f"segment length {segment_seconds} s must be > 0")
    limit = max(1, min(int(capacity), int(round(segment_seconds * fps))))
    fitted = split_long_shots(shots, limit)
    single = len(shots) == 1
    what = ("fell back to fixed-length segments" if single
            else f"split {fitted.n_split} of them into equal segments")
    info.update(
        method="fixed-length segments" if single else "kts, long shots split",
        max_segment_frames=limit,
        note=(f"KTS found {len(shots)} shot(s), {fitted.n_split} longer than the summary budget "
              f"({capacity} frames = {capacity / fps:.1f} s at ratio {ratio:g}); {what} of at "
              f"most {limit} frames ({limit / fps:.1f} s)"),
    )
    return fitted.change_points, info


def scorer_input_dim(scorer: Any) -> int | None:
    """The feature dimension a scorer expects, when it says (``input_dim`` or its hparams)."""
    value = getattr(scorer, "input_dim", None)
    if value is None:
        value = getattr(getattr(scorer, "hparams", None) or {}, "get", lambda _k: None)(
            "input_dim"
        )
    return None if value is None else int(value)


#: encoder assumed for a checkpoint that does not record one, by its input dimension
ENCODER_BY_DIM = {1024: "googlenet", 512: "ViT-B-16"}


def checkpoint_encoder(
    module: Any, model: str | None, weights: str | None, source: str | os.PathLike
) -> tuple[str, str | None]:
    """(encoder name, weights) for a checkpoint: the user's choice, else what the checkpoint
    recorded (hyperparameters ``feature_model``/``feature_weights``), else by input dimension."""
    hparams = getattr(module, "hparams", None) or {}
    if model is None:
        model = hparams.get("feature_model") or getattr(module, "feature_model", None)
        if model is not None and weights is None:
            weights = hparams.get("feature_weights") or None
    if model is None:
        dim = scorer_input_dim(module)
        model = ENCODER_BY_DIM.get(dim) if dim is not None else None
        if model is None:
            raise ConfigError(
                f"{source}: records no feature encoder and expects {dim}-d features; "
                "choose the encoder it was trained with via --model"
            )
    return str(model), weights


def check_feature_dim(scorer: Any, encoder: FrameEncoder, source: str = "the model") -> None:
    expected = scorer_input_dim(scorer)
    if expected is not None and expected != encoder.dim:
        raise ConfigError(
            f"{source} expects {expected}-d features (input_dim) but encoder {encoder.name} "
            f"gives {encoder.dim}-d; use the encoder it was trained with (--model/--weights), "
            "or a checkpoint trained on that encoder's features (colorhist: make video-demo)"
        )


def _step_scores(scorer: Any, video: VideoFeatures, score_kwargs: Mapping[str, Any]) -> np.ndarray:
    if hasattr(scorer, "score_video_file"):
        raw = scorer.score_video_file(video.path, video.picks, video.n_frames, video.fps)
    else:
        raw = scorer.score_video(video.features, **score_kwargs)
    scores = np.asarray(raw, dtype=np.float64).reshape(-1)
    n = len(video.picks)
    if scores.shape != (n,) or not np.all(np.isfinite(scores)):
        raise VsumError(
            f"{video.path}: the scorer returned {scores.shape[0]} scores "
            f"(finite: {bool(np.all(np.isfinite(scores)))}), expected {n} finite values, one per step"
        )
    return scores


def _keyframe(step_scores: np.ndarray, picks: np.ndarray, start: int, end: int) -> int:
    """The highest-scoring sampled frame of a shot (its middle frame when no step falls in it)."""
    inside = np.flatnonzero((picks >= start) & (picks <= end))
    if inside.size == 0:
        return (start + end) // 2
    return int(picks[inside[np.argmax(step_scores[inside])]])


def summarize_video(
    path: str | os.PathLike,
    scorer: Any,
    encoder: FrameEncoder,
    ratio: float = DEFAULT_BUDGET,
    out_dir: str | os.PathLike = "summary",
    force: bool = False,
    sampling: Sampling | None = None,
    batch_size: int = 32,
    protocol: Protocol = DEFAULT_PROTOCOL,
    kts_kwargs: Mapping[str, Any] | None = None,
    score_kwargs: Mapping[str, Any] | None = None,
    model_info: Mapping[str, Any] | None = None,
    progress: bool = False,
    segment_seconds: float = SEGMENT_SECONDS,
) -> SummaryResult:
    """Write summary.mp4, keyframes.jpg, scores.png and summary.json for one video.

    ``ratio`` is the knapsack budget (share of the video's frames); the other selection
    details follow ``protocol`` (the evaluation defaults). KTS shots longer than the budget are
    split (:func:`fit_shots_to_budget`, ``segment_seconds``), and the result's notes say so.
    """
    path, out_dir = Path(path), Path(out_dir)
    protocol = replace(protocol, budget=float(ratio)) if ratio != protocol.budget else protocol
    paths = {name: check_writable(out_dir / file, force) for name, file in OUTPUT_NAMES.items()}
    if not hasattr(scorer, "score_video_file"):
        check_feature_dim(scorer, encoder)
    video = extract_video_features(path, encoder, sampling, batch_size, progress)
    record = video_record(path.stem, video, **dict(kts_kwargs or {}))
    scores = _step_scores(scorer, video, score_kwargs or {})

    n_frames, fps = record.n_frames, record.fps
    capacity = knapsack_capacity(n_frames, record.change_points, protocol)
    if capacity < 1:  # the one case where the ratio itself is the problem
        raise VsumError(
            f"{path}: ratio {ratio} of {n_frames} frames allows no frame; raise --ratio"
        )
    shots, segmentation = fit_shots_to_budget(record.change_points, capacity, fps, ratio,
                                              segment_seconds)
    notes = [f"{path}: {segmentation['note']}"] if segmentation["note"] else []
    capacity = knapsack_capacity(n_frames, shots, protocol)
    frame_scores = upsample_to_frames(scores, record.picks, n_frames)
    per_shot = shot_scores(frame_scores, shots)
    lengths = shots[:, 1] - shots[:, 0] + 1
    chosen = [int(i) for i in select_shots(per_shot, lengths, capacity, protocol)]
    if not chosen:  # every shot fits the budget after fitting: a bug, not the user's ratio
        raise VsumError(f"{path}: no shot selected within {capacity} frames")
    keyframes = [_keyframe(scores, record.picks, *shots[i]) for i in chosen]

    segments = [(int(shots[i, 0]), int(shots[i, 1])) for i in chosen]
    captured = write_summary_video(path, paths["video"], segments, capture=keyframes)
    images = [captured[k] for k in keyframes if k in captured]
    labels = [f"{_clock(k / fps)}  (frame {k})" for k in keyframes if k in captured]
    write_contact_sheet(images, labels, paths["keyframes"])
    write_score_plot(frame_scores, fps, shots, chosen, paths["plot"], title=path.name)

    summary = _summary_json(
        path, video, record, shots, scores, per_shot, chosen, keyframes, ratio, capacity,
        protocol, model_info, encoder,
    )
    summary["segmentation"] = {k: v for k, v in segmentation.items() if k != "note"}
    summary["notes"] = [segmentation["note"]] if segmentation["note"] else []
    write_json_atomic(paths["json"], summary)
    return SummaryResult(out_dir=out_dir, paths=paths, summary=summary, notes=notes)


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60.0)
    return f"{int(minutes)}:{sec:05.2f}"


def _summary_json(
    path, video, record, shots, scores, per_shot, chosen, keyframes, ratio, capacity, protocol,
    model_info, encoder,
) -> dict[str, Any]:
    fps, n_frames = record.fps, record.n_frames
    selected_frames = int(sum(shots[i, 1] - shots[i, 0] + 1 for i in chosen))
    segments = []
    for i, key_frame in zip(chosen, keyframes):
        start, end = int(shots[i, 0]), int(shots[i, 1])
        segments.append(
            {
                "shot": i,
                "start_frame": start,
                "end_frame": end,
                "n_frames": end - start + 1,
                "start_s": round(start / fps, 4),
                "end_s": round((end + 1) / fps, 4),
                "score": round(float(per_shot[i]), 6),
                "keyframe": key_frame,
                "keyframe_s": round(key_frame / fps, 4),
            }
        )
    return {
        "video": str(path),
        "n_frames": n_frames,
        "fps": fps,
        "duration_s": round(n_frames / fps, 4),
        "width": video.info.width,
        "height": video.info.height,
        "has_audio": video.info.has_audio,
        "model": {**dict(model_info or {}), "encoder": encoder.describe()},
        "ratio": ratio,
        "budget_frames": capacity,
        "summary_frames": selected_frames,
        "summary_s": round(selected_frames / fps, 4),
        "summary_ratio": round(selected_frames / n_frames, 6),
        "segments": segments,
        "shots": [
            {
                "start_frame": int(s),
                "end_frame": int(e),
                "score": round(float(per_shot[i]), 6),
                "selected": i in chosen,
            }
            for i, (s, e) in enumerate(shots)
        ],
        "steps": {
            "picks": [int(p) for p in record.picks],
            "scores": [round(float(s), 6) for s in scores],
        },
        "protocol": protocol.to_dict(),
        "outputs": dict(OUTPUT_NAMES),
    }
